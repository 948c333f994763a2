//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	h.init()
	for i := range 100 {
		h.add(int64(time.Duration(i+1) * time.Millisecond)) // 1..100 ms
	}
	h.add(int64(3 * time.Second)) // overflow bucket
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0, time.Millisecond + bucketWidth/2},
		{0.5, 51*time.Millisecond + bucketWidth/2},
		{0.99, 100*time.Millisecond + bucketWidth/2},
		{1, 3 * time.Second},
	} {
		if got := h.quantile(tc.q); got != tc.want {
			t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := h.above(22 * time.Millisecond); got != 79 {
		t.Errorf("above(22ms) = %d, want 79", got)
	}
	var m histogram
	m.merge(&h)
	m.merge(&h)
	if m.n != 2*h.n || m.max != h.max || m.quantile(0.5) != h.quantile(0.5) {
		t.Errorf("merged: n %d max %d p50 %v; want n %d max %d p50 %v", m.n, m.max, m.quantile(0.5), 2*h.n, h.max, h.quantile(0.5))
	}
	var empty histogram
	empty.init()
	if empty.quantile(0.99) != 0 {
		t.Error("an empty histogram has a quantile")
	}
}

func TestSampleQuantile(t *testing.T) {
	s := sample{5, 1, 4, 2, 3}
	for q, want := range map[float64]time.Duration{0: 1, 0.2: 1, 0.5: 3, 0.99: 5, 1: 5} {
		if got := s.quantile(q); got != want {
			t.Errorf("quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if !slices.Equal(s, sample{5, 1, 4, 2, 3}) {
		t.Error("quantile sorted the sample in place")
	}
	if (sample{}).quantile(0.5) != 0 {
		t.Error("an empty sample has a quantile")
	}
}

func TestParseSDP(t *testing.T) {
	park := "v=0\r\no=switchboard-park 1 1 IN IP4 127.0.0.1\r\ns=Switchboard park\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 20000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendonly\r\nm=video 0 RTP/AVP 96\r\na=inactive\r\n"
	m, err := parseSDP([]byte(park))
	if err != nil {
		t.Fatal(err)
	}
	if m.addr != netip.MustParseAddrPort("127.0.0.1:20000") || m.dir != "sendonly" {
		t.Fatalf("got %+v, want 127.0.0.1:20000 sendonly", m)
	}
	if mayWeSend(m.dir) || !mayWeSend("sendrecv") || !mayWeSend("recvonly") || mayWeSend("inactive") {
		t.Error("mayWeSend is wrong")
	}
	if answerDirection("sendonly") != "recvonly" || answerDirection("recvonly") != "sendonly" || answerDirection("sendrecv") != "sendrecv" {
		t.Error("answerDirection is wrong")
	}

	ours, err := parseSDP(offerSDP("caller7", 30000, "sendrecv"))
	if err != nil || ours.addr.Port() != 30000 || ours.dir != "sendrecv" {
		t.Fatalf("our own offer: %+v, %v", ours, err)
	}
	rejected, err := parseSDP([]byte("v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 0 RTP/AVP 0\r\n"))
	if err != nil || rejected.dir != "inactive" {
		t.Fatalf("a rejected stream: %+v, %v", rejected, err)
	}
	for _, bad := range []string{"", "v=0\r\nm=audio 1 RTP/AVP 0\r\n", "v=0\r\nc=IN IP6 ::1\r\nm=audio 1 RTP/AVP 0\r\n"} {
		if _, err := parseSDP([]byte(bad)); err == nil {
			t.Errorf("parseSDP(%q) took it", bad)
		}
	}
}

func TestCSeqMethod(t *testing.T) {
	ok := "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060\r\nCSeq: 12 INVITE\r\nContent-Length: 0\r\n\r\n"
	if got := cseqMethod([]byte(ok)); got != "INVITE" {
		t.Fatalf("cseqMethod = %q, want INVITE", got)
	}
	if got := cseqMethod([]byte("SIP/2.0 200 OK\r\ncseq: 3 BYE\r\n\r\n")); got != "BYE" {
		t.Fatalf("cseqMethod = %q, want BYE", got)
	}
	if got := cseqMethod([]byte("SIP/2.0 200 OK\r\n\r\n")); got != "" {
		t.Fatalf("cseqMethod = %q, want nothing", got)
	}
}

func TestCPUList(t *testing.T) {
	got, err := cpuList("0,2-4")
	if err != nil || !slices.Equal(got, []int{0, 2, 3, 4}) {
		t.Fatalf("cpuList = %v, %v", got, err)
	}
	for _, bad := range []string{"", "a", "3-1", "-1"} {
		if _, err := cpuList(bad); err == nil {
			t.Errorf("cpuList(%q) took it", bad)
		}
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-n", "10, 20", "-send=false", "-window", "2s"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.levels, []int{10, 20}) || c.send || c.window != 2*time.Second || c.rate != 200 || c.retrieve != 100 {
		t.Fatalf("config %+v", c)
	}
	for _, bad := range [][]string{{"-n", "0"}, {"-n", "x"}, {"-rate", "0"}, {"-window", "10ms"}, {"-pid", "1"}, {"extra"}} {
		if _, err := parseFlags(bad, os.Stderr); err == nil {
			t.Errorf("parseFlags(%v) took it", bad)
		}
	}
}

// TestSmallLevel runs one small level against the real parkd: every
// caller is parked and hears music, the sample is retrieved with audio
// both ways, and everything is hung up. It checks that the command works,
// not how fast: timing figures belong in docs/BENCHMARKS.md.
func TestSmallLevel(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs parkd")
	}
	binary, err := buildParkd(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parseFlags([]string{"-n", "8", "-settle", "500ms", "-window", "1s", "-retrieve", "3", "-rate", "50"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	r, err := runLevel(cfg, binary, 8, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r.details())
	if r.parked != 8 || len(r.parkFail) != 0 {
		t.Errorf("parked %d, failures %v; want 8 and none", r.parked, r.parkFail)
	}
	if r.noMusic != 0 || r.inWindow == 0 || r.spacing.n == 0 {
		t.Errorf("%d callers without music, %d packets in the window", r.noMusic, r.inWindow)
	}
	if r.retrieved != 3 || r.noAudio != 0 || len(r.retrieveAudio) != 3 {
		t.Errorf("retrieved %d (failures %v), %d without audio", r.retrieved, r.retrieveFail, r.noAudio)
	}
	if len(r.hangupFail) != 0 || r.logProblems != 0 {
		t.Errorf("BYE failures %v, %d WARN/ERROR lines in parkd's log", r.hangupFail, r.logProblems)
	}
	if r.svcCPU < 0 || r.rssKB <= 0 {
		t.Errorf("no CPU or memory reading of parkd: %v %%, %d kB", r.svcCPU, r.rssKB)
	}
	if row := r.row(); !strings.HasPrefix(row, "| 8 | ") {
		t.Errorf("row %q", row)
	}
}

func TestParseFloodFlags(t *testing.T) {
	c, err := parseFlags([]string{"-flood", "missing, unacked", "-flood-rate", "100", "-flood-for", "2s", "-flood-sources", "3"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.flood, []floodKind{floodMissing, floodUnacked}) || c.floodRate != 100 || c.floodFor != 2*time.Second ||
		c.floodSources != 3 || c.legitRate != 5 || c.orbits != "" {
		t.Fatalf("config %+v", c)
	}
	if c, err := parseFlags([]string{"-flood", "garbage", "-orbits", "100-199"}, os.Stderr); err != nil || c.orbits != "100-199" {
		t.Fatalf("an explicit -orbits: %q, %v", c.orbits, err)
	}
	if c, err := parseFlags(nil, os.Stderr); err != nil || c.flood != nil || c.orbits != "1000-3999" {
		t.Fatalf("without -flood: %v %q, %v", c.flood, c.orbits, err)
	}
	for _, bad := range [][]string{
		{"-flood", "nonsense"}, {"-flood", "missing,missing"}, {"-flood", "missing,"}, {"-flood", "missing", "-flood-rate", "0"},
		{"-flood", "missing", "-flood-for", "0s"}, {"-flood", "missing", "-flood-rate", "1e9", "-flood-for", "1h"},
		{"-flood", "missing", "-flood-sources", "0"}, {"-flood", "missing", "-flood-sources", "251"},
		{"-flood", "missing", "-target", "127.0.0.1:5060"}, {"-flood", "missing", "-legit-rate", "0"},
		{"-flood", "missing", "-flood-baseline", "10ms"}, {"-flood", "missing", "-calibrate"},
	} {
		if _, err := parseFlags(bad, os.Stderr); err == nil {
			t.Errorf("parseFlags(%v) took it", bad)
		}
	}
}

func TestDatagramStamp(t *testing.T) {
	d := newDatagram("a=" + counterMark + ";b=" + counterMark + ";c=@@@")
	if len(d.at) != 2 {
		t.Fatalf("found %d counter fields, want 2", len(d.at))
	}
	d.stamp(42)
	if got := string(d.buf); got != "a=0000000042;b=0000000042;c=@@@" {
		t.Fatalf("stamped %q", got)
	}
	d.stamp(12345678901) // wider than the field: its low digits
	if got := string(d.buf); got != "a=2345678901;b=2345678901;c=@@@" {
		t.Fatalf("stamped %q", got)
	}
}

// TestFloodDatagrams checks that the INVITEs of each flood are valid SIP
// with the Content-Length of their body, aimed where they should be, and
// that each stamp makes a new Call-ID, From tag and branch.
func TestFloodDatagrams(t *testing.T) {
	src, dst, media := netip.MustParseAddrPort("127.0.0.2:40000"), netip.MustParseAddrPort("127.0.0.1:5060"), netip.MustParseAddrPort("127.0.0.2:40002")
	for kind, user := range map[floodKind]string{floodMissing: missingOrbitURI, floodDisallowed: "park", floodUnacked: "park"} {
		grams := floodDatagrams(kind, src, dst, media)
		if len(grams) != 1 {
			t.Fatalf("%s: %d datagrams", kind, len(grams))
		}
		g := grams[0]
		seen := map[string]bool{}
		for _, n := range []uint64{0, 1, 9999} {
			g.stamp(n)
			msg, err := sip.ParseMessage(slices.Clone(g.buf))
			if err != nil {
				t.Fatalf("%s: %v\n%s", kind, err, g.buf)
			}
			req, ok := msg.(*sip.Request)
			if !ok || req.Method != sip.INVITE || req.Recipient.User != user || req.Recipient.Port != 5060 {
				t.Fatalf("%s: not an INVITE to %s@%s: %s", kind, user, dst, msg.String())
			}
			if req.ContentLength() == nil || int(*req.ContentLength()) != len(req.Body()) || len(req.Body()) == 0 {
				t.Fatalf("%s: Content-Length %v, body %d bytes", kind, req.ContentLength(), len(req.Body()))
			}
			m, err := parseSDP(req.Body())
			if err != nil || m.addr != media {
				t.Fatalf("%s: SDP names %v (%v), want %v", kind, m.addr, err, media)
			}
			via := req.Via()
			key := req.CallID().Value() + " " + req.From().Params.GetOr("tag", "") + " " + via.Params.GetOr("branch", "")
			if seen[key] || via.Host != "127.0.0.2" || via.Port != 40000 {
				t.Fatalf("%s: stamp %d: %s, Via %s", kind, n, key, via.Value())
			}
			seen[key] = true
			if r, ok := parseReply(g.buf); !ok || r.method != "INVITE" || r.index != int(n) || r.cseq != "INVITE" {
				t.Fatalf("%s: parseReply of our own INVITE: %+v %v", kind, r, ok)
			}
		}
	}
	if n := len(floodDatagrams(floodGarbage, src, dst, media)); n < 5 {
		t.Fatalf("%d garbage datagrams", n)
	}
}

func TestParseReplyAndTally(t *testing.T) {
	res := "SIP/2.0 503 Service Unavailable\r\nVia: SIP/2.0/UDP 127.0.0.2:1;branch=z9hG4bKfl0000000007\r\n" +
		"Call-ID: flood-0000000007@127.0.0.2\r\nCSeq: 1 INVITE\r\nX-Park-Reason: pending-limit\r\nContent-Length: 0\r\n\r\n"
	r, ok := parseReply([]byte(res))
	if !ok || r.status != 503 || r.index != 7 || r.reason != "pending-limit" || r.cseq != "INVITE" {
		t.Fatalf("parseReply = %+v, %v", r, ok)
	}
	bye := "BYE sip:flood@127.0.0.2:1 SIP/2.0\r\ni: flood-0000000003@127.0.0.2\r\nCSeq: 2 BYE\r\n\r\n"
	if r, ok := parseReply([]byte(bye)); !ok || r.method != "BYE" || r.index != 3 {
		t.Fatalf("parseReply(BYE) = %+v, %v", r, ok)
	}
	for _, bad := range []string{"", "garbage", "SIP/2.0 abc Nope\r\n\r\n", "SIP/2.0 99 Low\r\n\r\n"} {
		if _, ok := parseReply([]byte(bad)); ok {
			t.Errorf("parseReply(%q) took it", bad)
		}
	}

	tally := newFloodTally(10)
	trying := strings.Replace(res, "503 Service Unavailable", "100 Trying", 1)
	for _, p := range []string{trying, res, res, bye, bye, "junk", strings.Replace(res, "0000000007", "0000000099", 1)} {
		tally.add([]byte(p))
	}
	if tally.answered() != 1 || tally.finals["503"] != 1 || tally.reasons["pending-limit"] != 1 {
		t.Errorf("finals %v reasons %v: a retransmitted 503 counts once", tally.finals, tally.reasons)
	}
	if tally.responses["503"] != 3 || tally.responses["100"] != 1 || tally.requests["BYE"] != 2 || tally.other != 1 {
		t.Errorf("responses %v requests %v other %d", tally.responses, tally.requests, tally.other)
	}
}

// TestSmallFlood runs two short, slow floods against the real parkd and
// checks what they must show whatever the machine: every INVITE to a
// missing orbit is answered 404, an unACKed park never gets music, the
// legitimate caller parks, and parkd is alive at the end. Timing figures
// belong in docs/BENCHMARKS.md.
func TestSmallFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs parkd")
	}
	binary, err := buildParkd(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parseFlags([]string{"-flood", "missing,unacked", "-flood-rate", "100", "-flood-for", "500ms",
		"-flood-baseline", "1s", "-flood-settle", "1s", "-legit-rate", "4"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range cfg.flood {
		r, err := runFloodKind(cfg, binary, kind, nil)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		t.Logf("%s\n%s", r.floodRow(), r.legitRow())
		if r.sent != 50 || !r.alive || r.crashed != "" {
			t.Errorf("%s: sent %d, alive %v, crashed %q", kind, r.sent, r.alive, r.crashed)
		}
		parked := r.legit[0].parked + r.legit[1].parked + r.legit[2].parked
		if parked == 0 || r.rssAfter <= 0 || r.cpu[1] < 0 {
			t.Errorf("%s: the legitimate caller parked %d; RSS %d kB, CPU %v", kind, parked, r.rssAfter, r.cpu[1])
		}
		switch kind {
		case floodMissing:
			if r.tally.finals["404"] != r.sent || r.tally.reasons["no-such-orbit"] != r.sent {
				t.Errorf("missing: finals %v, reasons %v; want %d×404 no-such-orbit", r.tally.finals, r.tally.reasons, r.sent)
			}
		case floodUnacked:
			if r.tally.finals["200"] == 0 || r.trapped != 0 {
				t.Errorf("unacked: finals %v; %d datagrams sent to the unACKed calls' media address, want none", r.tally.finals, r.trapped)
			}
		}
	}
}

func TestRefusalOf(t *testing.T) {
	res := sip.NewResponse(sip.StatusServiceUnavailable, "Service Unavailable")
	res.AppendHeader(sip.NewHeader("X-Park-Reason", "pending-limit"))
	if got := refusalOf(&sipgo.ErrDialogResponse{Res: res}); got != "503 pending-limit" {
		t.Errorf("refusalOf = %q, want 503 pending-limit", got)
	}
	plain := sip.NewResponse(sip.StatusBusyHere, "Busy Here")
	if got := refusalOf(fmt.Errorf("INVITE: %w", &sipgo.ErrDialogResponse{Res: plain})); got != "486" {
		t.Errorf("refusalOf = %q, want 486", got)
	}
	if got := refusalOf(context.DeadlineExceeded); got != "timeout" {
		t.Errorf("refusalOf = %q, want timeout", got)
	}
}

// TestBacklogReadsTheReceiveQueue: backlog reports what a real socket's
// unread datagrams hold and how many it dropped once full, and
// backlogged turns true only when the queue is at least half full (the
// generator's own overload, told apart from a service that sent nothing).
func TestBacklogReadsTheReceiveQueue(t *testing.T) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	s := &rtpSock{fd: fd}
	q, size, drops, err := s.backlog()
	if err != nil || q != 0 || size == 0 || drops != 0 || s.backlogged() {
		t.Fatalf("empty socket: queued %d of %d, %d drops, err %v, backlogged %v", q, size, drops, err, s.backlogged())
	}
	out, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	pkt := make([]byte, rtpHeaderLen+frameSamples)
	// waitFor polls the kernel's counts until cond holds (loopback
	// delivery is usually done before the write returns, not always).
	waitFor := func(what string, cond func(q, size, drops uint32) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			q, size, drops, err := s.backlog()
			if err != nil {
				t.Fatal(err)
			}
			if cond(q, size, drops) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: queued %d of %d, %d drops", what, q, size, drops)
			}
		}
	}
	if _, err := out.Write(pkt); err != nil {
		t.Fatal(err)
	}
	waitFor("one datagram", func(q, size, drops uint32) bool { return q > 0 && drops == 0 })
	if s.backlogged() {
		q, size, _, _ := s.backlog()
		t.Fatalf("one datagram (%d bytes of %d) reads as backlogged", q, size)
	}
	for range 200 {
		if _, err := out.Write(pkt); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("200 more", func(q, size, drops uint32) bool { return drops > 0 && 2*q >= size })
	if !s.backlogged() {
		t.Fatal("a full queue does not read as backlogged")
	}
}

// TestStartAtSpreadsStartsOverTheirSlots: pace's i-th start falls in
// the i-th slot of 1/rate seconds, at the slot's point u, so starts keep
// their order and their mean rate but not one phase of the music tick.
func TestStartAtSpreadsStartsOverTheirSlots(t *testing.T) {
	const rate = 50.0
	slot := time.Duration(float64(time.Second) / rate)
	for i := range 100 {
		for _, u := range []float64{0, 0.25, 0.999} {
			got := startAt(i, rate, u)
			lo := time.Duration(i) * slot
			if got < lo || got >= lo+slot {
				t.Fatalf("startAt(%d, %v, %v) = %v, want in [%v, %v)", i, rate, u, got, lo, lo+slot)
			}
		}
		if a, b := startAt(i, rate, 0.25), startAt(i, rate, 0.75); b-a != slot/2 {
			t.Fatalf("slot %d: points 0.25 and 0.75 are %v apart, want %v", i, b-a, slot/2)
		}
	}
}
