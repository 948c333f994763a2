package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
)

// BenchmarkParkdRestart measures what a crash costs the calls parkd
// holds: PARKD_BENCH_PARKED callers parked (1,000 by default) and
// PARKD_BENCH_BRIDGED retrieved calls bridged through it (50), then
// kill -9 and a new parkd on the same store and addresses. It reports
// the time from the new parkd's exec to the first and to the last parked
// caller hearing music again, the bridged calls' audio gap (the longest
// silence each side of each bridge heard across the crash, which includes
// the kill and the new process's start), and the store's cost: parks per
// second with the store and with -state-dir none (INVITE → 200 → ACK,
// 8 at a time from 4 addresses, fsync of every park included). One iteration whatever
// b.N: run it with -benchtime 1x.
//
//	go test -run '^$' -bench BenchmarkParkdRestart -benchtime 1x ./cmd/parkd
//
// The phones are lean: one sipgo user agent carries every dialog, and
// each phone is a UDP socket that counts what it receives and, once
// bridged, sends a 20 ms packet every 20 ms.
func BenchmarkParkdRestart(b *testing.B) {
	parked, bridged := envInt(b, "PARKD_BENCH_PARKED", 1000), envInt(b, "PARKD_BENCH_BRIDGED", 50)
	lot := fmt.Sprintf("1000-%d", 1000+parked+bridged+20)
	for range b.N {
		withStore := parkRate(b, parked, lot, "")
		without := parkRate(b, parked, lot, stateDirOff)

		dir := b.TempDir()
		args := []string{"-state-dir", dir, "-listen", "127.0.0.1:" + strconv.Itoa(siptest.FreePort(b)),
			"-rtp-port", strconv.Itoa(freeRTPPort(b)), "-orbits", lot, "-park-time", "1h"}
		first := startParkd(b, args...)
		addr := first.line(b, `^parkd: listening on (127\.0\.0\.1:\d+) `)[1]
		uas := benchUAs(b)
		ua := uas[0]
		callers := make([]*benchPhone, parked)
		parkAll(b, uas, addr, callers)
		// The bridges: a park, then a retrieve of its orbit.
		pairs := make([][2]*benchPhone, bridged)
		for i := range pairs {
			c, err := ua.newPhone()
			if err != nil {
				b.Fatal(err)
			}
			orbit, parkd, err := ua.invite(c, "sip:park@"+addr)
			if err != nil {
				b.Fatal(err)
			}
			// It sends from the start, as a phone that ignores the
			// park's sendonly does (parkd drops it until the bridge).
			c.sendTo(parkd)
			r, err := ua.newPhone()
			if err != nil {
				b.Fatal(err)
			}
			_, ans, err := ua.invite(r, fmt.Sprintf("sip:%d@%s", orbit, addr))
			if err != nil {
				b.Fatal(err)
			}
			r.sendTo(ans)
			c.name, r.name = fmt.Sprintf("bridge %d caller (orbit %d)", i, orbit), fmt.Sprintf("bridge %d retriever", i)
			pairs[i] = [2]*benchPhone{c, r}
		}
		all := slices.Clone(callers)
		for _, p := range pairs {
			all = append(all, p[0], p[1])
		}
		waitAll(b, "every phone hearing parkd", all, func(p *benchPhone) bool { return p.packets.Load() > 10 })

		for _, p := range pairs {
			p[0].watchGap()
			p[1].watchGap()
		}
		if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			b.Fatal(err)
		}
		first.wait(b)
		start := time.Now()
		for _, p := range all {
			p.after.Store(start.UnixNano())
		}
		second := startParkd(b, args...)
		second.line(b, fmt.Sprintf(`^parkd: listening on .*, restored %d parked calls and %d bridged calls$`, parked, bridged))
		listening := time.Since(start)
		waitAll(b, "every parked caller hearing music again", callers, func(p *benchPhone) bool { return p.firstAfter.Load() != 0 })
		var sides []*benchPhone
		for _, p := range pairs {
			sides = append(sides, p[0], p[1])
		}
		waitAll(b, "every bridged side hearing the other again", sides, func(p *benchPhone) bool { return p.firstAfter.Load() != 0 })

		var music []time.Duration
		for _, p := range callers {
			music = append(music, time.Duration(p.firstAfter.Load()-start.UnixNano()))
		}
		slices.Sort(music)
		var gaps []time.Duration
		for _, p := range sides {
			gaps = append(gaps, time.Duration(p.maxGap.Load()))
		}
		slices.Sort(gaps)
		b.ReportMetric(float64(music[0].Milliseconds()), "ms-first-music")
		b.ReportMetric(float64(music[len(music)-1].Milliseconds()), "ms-last-music")
		b.ReportMetric(float64(gaps[len(gaps)/2].Milliseconds()), "ms-bridge-gap-p50")
		b.ReportMetric(float64(gaps[len(gaps)-1].Milliseconds()), "ms-bridge-gap-max")
		b.ReportMetric(withStore, "parks/s-store")
		b.ReportMetric(without, "parks/s-nostore")
		b.Logf("| %d parked + %d bridged | %v | %v | %v | %v / %v | %.0f | %.0f |", parked, bridged,
			listening.Round(time.Millisecond), music[0].Round(time.Millisecond), music[len(music)-1].Round(time.Millisecond),
			gaps[len(gaps)/2].Round(time.Millisecond), gaps[len(gaps)-1].Round(time.Millisecond), withStore, without)
	}
}

// parkRate parks n callers on a fresh parkd (its store in a new directory,
// or none with stateDir "none"), 8 at a time, and returns parks per
// second from the first INVITE to the last ACK.
func parkRate(b *testing.B, n int, lot, stateDir string) float64 {
	if stateDir == "" {
		stateDir = b.TempDir()
	}
	p := startParkd(b, "-state-dir", stateDir, "-listen", "127.0.0.1:0", "-orbits", lot, "-park-time", "1h")
	addr := p.line(b, `^parkd: listening on (127\.0\.0\.1:\d+) `)[1]
	uas := benchUAs(b)
	phones := make([]*benchPhone, n)
	start := time.Now()
	parkAll(b, uas, addr, phones)
	took := time.Since(start)
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(b)
	return float64(n) / took.Seconds()
}

func envInt(b *testing.B, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("%s=%q: want a count", name, v)
		}
		return n
	}
	return def
}

// waitAll polls until ok holds for every phone (a 60 s safety net).
func waitAll(b testing.TB, what string, phones []*benchPhone, ok func(*benchPhone) bool) {
	b.Helper()
	deadline := time.Now().Add(hung)
	for {
		n := 0
		var missing []string
		for i, p := range phones {
			if ok(p) {
				n++
			} else if len(missing) < 5 {
				missing = append(missing, fmt.Sprintf("#%d %s (port %d, %d packets, sending to %v)", i, p.name, p.port, p.packets.Load(), p.dest.Load()))
			}
		}
		if n == len(phones) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("never: %s (%d of %d; not %s)", what, n, len(phones), strings.Join(missing, ", "))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// benchPhone is one phone's media: a UDP socket on 127.0.0.1.
type benchPhone struct {
	name string
	conn *net.UDPConn
	port int
	dest atomic.Pointer[netip.AddrPort] // where it sends once bridged; nil: it sends nothing

	packets    atomic.Int64
	last       atomic.Int64 // arrival of the last packet, ns
	gapOn      atomic.Bool  // maxGap is being measured
	maxGap     atomic.Int64 // the longest silence since watchGap, ns
	after      atomic.Int64 // from this time on, the first packet of a new stream is firstAfter
	firstAfter atomic.Int64 // the first packet the restarted parkd sent, ns

	lastSeq uint16 // of the last packet; touched by read only
	haveSeq bool
}

// restartJump is the least sequence jump taken for a restarted sender:
// more than a few packets lost on loopback, and far less than the
// jump of even the fastest restart (10 packets in 200 ms).
const restartJump = 5

func (p *benchPhone) watchGap() { p.maxGap.Store(0); p.gapOn.Store(true) }

func (p *benchPhone) sendTo(a netip.AddrPort) { p.dest.Store(&a) }

// read counts what the phone receives. A packet of the restarted parkd
// is told from one of the killed parkd's still queued by its sequence
// number: the restored sender goes on from beyond where the old one can
// have got (one packet per 20 ms since its position was stored), a jump
// forward of about the downtime, while the old stream goes up by one. A
// phone's very first packet starts a new stream too.
func (p *benchPhone) read() {
	buf := make([]byte, 1500)
	for {
		n, err := p.conn.Read(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		now := time.Now().UnixNano()
		seq := binary.BigEndian.Uint16(buf[2:])
		jumped := !p.haveSeq || int16(seq-p.lastSeq) > restartJump
		p.lastSeq, p.haveSeq = seq, true
		if prev := p.last.Swap(now); prev != 0 && p.gapOn.Load() && now-prev > p.maxGap.Load() {
			p.maxGap.Store(now - prev)
		}
		p.packets.Add(1)
		if a := p.after.Load(); a != 0 && now >= a && jumped && p.firstAfter.Load() == 0 {
			p.firstAfter.Store(now)
		}
	}
}

// benchUA is the one SIP user agent of every phone of the benchmark.
type benchUA struct {
	dua    *sipgo.DialogUA
	port   int
	mu     sync.Mutex
	phones map[string]*benchPhone // by Call-ID, for the service's re-INVITEs
	send   []*benchPhone
}

func newBenchUA(b testing.TB, host string) *benchUA {
	quiet := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("bench"), sipgo.WithUserAgentHostname(host))
	if err != nil {
		b.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	pc, err := net.ListenPacket("udp4", host+":0")
	if err != nil {
		b.Fatal(err)
	}
	u := &benchUA{port: pc.LocalAddr().(*net.UDPAddr).Port, phones: make(map[string]*benchPhone)}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname(host),
		sipgo.WithClientConnectionAddr(pc.LocalAddr().String()), sipgo.WithClientLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	u.dua = &sipgo.DialogUA{Client: cli, ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "bench", Host: host, Port: u.port}}}
	ok := func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	}
	srv.OnOptions(ok)
	srv.OnBye(ok)
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	srv.OnInvite(u.onReinvite)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeUDP(pc)
	}()
	// The client sends from the listening socket only once sipgo serves it.
	siptest.WaitListening(b, ua, pc.LocalAddr().String())
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() { defer close(sent); u.sendLoop(stop) }()
	b.Cleanup(func() {
		close(stop)
		<-sent
		ua.Close()
		pc.Close()
		<-done
		u.mu.Lock()
		defer u.mu.Unlock()
		for _, p := range u.phones {
			p.conn.Close()
		}
	})
	return u
}

// onReinvite answers the service's re-INVITE (the retrieve takes a
// caller off hold) with the phone's port, and the phone sends to the
// offer's address from then on when it may.
func (u *benchUA) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	u.mu.Lock()
	p := u.phones[req.CallID().Value()]
	u.mu.Unlock()
	if p == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	if a, dir, ok := sdpAddr(req.Body()); ok && (dir == "sendrecv" || dir == "recvonly") {
		p.sendTo(a)
	}
	res := sip.NewSDPResponseFromRequest(req, benchSDP(p.port))
	res.AppendHeader(&u.dua.ContactHDR)
	_ = tx.Respond(res)
}

func (u *benchUA) newPhone() (*benchPhone, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	p := &benchPhone{conn: conn, port: conn.LocalAddr().(*net.UDPAddr).Port}
	go p.read()
	u.mu.Lock()
	u.send = append(u.send, p)
	u.mu.Unlock()
	return p, nil
}

// parkAll parks a new phone into each slot of phones from uas,
// parkWorkers at a time from each.
func parkAll(b *testing.B, uas []*benchUA, addr string, phones []*benchPhone) {
	workers := parkWorkers * len(uas)
	var wg sync.WaitGroup
	var next atomic.Int64
	errs := make([]error, workers)
	for w := range workers {
		u := uas[w%len(uas)]
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(phones); i = int(next.Add(1) - 1) {
				p, err := u.newPhone()
				for try := 0; err == nil; try++ {
					_, _, err = u.invite(p, "sip:park@"+addr)
					// 503 pending-limit: this worker's last ACK was
					// not in yet (a loaded machine); park again.
					if siptest.Status(err) != sip.StatusServiceUnavailable || try == 20 {
						break
					}
					time.Sleep(10 * time.Millisecond)
					err = nil
				}
				if err != nil {
					errs[w] = err
					return
				}
				p.name = "parked caller"
				phones[i] = p
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatalf("park: %v", err)
		}
	}
}

// invite INVITEs uri for phone p, ACKs the 200 and returns the orbit
// (X-Park-Orbit) and the media address of the answer.
func (u *benchUA) invite(p *benchPhone, uri string) (int, netip.AddrPort, error) {
	ctx, cancel := context.WithTimeout(context.Background(), hung)
	defer cancel()
	return u.inviteCtx(ctx, p, uri)
}

// inviteCtx is invite until ctx ends.
func (u *benchUA) inviteCtx(ctx context.Context, p *benchPhone, uri string) (int, netip.AddrPort, error) {
	var target sip.Uri
	if err := sip.ParseUri(uri, &target); err != nil {
		return 0, netip.AddrPort{}, err
	}
	req := sip.NewRequest(sip.INVITE, target)
	req.SetBody(benchSDP(p.port))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	d, err := u.dua.WriteInvite(ctx, req)
	if err != nil {
		return 0, netip.AddrPort{}, fmt.Errorf("INVITE %s: %w", uri, err)
	}
	u.mu.Lock()
	u.phones[d.InviteRequest.CallID().Value()] = p
	u.mu.Unlock()
	if err := d.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		return 0, netip.AddrPort{}, fmt.Errorf("INVITE %s: %w", uri, err)
	}
	if err := d.Ack(ctx); err != nil {
		return 0, netip.AddrPort{}, fmt.Errorf("ACK %s: %w", uri, err)
	}
	orbit := 0
	if h := d.InviteResponse.GetHeader("X-Park-Orbit"); h != nil {
		orbit, _ = strconv.Atoi(h.Value())
	}
	a, _, _ := sdpAddr(d.InviteResponse.Body())
	return orbit, a, nil
}

// sendLoop sends one 20 ms PCMU packet every 20 ms from each phone that
// has somewhere to send, until stop.
func (u *benchUA) sendLoop(stop <-chan struct{}) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pkt := make([]byte, 12+160)
	for i := range pkt[12:] {
		pkt[12+i] = 0xff
	}
	var seq uint16
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		seq++
		pkt[0], pkt[1] = 0x80, 0
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
		u.mu.Lock()
		send := slices.Clone(u.send)
		u.mu.Unlock()
		for i, p := range send {
			if d := p.dest.Load(); d != nil {
				binary.BigEndian.PutUint32(pkt[8:], uint32(i+1))
				_, _ = p.conn.WriteToUDPAddrPort(pkt, *d)
			}
		}
	}
}

func benchSDP(port int) []byte {
	return fmt.Appendf(nil, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n", port)
}

// sdpAddr reads the audio address and direction of an SDP.
func sdpAddr(body []byte) (netip.AddrPort, string, bool) {
	var host string
	var port int
	dir := "sendrecv"
	for line := range strings.SplitSeq(string(body), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "c=IN IP4 "):
			host = strings.TrimPrefix(line, "c=IN IP4 ")
		case strings.HasPrefix(line, "m=audio "):
			port, _ = strconv.Atoi(strings.Fields(line)[1])
		case line == "a=sendonly", line == "a=recvonly", line == "a=inactive", line == "a=sendrecv":
			dir = strings.TrimPrefix(line, "a=")
		}
	}
	a, err := netip.ParseAddr(host)
	if err != nil || port == 0 {
		return netip.AddrPort{}, dir, false
	}
	return netip.AddrPortFrom(a, uint16(port)), dir, true
}

// The benchmark parks from benchSources user agents, each on its own
// loopback address, parkWorkers at a time each: parkd lets one source
// address have at most 4 parks unconfirmed, and a worker's next INVITE
// can overtake its last ACK.
const (
	benchSources = 4
	parkWorkers  = 2
)

// benchUAs starts benchSources user agents on 127.0.0.2 and up.
func benchUAs(b testing.TB) []*benchUA {
	uas := make([]*benchUA, benchSources)
	for i := range uas {
		uas[i] = newBenchUA(b, fmt.Sprintf("127.0.0.%d", i+2))
	}
	return uas
}
