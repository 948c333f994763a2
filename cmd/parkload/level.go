//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
)

// result is what one level measured.
type result struct {
	n      int
	window time.Duration
	ramp   time.Duration

	parked        int
	parkFail      map[string]int // by status
	parkLat       sample         // INVITE → 200 OK
	firstMusic    sample         // 200 OK → first music packet
	musicEarly    int            // first music arrived before the generator had the 200
	noMusic       int            // parked callers that received nothing
	inviteRetrans int64
	dup200        int64
	reinvites     int64 // re-INVITEs from the service answered

	spacing  histogram
	inWindow uint64
	lost     uint64

	svcCPU, genCPU float64 // % of one core; -1 unknown
	svcSwitches    float64 // the service's context switches per second; -1 unknown
	sys            sysUsage
	svcCores       []int   // the CPUs parkd was pinned to, if any
	svcCoresBusy   float64 // their busy time, % of one core; -1 unknown
	rssKB, hwmKB   int64   // -1 unknown

	retrieved     int
	retrieveFail  map[string]int
	retrieveLat   sample // INVITE → 200 OK
	retrieveAudio sample // INVITE → audio both ways (one way with -send=false)
	noAudio       int    // retrieved calls without audio within 2 s
	noAudioQueued int    // of them, those whose caller's socket here was backlogged then
	hangupFail    map[string]int
	logProblems   int
}

// runLevel starts a fresh service (unless -target), parks n calls,
// measures the window, retrieves a sample, hangs up and stops.
func runLevel(cfg config, binary string, n int, stop <-chan os.Signal) (*result, error) {
	ctx, cancel, release := runContext(cfg.timeout, stop)
	defer release()

	r := &result{n: n, window: cfg.window, parkFail: map[string]int{}, retrieveFail: map[string]int{},
		hangupFail: map[string]int{}, svcCPU: -1, svcSwitches: -1, rssKB: -1, hwmKB: -1, svcCoresBusy: -1}
	if cfg.svcCPUs != "" {
		r.svcCores, _ = cpuList(cfg.svcCPUs)
	}
	r.spacing.init()

	svc := &service{addr: cfg.target, pid: cfg.pid}
	if cfg.target == "" {
		var err error
		if svc, err = startParkd(binary, cfg.orbits, cfg.svcCPUs, cfg.svcEnv, cfg.svcArgs...); err != nil {
			return nil, err
		}
		progress("parkd pid %d listening on %s", svc.pid, svc.addr)
		go func() {
			select {
			case <-svc.exited:
				progress("parkd exited during the level; its log ends:\n%s", svc.logTail(20))
				cancel()
			case <-ctx.Done():
			}
		}()
		defer func() {
			r.logProblems = svc.logProblems()
			cancel() // the watch above must not report the stop below
			svc.stop(cfg.keepLogs)
		}()
	}
	p, err := startParties(ctx, cfg, svc.addr)
	if err != nil {
		return nil, err
	}
	defer p.close()
	med, callers, retriever := p.med, p.callers, p.retriever
	callerOf := func(i int) *agent { return callers[i%len(callers)] }

	calls := make([]*call, n)
	for i := range calls {
		s, err := med.open(roleCaller)
		if err != nil {
			return nil, fmt.Errorf("caller %d: %w", i+1, err)
		}
		calls[i] = &call{rtp: s, user: "caller" + strconv.Itoa(i+1), frames: callerFrames, send: cfg.send}
	}

	// 1. Park every call at the given rate.
	progress("parking %d calls at %.0f/s", n, cfg.rate)
	var mu sync.Mutex
	begin := time.Now()
	pace(ctx, n, cfg.rate, func(i int) {
		c := calls[i]
		ictx, icancel := context.WithTimeout(ctx, 40*time.Second)
		defer icancel()
		uri := fmt.Sprintf("sip:park@%s;token=%s", svc.addr, randomToken())
		if err := callerOf(i).invite(ictx, c, uri); err != nil {
			c.err = err
			mu.Lock()
			if r.parkFail[statusOf(err)]++; r.parkFail[statusOf(err)] == 1 {
				progress("caller %d: park failed: %v", i+1, err)
			}
			mu.Unlock()
			return
		}
	})
	r.ramp = time.Since(begin)
	for _, c := range calls {
		if c.err == nil && c.d != nil {
			r.parked++
			r.parkLat = append(r.parkLat, c.answered.Sub(c.invited))
		}
	}
	progress("parked %d of %d in %v", r.parked, n, r.ramp.Round(time.Millisecond))
	if ctx.Err() != nil {
		return nil, errors.New("stopped while parking")
	}

	// 2. Settle, then measure the steady window.
	if !sleepCtx(ctx, cfg.settle) {
		return nil, errors.New("stopped while settling")
	}
	pid := strconv.Itoa(svc.pid)
	var svcMeter cpuMeter
	if svc.pid != 0 {
		svcMeter = startCPU(pid)
	}
	genMeter := startCPU("self")
	sysM := startSys()
	start := time.Now()
	med.setWindow(start, start.Add(cfg.window))
	var perfDone sync.WaitGroup
	if cfg.perfDir != "" && svc.pid != 0 {
		perfDone.Go(func() { perfRecord(ctx, cfg.perfDir, n, svc.pid, cfg.window) })
	}
	progress("measuring %v", cfg.window)
	if !sleepCtx(ctx, cfg.window) {
		return nil, errors.New("stopped while measuring")
	}
	if svc.pid != 0 {
		r.svcSwitches = svcMeter.switchRate()
		r.svcCPU = svcMeter.percent()
		r.rssKB, r.hwmKB, _ = memKB(pid)
	}
	r.genCPU = genMeter.percent()
	r.sys = sysM.usage()
	if len(r.svcCores) > 0 && r.sys.ok {
		r.svcCoresBusy = 0
		for _, c := range r.svcCores {
			r.svcCoresBusy += r.sys.busyOf[c]
		}
	}
	perfDone.Wait()
	sleepCtx(ctx, 200*time.Millisecond) // let the readers take the window's last packets
	for _, rd := range med.readers {
		rd.mu.Lock()
		r.spacing.merge(&rd.spacing)
		r.inWindow += rd.inWindow
		r.lost += rd.lost
		rd.mu.Unlock()
	}
	for _, c := range calls {
		if c.err != nil || c.d == nil {
			continue
		}
		first := c.rtp.first.Load()
		switch d := time.Duration(first - c.answered.UnixNano()); {
		case first == 0:
			r.noMusic++
		case d < 0:
			r.musicEarly++
			r.firstMusic = append(r.firstMusic, 0)
		default:
			r.firstMusic = append(r.firstMusic, d)
		}
	}

	// 3. Retrieve a sample from the retriever.
	sampleCalls := pick(calls, cfg.retrieve)
	progress("retrieving %d calls", len(sampleCalls))
	retrieves := make([]*call, len(sampleCalls))
	for i := range retrieves {
		s, err := med.open(roleRetriever)
		if err != nil {
			return nil, fmt.Errorf("retriever socket: %w", err)
		}
		retrieves[i] = &call{rtp: s, user: "retriever", frames: retrieverFrames, send: true}
	}
	var noAudio, noAudioQueued atomic.Int64
	pace(ctx, len(sampleCalls), cfg.rate, func(i int) {
		c, rc := sampleCalls[i], retrieves[i]
		ictx, icancel := context.WithTimeout(ctx, 40*time.Second)
		defer icancel()
		if err := retriever.invite(ictx, rc, fmt.Sprintf("sip:%d@%s", c.orbit, svc.addr)); err != nil {
			rc.err = err
			mu.Lock()
			if r.retrieveFail[statusOf(err)]++; r.retrieveFail[statusOf(err)] == 1 {
				progress("retrieve of orbit %d failed: %v", c.orbit, err)
			}
			mu.Unlock()
			return
		}
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			heard, got := c.rtp.firstRet.Load(), rc.rtp.first.Load()
			if heard != 0 && (got != 0 || !cfg.send) {
				audio := time.Duration(max(heard, got) - rc.invited.UnixNano())
				mu.Lock()
				r.retrieveAudio = append(r.retrieveAudio, audio)
				mu.Unlock()
				return
			}
			time.Sleep(time.Millisecond)
		}
		noAudio.Add(1)
		if c.rtp.backlogged() {
			noAudioQueued.Add(1) // the generator had not read what came: its own overload, not the service's
		}
	})
	r.noAudio, r.noAudioQueued = int(noAudio.Load()), int(noAudioQueued.Load())
	for _, rc := range retrieves {
		if rc.err == nil && rc.d != nil {
			r.retrieved++
			r.retrieveLat = append(r.retrieveLat, rc.answered.Sub(rc.invited))
		}
	}

	// 4. Hang up: the retrievers first (the service then hangs up their
	// callers), then every caller still up.
	progress("hanging up")
	hangup := func(agentOf func(i int) *agent, list []*call) {
		pace(ctx, len(list), cfg.rate*2, func(i int) {
			bctx, bcancel := context.WithTimeout(ctx, 10*time.Second)
			defer bcancel()
			if err := agentOf(i).bye(bctx, list[i]); err != nil {
				mu.Lock()
				if r.hangupFail[statusOf(err)]++; r.hangupFail[statusOf(err)] == 1 {
					progress("BYE failed: %v", err)
				}
				mu.Unlock()
			}
		})
	}
	hangup(func(int) *agent { return retriever }, retrieves)
	sleepCtx(ctx, 500*time.Millisecond)
	hangup(callerOf, calls)
	r.inviteRetrans = retriever.conn.inviteTx.Load() - retriever.conn.invites.Load()
	r.reinvites = retriever.reinvites.Load()
	r.dup200 = retriever.conn.ok200.Load() - int64(r.parked+r.retrieved)
	for _, a := range callers {
		r.inviteRetrans += a.conn.inviteTx.Load() - a.conn.invites.Load()
		r.reinvites += a.reinvites.Load()
		r.dup200 += a.conn.ok200.Load()
	}
	return r, nil
}

// runContext is a run's context: it ends after budget, or when stop
// delivers, with sipgo's force-cancel cause, which makes INVITEs still
// waiting give up at once instead of after Timer B. cancel ends it;
// release, deferred by the caller, also frees its timer.
func runContext(budget time.Duration, stop <-chan os.Signal) (ctx context.Context, cancel, release func()) {
	ctx, cancelCause := context.WithCancelCause(context.Background())
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, budget, sipgo.WaitAnswerForceCancelErr)
	cancel = func() { cancelCause(sipgo.WaitAnswerForceCancelErr) }
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel, func() { cancel(); cancelTimeout() }
}

// parties are the media and SIP agents of a level or a soak: callers
// from -sources loopback hosts (127.0.0.1 and up: the service lets one
// host have only 4 parks not yet ACKed) and one retriever.
type parties struct {
	med       *media
	callers   []*agent
	retriever *agent
}

// startParties opens the media readers and the agents, and pings the
// service at addr from each agent.
func startParties(ctx context.Context, cfg config, addr string) (p *parties, err error) {
	p = &parties{}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	if p.med, err = newMedia(cfg.readers, cfg.poll); err != nil {
		return nil, err
	}
	for i := range cfg.sources {
		a, err := newAgentOn("parkload", fmt.Sprintf("127.0.0.%d", i+1))
		if err != nil {
			return nil, err
		}
		p.callers = append(p.callers, a)
	}
	if p.retriever, err = newAgent("retriever"); err != nil {
		return nil, err
	}
	for _, a := range append([]*agent{p.retriever}, p.callers...) {
		if err := a.ping(ctx, addr); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// close closes the agents, then the media, in the reverse order of
// startParties.
func (p *parties) close() {
	if p.retriever != nil {
		p.retriever.close()
	}
	for i := len(p.callers) - 1; i >= 0; i-- {
		p.callers[i].close()
	}
	if p.med != nil {
		p.med.close()
	}
}

// pace runs f(0..n-1), each in its own goroutine, started at rate per
// second, and waits for all of them. Each start falls at a random point
// of its 1/rate slot (startAt): evenly spaced starts at 50 a second kept
// one phase of parkd's 20 ms music tick for a whole run, and a run's
// park and retrieve latencies then said only where that phase fell
// (docs/BENCHMARKS.md, "Senders parked between ticks").
func pace(ctx context.Context, n int, rate float64, f func(i int)) {
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		at := start.Add(startAt(i, rate, rand.Float64()))
		if !sleepCtx(ctx, time.Until(at)) {
			break
		}
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// startAt is when pace starts f(i), from the pace's start: the point u
// (0 ≤ u < 1) of the i-th slot of 1/rate seconds.
func startAt(i int, rate, u float64) time.Duration {
	return time.Duration((float64(i) + u) / rate * float64(time.Second))
}

// sleepCtx sleeps d unless ctx ends first; false if it did.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// pick chooses up to k parked calls spread evenly over the list.
func pick(calls []*call, k int) []*call {
	var ok []*call
	for _, c := range calls {
		if c.err == nil && c.d != nil && c.orbit != 0 {
			ok = append(ok, c)
		}
	}
	if k >= len(ok) {
		return ok
	}
	out := make([]*call, 0, k)
	for i := range k {
		out = append(out, ok[i*len(ok)/k])
	}
	return out
}

func randomToken() string {
	return strconv.FormatUint(uint64(time.Now().UnixNano())^uint64(tokenSeq.Add(0x9e3779b97f4a7c15)), 36)
}

var tokenSeq atomic.Uint64

// ms formats a duration in milliseconds.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func pct(v float64) string {
	if v < 0 {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " %"
}

func mb(kb int64) string {
	if kb < 0 {
		return "n/a"
	}
	return strconv.FormatFloat(float64(kb)/1024, 'f', 1, 64)
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d×%s", m[k], k))
	}
	return strings.Join(parts, ", ")
}

// expected is the number of music packets the window should have held.
func (r *result) expected() float64 {
	return float64(r.parked) * float64(r.window) / float64(framePeriod)
}

// row is the level's line of the main table.
func (r *result) row() string {
	return fmt.Sprintf("| %d | %s | %s / %s | %s / %s | %s / %s | %s / %s | %s | %s / %s | %s |",
		r.n, pct(r.svcCPU), mb(r.rssKB), mb(r.hwmKB),
		ms(r.spacing.quantile(0.5)), ms(r.spacing.quantile(0.99)),
		ms(r.parkLat.quantile(0.5)), ms(r.parkLat.quantile(0.99)),
		ms(r.retrieveLat.quantile(0.5)), ms(r.retrieveLat.quantile(0.99)),
		ms(r.retrieveAudio.quantile(0.5)),
		ms(r.firstMusic.quantile(0.5)), ms(r.firstMusic.quantile(0.99)),
		pct(r.genCPU))
}

// detailRow is the level's line of the second table.
func (r *result) detailRow() string {
	loss := 0.0
	if e := r.expected(); e > 0 {
		loss = 100 * float64(r.lost) / e
	}
	late := 0.0
	if r.spacing.n > 0 {
		late = 100 * float64(r.spacing.above(22*time.Millisecond)) / float64(r.spacing.n)
	}
	sys, other := "n/a", "n/a"
	if r.sys.ok {
		sys = fmt.Sprintf("%.0f / %.0f / %.0f %%", r.sys.softirq, r.sys.steal, r.sys.idle)
		if r.svcCPU >= 0 && r.genCPU >= 0 {
			o := r.sys.cores*100 - r.sys.idle - r.sys.steal - r.sys.softirq - r.svcCPU - r.genCPU
			other = fmt.Sprintf("%.0f %%", max(o, 0))
		}
	}
	perPacket := "n/a"
	if r.svcCPU >= 0 && r.inWindow > 0 {
		perPacket = fmt.Sprintf("%.1f", r.svcCPU/100*r.window.Seconds()/float64(r.inWindow)*1e6)
	}
	switches := "n/a"
	if r.svcSwitches >= 0 {
		switches = fmt.Sprintf("%.0f", r.svcSwitches)
	}
	return fmt.Sprintf("| %d | %s | %s | %s | %s | %s | %d / %s | %d | %d | %d | %d (%.0f %%) | %s / %s | %.3f %% | %.3f %% | %d (%d with music before the 200) | %d / %s | %d (%d) | %s | %v | %d |",
		r.n, perPacket, switches, pct(r.svcCoresBusy), sys, other, r.parked, counts(r.parkFail), r.inviteRetrans, r.dup200, r.reinvites, r.inWindow, 100*float64(r.inWindow)/max(r.expected(), 1),
		ms(r.spacing.quantile(0.999)), ms(time.Duration(r.spacing.max)), late, loss,
		r.noMusic, r.musicEarly, r.retrieved, counts(r.retrieveFail), r.noAudio, r.noAudioQueued, counts(r.hangupFail),
		r.ramp.Round(10*time.Millisecond), r.logProblems)
}

// details is the level's summary for the progress output.
func (r *result) details() string {
	return "parkload: result: " + r.row() + "\nparkload: details: " + r.detailRow()
}
