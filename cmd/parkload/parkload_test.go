//go:build linux

package main

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
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
