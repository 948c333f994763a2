package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/switchboard/switchboard/internal/siptest"
)

// TestParkdKilledMidParkStorm: parkd is killed (kill -9) while parks
// pour in, 8 at a time, and started again on the same store and
// addresses. The store opens (nothing corrupt), every park that got its
// 200 before the kill is restored (a park is written before its 200),
// none that was never sent is, and every restored caller hears music
// again. A park whose 200 the kill cut off may or may not be restored:
// its caller's retransmission would have parked it again.
func TestParkdKilledMidParkStorm(t *testing.T) {
	const storm, killAfter = 400, 120
	dir := t.TempDir()
	args := []string{"-state-dir", dir, "-listen", "127.0.0.1:" + strconv.Itoa(siptest.FreePort(t)),
		"-rtp-port", strconv.Itoa(freeRTPPort(t)), "-orbits", "1000-1499", "-park-time", "1h"}
	first := startParkd(t, args...)
	addr := first.line(t, `^parkd: listening on (127\.0\.0\.1:\d+) `)[1]
	uas := benchUAs(t)

	var confirmed sync.Map // orbit → phone, parks that got their 200
	var sent, answered atomic.Int64
	// The kill ends the parks under way at once: abandoned, not
	// CANCELled (their callers would retransmit; these give up).
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	reached := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	var next atomic.Int64
	for w := range parkWorkers * len(uas) {
		u := uas[w%len(uas)]
		wg.Go(func() {
			for next.Add(1) <= storm {
				p, err := u.newPhone()
				if err != nil {
					t.Error(err)
					return
				}
				sent.Add(1)
				orbit, _, err := u.inviteCtx(ctx, p, "sip:park@"+addr)
				if err != nil {
					return // the kill: this worker stops
				}
				confirmed.Store(orbit, p)
				if answered.Add(1) == killAfter {
					once.Do(func() { close(reached) })
				}
			}
		})
	}
	<-reached
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.wait(t)
	cancel(sipgo.WaitAnswerForceCancelErr)
	wg.Wait()

	var phones []*benchPhone
	confirmed.Range(func(_, v any) bool { phones = append(phones, v.(*benchPhone)); return true })
	for _, p := range phones {
		p.after.Store(1) // the first packet of a new stream from now on counts
	}
	second := startParkd(t, args...)
	m := second.line(t, `^parkd: listening on .*, restored (\d+) parked calls and 0 bridged calls$`)
	restored, _ := strconv.Atoi(m[1])
	t.Logf("%d INVITEs sent, %d answered 200 before the kill, %d restored", sent.Load(), len(phones), restored)
	if restored < len(phones) || int64(restored) > sent.Load() {
		t.Fatalf("restored %d parks; want at least the %d confirmed and at most the %d sent", restored, len(phones), sent.Load())
	}
	waitAll(t, "every confirmed park's caller hearing music again", phones, func(p *benchPhone) bool { return p.firstAfter.Load() != 0 })
	for orbit := range 1500 {
		if _, ok := confirmed.Load(orbit); ok {
			second.waitLog(t, fmt.Sprintf("event=restored orbit=%d ", orbit))
		}
	}
}
