//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// floodKind is one kind of flood of -flood.
type floodKind string

// The floods: INVITEs to an orbit outside the lot, INVITEs from a source
// outside parkd's -allow, park INVITEs whose 200 is never ACKed, and
// malformed datagrams.
const (
	floodMissing    floodKind = "missing"
	floodDisallowed floodKind = "disallowed"
	floodUnacked    floodKind = "unacked"
	floodGarbage    floodKind = "garbage"
)

var floodKinds = []floodKind{floodMissing, floodDisallowed, floodUnacked, floodGarbage}

// parseFloodKinds reads the comma-separated list of -flood.
func parseFloodKinds(s string) ([]floodKind, error) {
	var out []floodKind
	for _, f := range strings.Split(s, ",") {
		k := floodKind(strings.TrimSpace(f))
		if !slices.Contains(floodKinds, k) {
			return nil, fmt.Errorf("-flood %s: %q is not one of missing, disallowed, unacked, garbage", s, f)
		}
		if slices.Contains(out, k) {
			return nil, fmt.Errorf("-flood %s: %q twice", s, f)
		}
		out = append(out, k)
	}
	return out, nil
}

// The flood's own address plan: the legitimate caller is 127.0.0.1, the
// flood comes from 127.0.0.2 and up (-flood-sources of them), and a
// -flood disallowed run starts parkd with -allow 127.0.0.1/32.
const (
	floodFirstHost  = 2
	maxFloodSources = 250 // 127.0.0.2 .. 127.0.0.251
	allowLegitOnly  = "127.0.0.1/32"
	missingOrbitURI = "park-99999" // outside any lot parkload gives
	counterWidth    = 10           // digits of the per-datagram counter
	counterMark     = "@@@@@@@@@@" // where a template takes the counter
	maxFloodTotal   = 1 << 22      // datagrams of one flood, at most
)

// floodHost is the i-th source address of the flood (0-based).
func floodHost(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 0, 0, byte(floodFirstHost + i)})
}

// datagram is a pre-built message whose counter fields (Call-ID, tags,
// branch) are rewritten in place before each send, so the flood costs a
// few byte writes per datagram.
type datagram struct {
	buf []byte
	at  []int // offsets of the counterWidth-digit counter
}

// newDatagram builds a datagram from text, in which every counterMark is
// a counter field.
func newDatagram(text string) *datagram {
	d := &datagram{buf: []byte(text)}
	for i := 0; ; {
		j := bytes.Index(d.buf[i:], []byte(counterMark))
		if j < 0 {
			break
		}
		d.at = append(d.at, i+j)
		i += j + counterWidth
	}
	return d
}

// stamp writes n (mod 10^counterWidth), zero-padded, into every counter
// field.
func (d *datagram) stamp(n uint64) {
	for _, off := range d.at {
		v := n
		for i := counterWidth - 1; i >= 0; i-- {
			d.buf[off+i] = byte('0' + v%10)
			v /= 10
		}
	}
}

// sipText joins a start line, header lines and a body with CRLF and adds
// a Content-Length unless a header gives one already.
func sipText(start string, headers []string, body string) string {
	var b strings.Builder
	b.WriteString(start + "\r\n")
	hasLen := false
	for _, h := range headers {
		if strings.HasPrefix(strings.ToLower(h), "content-length:") {
			hasLen = true
		}
		b.WriteString(h + "\r\n")
	}
	if !hasLen {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n" + body)
	return b.String()
}

// floodDatagrams are the datagrams one flood socket (src) sends to the
// service (dst), used in turn. media is the address the INVITEs' SDP
// names (the trap that counts any music sent to it).
func floodDatagrams(kind floodKind, src, dst, media netip.AddrPort) []*datagram {
	sdp := fmt.Sprintf("v=0\r\no=flood 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n", media.Addr(), media.Addr(), media.Port())
	invite := func(user, uriParams string, skip string, extra ...string) string {
		ruri := fmt.Sprintf("sip:%s@%s%s", user, dst, uriParams)
		hs := []string{
			"Via: SIP/2.0/UDP " + src.String() + ";branch=z9hG4bKfl" + counterMark + ";rport",
			"Max-Forwards: 70",
			"From: <sip:flood@" + src.Addr().String() + ">;tag=fl" + counterMark,
			"To: <" + ruri + ">",
			"Call-ID: flood-" + counterMark + "@" + src.Addr().String(),
			"CSeq: 1 INVITE",
			"Contact: <sip:flood@" + src.String() + ">",
			"Content-Type: application/sdp",
		}
		hs = slices.DeleteFunc(hs, func(h string) bool { return skip != "" && strings.HasPrefix(h, skip) })
		return sipText("INVITE "+ruri+" SIP/2.0", append(hs, extra...), sdp)
	}
	park := func() string { return invite("park", ";token=fl"+counterMark, "") }
	var texts []string
	switch kind {
	case floodMissing:
		texts = []string{invite(missingOrbitURI, "", "")}
	case floodDisallowed, floodUnacked:
		texts = []string{park()}
	case floodGarbage:
		noise := make([]byte, 300)
		for i := range noise {
			noise[i] = byte(i*131 + 7) // fixed, not random: runs compare
		}
		whole := park()
		texts = []string{
			string(noise),        // not SIP at all
			whole[:len(whole)/3], // cut short
			invite("park", ";token=fl"+counterMark, "To:"),                                                          // no To
			invite("park", ";token=fl"+counterMark, "Call-ID:"),                                                     // no Call-ID
			invite("park", ";token=fl"+counterMark, "", "Content-Length: 99999"),                                    // body shorter than said
			strings.Replace(park(), "CSeq: 1 INVITE", "CSeq: 1 BYE", 1),                                             // CSeq of another method
			strings.Replace(park(), " SIP/2.0\r\n", " SIP/9.9\r\n", 1),                                              // unknown version
			strings.Replace(park(), "Max-Forwards: 70", "Max-Forwards: 70\r\nX-Junk: "+strings.Repeat("j", 900), 1), // big header
			strings.Replace(park(), "c=IN IP4", "c=IN IP4 999.1.1.1 junk", 1),                                       // bad SDP
			"\r\n\r\n", // keep-alive
		}
	}
	out := make([]*datagram, len(texts))
	for i, t := range texts {
		out[i] = newDatagram(t)
	}
	return out
}

// reply is what the flood's reader needs of a datagram from the service.
type reply struct {
	status int    // of a response; 0 for a request
	method string // of a request
	index  int    // the flood counter in its Call-ID; -1 when none
	reason string // X-Park-Reason
	cseq   string // the CSeq method
}

// parseReply reads a response or request from the service; ok is false
// for anything else.
func parseReply(p []byte) (r reply, ok bool) {
	r.index = -1
	head, _, _ := bytes.Cut(p, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	if len(lines) == 0 {
		return r, false
	}
	f := strings.Fields(lines[0])
	switch {
	case len(f) >= 2 && f[0] == "SIP/2.0":
		n, err := strconv.Atoi(f[1])
		if err != nil || n < 100 || n > 699 {
			return r, false
		}
		r.status = n
	case len(f) == 3 && f[2] == "SIP/2.0":
		r.method = f[0]
	default:
		return r, false
	}
	for _, line := range lines[1:] {
		k, v, found := strings.Cut(line, ":")
		if !found {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "call-id", "i":
			if rest, ok := strings.CutPrefix(v, "flood-"); ok && len(rest) >= counterWidth {
				if n, err := strconv.Atoi(rest[:counterWidth]); err == nil {
					r.index = n
				}
			}
		case "x-park-reason":
			r.reason = v
		case "cseq":
			if cf := strings.Fields(v); len(cf) == 2 {
				r.cseq = cf[1]
			}
		}
	}
	return r, true
}

// floodTally counts what came back to the flood.
type floodTally struct {
	mu        sync.Mutex
	final     []int16        // per datagram: its first final status, 0 while none
	finals    map[string]int // datagrams answered, by their first final status
	reasons   map[string]int // X-Park-Reason of those finals
	responses map[string]int // every response datagram, retransmissions and 1xx included
	requests  map[string]int // requests from the service (BYE after a missing ACK), retransmissions included
	other     int            // datagrams that are not SIP
}

func newFloodTally(total int) *floodTally {
	return &floodTally{final: make([]int16, total), finals: map[string]int{}, reasons: map[string]int{},
		responses: map[string]int{}, requests: map[string]int{}}
}

func (t *floodTally) add(p []byte) {
	r, ok := parseReply(p)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case !ok:
		t.other++
	case r.status == 0:
		t.requests[r.method]++
	default:
		t.responses[strconv.Itoa(r.status)]++
		if r.status < 200 || r.cseq != "INVITE" || r.index < 0 || r.index >= len(t.final) || t.final[r.index] != 0 {
			return
		}
		t.final[r.index] = int16(r.status)
		t.finals[strconv.Itoa(r.status)]++
		if r.reason != "" {
			t.reasons[r.reason]++
		}
	}
}

// answered is how many datagrams got a final response.
func (t *floodTally) answered() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, c := range t.finals {
		n += c
	}
	return n
}

// flooder owns the flood's sockets, their readers and the media trap.
type flooder struct {
	kind    floodKind
	dst     netip.AddrPort
	socks   []*net.UDPConn
	grams   [][]*datagram // per socket
	tally   *floodTally
	trap    *net.UDPConn
	trapped atomic.Int64 // datagrams that reached the trap
	sent    int
	errs    int
	wg      sync.WaitGroup
}

// newFlooder opens sources sockets on 127.0.0.2 and up and a media trap
// on 127.0.0.2, and starts reading them.
func newFlooder(kind floodKind, dst netip.AddrPort, sources, total int) (*flooder, error) {
	f := &flooder{kind: kind, dst: dst, tally: newFloodTally(total)}
	var err error
	if f.trap, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(floodHost(0), 0))); err != nil {
		return nil, fmt.Errorf("media trap: %w", err)
	}
	trapAddr := f.trap.LocalAddr().(*net.UDPAddr).AddrPort()
	f.wg.Go(func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := f.trap.ReadFromUDPAddrPort(buf); err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			f.trapped.Add(1)
		}
	})
	for i := range sources {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(floodHost(i), 0)))
		if err != nil {
			f.close()
			return nil, fmt.Errorf("flood socket on %s: %w", floodHost(i), err)
		}
		_ = c.SetReadBuffer(4 << 20)
		f.socks = append(f.socks, c)
		f.grams = append(f.grams, floodDatagrams(kind, c.LocalAddr().(*net.UDPAddr).AddrPort(), dst, trapAddr))
		f.wg.Go(func() {
			buf := make([]byte, 65536)
			for {
				n, _, err := c.ReadFromUDPAddrPort(buf)
				if err != nil {
					if errors.Is(err, net.ErrClosed) {
						return
					}
					continue // e.g. ECONNREFUSED from an ICMP error
				}
				f.tally.add(buf[:n])
			}
		})
	}
	return f, nil
}

// run sends total datagrams at rate per second, round robin over the
// sockets; it stops early when ctx ends or twice the planned time has
// gone by.
func (f *flooder) run(ctx context.Context, rate float64, total int) {
	start := time.Now()
	limit := time.Duration(float64(total)/rate*float64(time.Second))*2 + time.Second
	for f.sent < total && ctx.Err() == nil && time.Since(start) < limit {
		due := min(total, int(rate*time.Since(start).Seconds())+1)
		for ; f.sent < due; f.sent++ {
			s := f.sent % len(f.socks)
			grams := f.grams[s]
			g := grams[(f.sent/len(f.socks))%len(grams)]
			g.stamp(uint64(f.sent))
			if _, err := f.socks[s].WriteToUDPAddrPort(g.buf, f.dst); err != nil {
				f.errs++
			}
		}
		time.Sleep(time.Millisecond)
	}
}

// close closes every socket and waits for the readers.
func (f *flooder) close() {
	for _, c := range f.socks {
		c.Close()
	}
	if f.trap != nil {
		f.trap.Close()
	}
	f.wg.Wait()
}

// legitPark is one park and hang-up of the legitimate caller.
type legitPark struct {
	at     time.Time     // INVITE sent
	lat    time.Duration // INVITE → 200 OK
	status string        // "" when parked, else the failure
	orbit  int
	music  bool // music reached the caller before it hung up
}

// legitCaller parks and hangs up at rate per second until the end.
type legitCaller struct {
	a     *agent
	med   *media
	addr  string
	rate  float64
	hold  time.Duration
	mu    sync.Mutex
	parks []legitPark
	byes  map[string]int // BYE failures
}

// run parks until end (bounded by ctx) and waits for the last hang-up.
func (l *legitCaller) run(ctx context.Context, end time.Time) {
	n := int(time.Until(end).Seconds() * l.rate)
	pace(ctx, max(n, 0), l.rate, func(i int) {
		var p legitPark
		s, err := l.med.open(roleCaller)
		if err != nil {
			p.at, p.status = time.Now(), "socket"
			l.record(p)
			return
		}
		c := &call{rtp: s, user: "legit" + strconv.Itoa(i+1), frames: callerFrames, send: false}
		ictx, icancel := context.WithTimeout(ctx, 40*time.Second)
		defer icancel()
		err = l.a.invite(ictx, c, fmt.Sprintf("sip:park@%s;token=%s", l.addr, randomToken()))
		p.at, p.lat, p.orbit = c.invited, c.answered.Sub(c.invited), c.orbit
		if err != nil {
			p.status = refusalOf(err)
			l.record(p)
			if c.d != nil && c.d.InviteResponse != nil && c.d.InviteResponse.StatusCode == 200 {
				_ = l.a.bye(ictx, c) // answered but not ACKed (bad SDP): hang up all the same
			}
			return
		}
		deadline := time.Now().Add(l.hold)
		for time.Now().Before(deadline) && s.first.Load() == 0 && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		p.music = s.first.Load() != 0
		sleepCtx(ctx, time.Until(deadline))
		l.record(p)
		bctx, bcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer bcancel()
		if err := l.a.bye(bctx, c); err != nil {
			l.mu.Lock()
			l.byes[statusOf(err)]++
			l.mu.Unlock()
		}
	})
}

// refusalOf is statusOf(err) with the refusal's X-Park-Reason, if any,
// e.g. "503 pending-limit".
func refusalOf(err error) string {
	var p *sipgo.ErrDialogResponse
	var v sipgo.ErrDialogResponse
	var res *sip.Response
	switch {
	case errors.As(err, &p):
		res = p.Res
	case errors.As(err, &v):
		res = v.Res
	}
	if res != nil {
		if h := res.GetHeader("X-Park-Reason"); h != nil {
			return statusOf(err) + " " + h.Value()
		}
	}
	return statusOf(err)
}

func (l *legitCaller) record(p legitPark) {
	l.mu.Lock()
	l.parks = append(l.parks, p)
	l.mu.Unlock()
}

// legitPhase summarises the legitimate parks whose INVITE went out in a
// phase.
type legitPhase struct {
	tried, parked int
	lat           sample
	fails         map[string]int
	noMusic       int
	orbits        map[int]bool
}

func summarise(parks []legitPark, from, to time.Time) legitPhase {
	ph := legitPhase{fails: map[string]int{}, orbits: map[int]bool{}}
	for _, p := range parks {
		if p.at.Before(from) || !p.at.Before(to) {
			continue
		}
		ph.tried++
		if p.status != "" {
			ph.fails[p.status]++
			continue
		}
		ph.parked++
		ph.lat = append(ph.lat, p.lat)
		ph.orbits[p.orbit] = true
		if !p.music {
			ph.noMusic++
		}
	}
	return ph
}

// floodResult is what one flood kind measured.
type floodResult struct {
	kind            floodKind
	sources         int
	sent, sendErrs  int
	took            time.Duration // of the sending
	tally           *floodTally
	trapped         int64
	legit           [3]legitPhase // before, during, after the flood
	byeFails        map[string]int
	cpu             [3]float64 // parkd, % of one core, per phase
	genCPU          float64    // the generator during the flood
	otherCPU        float64    // everything else on the machine during the flood (softirq left out); -1 unknown
	rssBefore       int64      // kB
	rssPeak         int64      // highest VmRSS sampled during the flood
	hwm             int64      // VmHWM at the end
	rssAfter        int64      // after the settle
	settleRSS       []int64    // VmRSS every settleStep of the settle, from its start
	fdsBefore       int
	fdsAfter        int
	thrBefore       int
	thrAfter        int
	settle          time.Duration
	logProblems     int
	logBytes        int64
	alive           bool   // parkd answered OPTIONS after the settle
	crashed         string // parkd's log tail when it exited during the run
	floodStart, end time.Time
}

// settleStep is the interval of the VmRSS readings during the settle.
const settleStep = 5 * time.Second

// settleRow is the kind's line of the memory-during-the-settle table.
func (r *floodResult) settleRow() string {
	cells := make([]string, len(r.settleRSS))
	for i, kb := range r.settleRSS {
		cells[i] = mb(kb)
	}
	return fmt.Sprintf("| %s | %s | %s |", r.kind, strings.Join(cells, ", "), mb(r.rssAfter))
}

// procCounts is a process's open descriptors and threads; -1 when unknown.
func procCounts(pid string) (fds, threads int) {
	fds, threads = -1, -1
	if ents, err := os.ReadDir("/proc/" + pid + "/fd"); err == nil {
		fds = len(ents)
	}
	if b, err := os.ReadFile("/proc/" + pid + "/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Threads:"); ok {
				threads, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
	}
	return fds, threads
}

// runFlood measures every kind of -flood in turn, each against a fresh
// parkd, and prints the report.
func runFlood(cfg config, binary string, stop <-chan os.Signal) error {
	var results []*floodResult
	for _, k := range cfg.flood {
		if cfg.quiet > 0 && !waitQuiet(cfg.quiet, cfg.quietMax, stop) {
			return errors.New("interrupted")
		}
		progress("flood %s: %.0f/s for %v from %d source(s)", k, cfg.floodRate, cfg.floodFor, cfg.floodSources)
		r, err := runFloodKind(cfg, binary, k, stop)
		if err != nil {
			return fmt.Errorf("flood %s: %w", k, err)
		}
		results = append(results, r)
		fmt.Fprintln(os.Stderr, "parkload: result: "+r.floodRow()+"\nparkload: legit: "+r.legitRow()+"\nparkload: settle: "+r.settleRow())
	}
	printFloodReport(os.Stdout, cfg, results)
	return nil
}

// runFloodKind starts parkd, runs the legitimate caller through a
// baseline, the flood and the settle, and stops parkd.
func runFloodKind(cfg config, binary string, kind floodKind, stop <-chan os.Signal) (*floodResult, error) {
	total := int(cfg.floodRate * cfg.floodFor.Seconds())
	budget := cfg.floodBaseline + 2*cfg.floodFor + cfg.floodSettle + 2*time.Minute
	ctx, cancel, release := runContext(budget, stop)
	defer release()

	var extra []string
	if kind == floodDisallowed {
		extra = []string{"-allow", allowLegitOnly}
	}
	svc, err := startParkd(binary, cfg.orbits, cfg.svcCPUs, cfg.svcEnv, extra...)
	if err != nil {
		return nil, err
	}
	progress("parkd pid %d listening on %s", svc.pid, svc.addr)
	r := &floodResult{kind: kind, sources: cfg.floodSources, settle: cfg.floodSettle,
		cpu: [3]float64{-1, -1, -1}, genCPU: -1, otherCPU: -1, rssBefore: -1, rssPeak: -1, hwm: -1, rssAfter: -1}
	// The watch writes r.crashed before it cancels ctx, and everything
	// that reads r.crashed does so after seeing ctx end.
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-svc.exited:
			r.crashed = svc.logTail(20)
			progress("parkd exited during the flood; its log ends:\n%s", r.crashed)
			cancel()
		case <-ctx.Done():
		}
	}()
	defer func() {
		cancel() // the watch must not report the stop below
		<-watchDone
		r.logProblems = svc.logProblems()
		if st, err := os.Stat(svc.logPath); err == nil {
			r.logBytes = st.Size()
		}
		svc.stop(cfg.keepLogs)
	}()
	dst, err := netip.ParseAddrPort(svc.addr)
	if err != nil {
		return nil, err
	}
	pid := strconv.Itoa(svc.pid)

	med, err := newMedia(1, cfg.poll)
	if err != nil {
		return nil, err
	}
	defer med.close()
	a, err := newAgent("legit")
	if err != nil {
		return nil, err
	}
	defer a.close()
	if err := a.ping(ctx, svc.addr); err != nil {
		return nil, err
	}
	f, err := newFlooder(kind, dst, cfg.floodSources, total)
	if err != nil {
		return nil, err
	}
	defer f.close()

	legit := &legitCaller{a: a, med: med, addr: svc.addr, rate: cfg.legitRate, hold: cfg.legitHold, byes: map[string]int{}}
	begin := time.Now()
	end := begin.Add(cfg.floodBaseline + cfg.floodFor + cfg.floodSettle)
	var legitDone sync.WaitGroup
	legitDone.Go(func() { legit.run(ctx, end) })

	// 1. Baseline: the legitimate caller alone.
	meter := startCPU(pid)
	if !sleepCtx(ctx, cfg.floodBaseline) {
		legitDone.Wait()
		return r, r.stopped("in the baseline")
	}
	r.cpu[0] = meter.percent()
	r.rssBefore, _, _ = memKB(pid)
	r.fdsBefore, r.thrBefore = procCounts(pid)

	// 2. The flood, with parkd's memory sampled every 100 ms.
	progress("flooding: %d datagrams at %.0f/s", total, cfg.floodRate)
	meter, gen, sysM := startCPU(pid), startCPU("self"), startSys()
	samplerStop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, _, err := memKB(pid); err == nil {
				r.rssPeak = max(r.rssPeak, rss)
			}
			select {
			case <-samplerStop:
				return
			case <-t.C:
			}
		}
	})
	r.floodStart = time.Now()
	f.run(ctx, cfg.floodRate, total)
	r.took = time.Since(r.floodStart)
	floodEnd := time.Now()
	close(samplerStop)
	sampler.Wait()
	r.cpu[1], r.genCPU = meter.percent(), gen.percent()
	if u := sysM.usage(); u.ok && r.cpu[1] >= 0 && r.genCPU >= 0 {
		r.otherCPU = max(u.cores*100-u.idle-u.steal-u.softirq-r.cpu[1]-r.genCPU, 0)
	}
	r.sent, r.sendErrs = f.sent, f.errs
	progress("sent %d in %v; %d answered so far", r.sent, r.took.Round(time.Millisecond), f.tally.answered())
	if ctx.Err() != nil {
		legitDone.Wait()
		return r, r.stopped("while flooding")
	}

	// 3. The settle: the legitimate caller goes on, the flood's
	// transactions run out.
	progress("settling %v", cfg.floodSettle)
	meter = startCPU(pid)
	settleEnd := time.Now().Add(cfg.floodSettle)
	for at := time.Now(); ; at = at.Add(settleStep) {
		if rss, _, err := memKB(pid); err == nil {
			r.settleRSS = append(r.settleRSS, rss)
		}
		if !at.Add(settleStep).Before(settleEnd) {
			break
		}
		if !sleepCtx(ctx, time.Until(at.Add(settleStep))) {
			legitDone.Wait()
			return r, r.stopped("while settling")
		}
	}
	if !sleepCtx(ctx, time.Until(settleEnd)) {
		legitDone.Wait()
		return r, r.stopped("while settling")
	}
	r.cpu[2] = meter.percent()
	r.rssAfter, r.hwm, _ = memKB(pid)
	r.fdsAfter, r.thrAfter = procCounts(pid)
	legitDone.Wait()
	r.end = time.Now()
	pctx, pcancel := context.WithTimeout(ctx, 15*time.Second)
	r.alive = a.ping(pctx, svc.addr) == nil
	pcancel()

	r.tally = f.tally
	r.trapped = f.trapped.Load()
	legit.mu.Lock()
	r.legit[0] = summarise(legit.parks, begin, r.floodStart)
	r.legit[1] = summarise(legit.parks, r.floodStart, floodEnd)
	r.legit[2] = summarise(legit.parks, floodEnd, end)
	r.byeFails = legit.byes
	legit.mu.Unlock()
	return r, nil
}

// stopped is the error of a kind that ended early: parkd exited (a
// finding, reported with its log) or the run was interrupted.
func (r *floodResult) stopped(when string) error {
	if r.crashed != "" {
		return fmt.Errorf("parkd exited %s; its log ends:\n%s", when, r.crashed)
	}
	return fmt.Errorf("stopped %s", when)
}

// latCell is "parked/tried, p50 / p99 / max ms".
func (ph legitPhase) latCell() string {
	if ph.tried == 0 {
		return "none"
	}
	return fmt.Sprintf("%d/%d · %s / %s / %s", ph.parked, ph.tried,
		ms(ph.lat.quantile(0.5)), ms(ph.lat.quantile(0.99)), ms(ph.lat.quantile(1)))
}

// floodRow is the kind's line of the flood table.
func (r *floodResult) floodRow() string {
	t := r.tally
	t.mu.Lock()
	answered := 0
	for _, c := range t.finals {
		answered += c
	}
	finals, reasons, responses, requests := counts(t.finals), counts(t.reasons), counts(t.responses), counts(t.requests)
	t.mu.Unlock()
	rate := float64(r.sent) / max(r.took.Seconds(), 1e-9)
	alive := "yes"
	if !r.alive {
		alive = "NO"
	}
	return fmt.Sprintf("| %s | %d (%.0f/s, %d source(s)) | %s | %s | %d | %s | %s | %d | %s / %s / %s | %s | %s | %s / %s / %s / %s | %d → %d / %d → %d | %d / %d kB | %s |",
		r.kind, r.sent, rate, r.sources, finals, reasons, r.sent-answered, responses, requests, r.trapped,
		pct(r.cpu[0]), pct(r.cpu[1]), pct(r.cpu[2]), pct(r.genCPU), pct(r.otherCPU),
		mb(r.rssBefore), mb(r.rssPeak), mb(r.hwm), mb(r.rssAfter),
		r.fdsBefore, r.fdsAfter, r.thrBefore, r.thrAfter, r.logProblems, (r.logBytes+1023)/1024, alive)
}

// legitRow is the kind's line of the legitimate caller's table.
func (r *floodResult) legitRow() string {
	during := r.legit[1]
	orbits := slices.Sorted(func(yield func(int) bool) {
		for o := range during.orbits {
			if !yield(o) {
				return
			}
		}
	})
	orbitList := "none"
	if len(orbits) > 0 {
		orbitList = fmt.Sprintf("%d (%d-%d)", len(orbits), orbits[0], orbits[len(orbits)-1])
	}
	noMusic := r.legit[0].noMusic + r.legit[1].noMusic + r.legit[2].noMusic
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %d | %s |",
		r.kind, r.legit[0].latCell(), during.latCell(), r.legit[2].latCell(),
		counts(r.legit[0].fails), counts(during.fails), counts(r.legit[2].fails), noMusic, orbitList)
}
