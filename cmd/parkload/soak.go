//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// soakSample is one reading of parkd during a soak.
type soakSample struct {
	at      time.Duration // since the first cycle
	cycles  int64         // done so far (whatever their outcome)
	rssKB   int64         // VmRSS
	heapMB  float64       // live heap after the last GC (gctrace), -1 unknown
	gcs     int           // GCs so far, -1 unknown
	fds     int
	threads int
	idle    bool // sampled after the last cycle
}

// soakResult is what a soak measured.
type soakResult struct {
	cycles, ok        int64
	fails             map[string]int // "park 503 pending-limit", "retrieve 404", "bye ..."
	parkLat, retrLat  sample
	took              time.Duration // of the cycles
	samples           []soakSample
	peakRSS, hwm      int64
	endRSS            int64 // at the end of the idle time
	cpu               float64
	logProblems       int
	problems          []string // the first WARN/ERROR lines of parkd's log
	svcEnv            []string
	retransmitInvites int64
}

// gcLine is a gctrace line: "gc 12 @3.012s 1%: ... 4->5->2 MB, 8 MB goal, ...".
var gcLine = regexp.MustCompile(`^gc (\d+) @[0-9.]+s [0-9]+%: .* (\d+)->(\d+)->(\d+) MB`)

// gcTail follows parkd's log for gctrace lines.
type gcTail struct {
	f    *os.File
	r    *bufio.Reader
	gcs  int
	heap float64
}

func newGCTail(path string) *gcTail {
	f, err := os.Open(path)
	if err != nil {
		return &gcTail{gcs: -1, heap: -1}
	}
	return &gcTail{f: f, r: bufio.NewReaderSize(f, 64<<10), gcs: -1, heap: -1}
}

// read takes the lines written since the last read; it returns the GC
// count and the live heap after the last GC (MB), -1 when unknown.
func (g *gcTail) read() (gcs int, heapMB float64) {
	if g.f == nil {
		return -1, -1
	}
	for {
		line, err := g.r.ReadString('\n')
		if m := gcLine.FindStringSubmatch(line); m != nil && strings.HasSuffix(line, "\n") {
			g.gcs, _ = strconv.Atoi(m[1])
			g.heap, _ = strconv.ParseFloat(m[4], 64)
		}
		if err != nil {
			if errors.Is(err, io.EOF) && line != "" && !strings.HasSuffix(line, "\n") {
				// A line being written: read it again next time.
				_, _ = g.f.Seek(-int64(len(line)), io.SeekCurrent)
				g.r.Reset(g.f)
			}
			return g.gcs, g.heap
		}
	}
}

func (g *gcTail) close() {
	if g.f != nil {
		g.f.Close()
	}
}

// withGCTrace adds GODEBUG=gctrace=1 to env, keeping other GODEBUG
// settings given with -service-env.
func withGCTrace(env []string) []string {
	out := append([]string(nil), env...)
	for i, kv := range out {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			if !strings.Contains(v, "gctrace=") {
				out[i] = "GODEBUG=" + v + ",gctrace=1"
			}
			return out
		}
	}
	return append(out, "GODEBUG=gctrace=1")
}

// runSoak runs the soak (soak) and prints the report.
func runSoak(cfg config, binary string, stop <-chan os.Signal) error {
	r, err := soak(cfg, binary, stop)
	if err != nil {
		return err
	}
	printSoakReport(os.Stdout, cfg, r)
	return nil
}

// soak runs park → retrieve → hang-up cycles against a fresh parkd at
// -soak-rate a second for -soak, then leaves it idle for -soak-idle,
// sampling its memory, descriptors and threads every -soak-sample.
func soak(cfg config, binary string, stop <-chan os.Signal) (*soakResult, error) {
	budget := cfg.soak + cfg.soakIdle + 3*time.Minute
	ctx, cancel, release := runContext(budget, stop)
	defer release()
	if cfg.quiet > 0 && !waitQuiet(cfg.quiet, cfg.quietMax, stop) {
		return nil, errors.New("interrupted")
	}
	env := withGCTrace(cfg.svcEnv)
	svc, err := startParkd(binary, cfg.orbits, cfg.svcCPUs, env, cfg.svcArgs...)
	if err != nil {
		return nil, err
	}
	progress("parkd pid %d listening on %s", svc.pid, svc.addr)
	r := &soakResult{fails: map[string]int{}, svcEnv: env}
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-svc.exited:
			progress("parkd exited during the soak; its log ends:\n%s", svc.logTail(20))
			cancel()
		case <-ctx.Done():
		}
	}()
	defer func() {
		cancel()
		<-watchDone
		svc.stop(cfg.keepLogs)
	}()
	pid := strconv.Itoa(svc.pid)

	p, err := startParties(ctx, cfg, svc.addr)
	if err != nil {
		return nil, err
	}
	defer p.close()
	med, callers, retriever := p.med, p.callers, p.retriever

	gc := newGCTail(svc.logPath)
	defer gc.close()
	var done atomic.Int64
	begin := time.Now()
	var idle atomic.Bool
	sampleNow := func() soakSample {
		s := soakSample{at: time.Since(begin), cycles: done.Load(), idle: idle.Load()}
		s.rssKB, _, _ = memKB(pid)
		s.gcs, s.heapMB = gc.read()
		s.fds, s.threads = procCounts(pid)
		return s
	}
	samplerStop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		t := time.NewTicker(cfg.soakSample)
		defer t.Stop()
		for {
			s := sampleNow()
			r.samples = append(r.samples, s)
			r.peakRSS = max(r.peakRSS, s.rssKB)
			progress("soak %6.1fs: %6d cycles, RSS %s MB, heap %s MB, %s GCs, %d fds, %d threads",
				s.at.Seconds(), s.cycles, mb(s.rssKB), heapCell(s.heapMB), intCell(s.gcs), s.fds, s.threads)
			select {
			case <-samplerStop:
				return
			case <-t.C:
			}
		}
	})

	total := int(cfg.soakRate * cfg.soak.Seconds())
	progress("soak: %d park → retrieve → hang-up cycles at %.0f/s", total, cfg.soakRate)
	meter := startCPU(pid)
	var mu sync.Mutex
	fail := func(what string, err error) {
		mu.Lock()
		defer mu.Unlock()
		key := what + " " + refusalOf(err)
		if r.fails[key]++; r.fails[key] == 1 {
			progress("%s failed: %v", what, err)
		}
	}
	pace(ctx, total, cfg.soakRate, func(i int) {
		defer done.Add(1)
		if soakCycle(ctx, cfg, svc.addr, med, callers[i%len(callers)], retriever, i, fail, &mu, r) {
			mu.Lock()
			r.ok++
			mu.Unlock()
		}
	})
	r.took = time.Since(begin)
	r.cycles = done.Load()
	idle.Store(true)
	progress("cycles done in %v; idle %v", r.took.Round(time.Millisecond), cfg.soakIdle)
	sleepCtx(ctx, cfg.soakIdle)
	close(samplerStop)
	sampler.Wait()
	r.cpu = meter.percent()
	last := sampleNow()
	r.samples = append(r.samples, last)
	r.endRSS = last.rssKB
	_, r.hwm, _ = memKB(pid)
	r.logProblems = svc.logProblems()
	r.problems = svc.problemLines(5)
	r.retransmitInvites = retriever.conn.inviteTx.Load() - retriever.conn.invites.Load()
	for _, a := range callers {
		r.retransmitInvites += a.conn.inviteTx.Load() - a.conn.invites.Load()
	}
	if ctx.Err() != nil && r.cycles < int64(total) {
		return nil, errors.New("stopped during the soak")
	}
	return r, nil
}

// soakCycle parks one caller, retrieves it and hangs up (the retriever's
// BYE; the service then hangs up the caller), then lets go of both
// phones' sockets and dialogs. It reports whether every step worked.
func soakCycle(ctx context.Context, cfg config, addr string, med *media, callers, retriever *agent, i int,
	fail func(string, error), mu *sync.Mutex, r *soakResult) bool {
	s, err := med.open(roleCaller)
	if err != nil {
		fail("socket", err)
		return false
	}
	defer med.release(s)
	c := &call{rtp: s, user: "soak" + strconv.Itoa(i+1), frames: callerFrames, send: cfg.send}
	defer callers.forget(c)
	ictx, icancel := context.WithTimeout(ctx, 40*time.Second)
	defer icancel()
	if err := callers.invite(ictx, c, fmt.Sprintf("sip:park@%s;token=%s", addr, randomToken())); err != nil {
		fail("park", err)
		if c.d != nil && c.d.InviteResponse != nil && c.d.InviteResponse.StatusCode == 200 {
			_ = callers.bye(ictx, c)
		}
		return false
	}
	mu.Lock()
	r.parkLat = append(r.parkLat, c.answered.Sub(c.invited))
	mu.Unlock()
	if cfg.soakHold > 0 && !sleepCtx(ctx, cfg.soakHold) {
		return false
	}
	rs, err := med.open(roleRetriever)
	if err != nil {
		fail("socket", err)
		_ = callers.bye(ictx, c)
		return false
	}
	defer med.release(rs)
	// The retriever always talks (its tone tells that the caller is
	// bridged to it), as in the levels' retrieves.
	rc := &call{rtp: rs, user: "retriever", frames: retrieverFrames, send: true}
	defer retriever.forget(rc)
	if err := retriever.invite(ictx, rc, fmt.Sprintf("sip:%d@%s", c.orbit, addr)); err != nil {
		fail("retrieve", err)
		_ = callers.bye(ictx, c)
		return false
	}
	mu.Lock()
	r.retrLat = append(r.retrLat, rc.answered.Sub(rc.invited))
	mu.Unlock()
	// Talk first, as a receptionist does: hang up once audio flows both
	// ways (the caller hears the retriever's tone, the retriever the
	// caller's), bounded. A BYE before the service's re-INVITE of the
	// caller is done leaves the caller without its BYE (a known bug).
	audio := time.Now().Add(2 * time.Second)
	for time.Now().Before(audio) && ctx.Err() == nil {
		if c.rtp.firstRet.Load() != 0 && (rs.first.Load() != 0 || !cfg.send) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if c.rtp.firstRet.Load() == 0 {
		fail("audio", errors.New("the caller never heard the retriever within 2s"))
	}
	bctx, bcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer bcancel()
	if err := retriever.bye(bctx, rc); err != nil {
		fail("bye", err)
		_ = callers.bye(bctx, c)
		return false
	}
	// The service hangs up the caller; wait for its BYE (bounded).
	deadline := time.Now().Add(5 * time.Second)
	for !c.hungUp.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if !c.hungUp.Load() {
		fail("caller-bye", errors.New("no BYE from the service within 5s"))
		_ = callers.bye(bctx, c)
		return false
	}
	return true
}

// problemLines returns the first n WARN and ERROR lines of parkd's log.
func (s *service) problemLines(n int) []string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if len(out) < n && (strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR")) {
			out = append(out, line)
		}
	}
	return out
}

// release stops s sending, takes it off its reader and closes it.
func (m *media) release(s *rtpSock) {
	s.target.Store(nil)
	m.mu.Lock()
	for i, o := range m.socks {
		if o == s {
			last := len(m.socks) - 1
			m.socks[i] = m.socks[last]
			m.socks[last] = nil
			m.socks = m.socks[:last]
			break
		}
	}
	m.mu.Unlock()
	sockByFD[s.fd].Store(nil)
	// Closing the descriptor removes it from its epoll set.
	syscall.Close(s.fd)
}

// forget drops c from the agent's dialogs once it is over.
func (a *agent) forget(c *call) {
	if c.callID == "" {
		return
	}
	a.mu.Lock()
	delete(a.byCall, c.callID)
	a.mu.Unlock()
}

func heapCell(mb float64) string {
	if mb < 0 {
		return "?"
	}
	return strconv.FormatFloat(mb, 'f', 0, 64)
}

func intCell(n int) string {
	if n < 0 {
		return "?"
	}
	return strconv.Itoa(n)
}

// printSoakReport prints the machine, the command, the summary row and
// the samples.
func printSoakReport(w io.Writer, cfg config, r *soakResult) {
	fmt.Fprintf(w, "\nmachine: %s\n", machine())
	fmt.Fprintf(w, "command: parkload %s\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(w, "parkd environment: %s; extra flags: %s\n\n", strings.Join(r.svcEnv, " "), strings.Join(cfg.svcArgs, " "))
	fmt.Fprintln(w, "| cycles (ok) | rate asked / done (per s) | park p50 / p99 (ms) | retrieve p50 / p99 (ms) | failures | parkd CPU (% of one core, cycles and idle) | RSS peak / HWM / after idle (MB) | live heap after idle (MB) | fds / threads after idle | INVITE retransmissions |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
	last := r.samples[len(r.samples)-1]
	rate := float64(r.cycles) / r.took.Seconds()
	fmt.Fprintf(w, "| %d (%d) | %.0f / %.0f | %s / %s | %s / %s | %s | %s | %s / %s / %s | %s | %d / %d | %d |\n",
		r.cycles, r.ok, cfg.soakRate, rate, ms(r.parkLat.quantile(0.5)), ms(r.parkLat.quantile(0.99)),
		ms(r.retrLat.quantile(0.5)), ms(r.retrLat.quantile(0.99)), counts(r.fails), pct(r.cpu),
		mb(r.peakRSS), mb(r.hwm), mb(r.endRSS), heapCell(last.heapMB), last.fds, last.threads, r.retransmitInvites)
	fmt.Fprintln(w, "\n| t (s) | cycles | RSS (MB) | live heap (MB) | GCs | fds | threads |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, s := range r.samples {
		t := fmt.Sprintf("%.0f", s.at.Seconds())
		if s.idle {
			t += " (idle)"
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %d | %d |\n", t, s.cycles, mb(s.rssKB), heapCell(s.heapMB), intCell(s.gcs), s.fds, s.threads)
	}
	if r.logProblems > 0 {
		fmt.Fprintf(w, "\nparkd logged %d WARN/ERROR lines, the first:\n%s\n", r.logProblems, strings.Join(r.problems, "\n"))
	}
}
