//go:build linux

package park_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony/park"
)

// realtimeThreads counts this process's threads that run SCHED_RR at
// prio.
func realtimeThreads(t *testing.T, prio int) int {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, task := range tasks {
		tid, err := strconv.Atoi(task.Name())
		if err != nil {
			continue
		}
		attr, err := unix.SchedGetAttr(tid, 0)
		if errors.Is(err, unix.ESRCH) {
			continue // ended meanwhile
		}
		if err != nil {
			t.Fatalf("sched_getattr %d: %v", tid, err)
		}
		if attr.Policy == unix.SCHED_RR && int(attr.Priority) == prio {
			n++
		}
	}
	return n
}

// infoTap passes records on and keeps the messages of the others.
type infoTap struct {
	slog.Handler
	mu   sync.Mutex
	msgs []string
}

func (h *infoTap) Handle(ctx context.Context, r slog.Record) error {
	if r.Message != "park" {
		h.mu.Lock()
		h.msgs = append(h.msgs, r.Message)
		h.mu.Unlock()
	}
	return h.Handler.Handle(ctx, r)
}

func (h *infoTap) has(msg string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.msgs {
		if m == msg {
			return true
		}
	}
	return false
}

// With SenderPriority the music clock and its senders (two here) run at
// that real-time priority (SCHED_RR) while the service runs, and their
// threads end with it: none is left to run other goroutines at that
// priority. Where the process may not have it, the senders run at
// normal priority, a line says so, and the music plays all the same.
func TestMusicSendersRealtimePriority(t *testing.T) {
	const prio = 7
	if n := realtimeThreads(t, prio); n != 0 {
		t.Fatalf("%d threads at SCHED_RR %d before the service", n, prio)
	}
	tap := &infoTap{}
	f := startPark(t, func(o *park.Options) {
		o.Senders, o.SenderPriority = 2, prio
		tap.Handler = o.Logger.Handler()
		o.Logger = slog.New(tap)
	})
	d := parkAlice(t, f.uri("park-701"))
	f.log.wait(t, "parked", "orbit", "701")
	hearsMusic(t, siptest.StartMedia(t, d, 0))

	// May this process have the priority? Ask on a thread of its own.
	allowed := make(chan error, 1)
	notRestored := errors.New("normal priority not restored")
	go func() {
		runtime.LockOSThread()
		attr := unix.SchedAttr{Policy: unix.SCHED_RR, Priority: prio}
		err := unix.SchedSetAttr(0, &attr, 0)
		if err == nil {
			if rerr := unix.SchedSetAttr(0, &unix.SchedAttr{Policy: unix.SCHED_NORMAL}, 0); rerr != nil {
				// Left locked, the thread ends with the goroutine.
				allowed <- fmt.Errorf("%w: %w", notRestored, rerr)
				return
			}
		}
		runtime.UnlockOSThread()
		allowed <- err
	}()
	err := <-allowed
	if errors.Is(err, notRestored) {
		t.Fatal(err)
	}
	if err != nil {
		t.Logf("SCHED_RR %d not allowed here (%v): the refusal is checked", prio, err)
		if n := realtimeThreads(t, prio); n != 0 {
			t.Fatalf("%d threads at SCHED_RR %d although it is refused", n, prio)
		}
		if !tap.has("music senders run at normal priority: real-time priority refused") {
			t.Fatal("no line says the senders run at normal priority")
		}
		return
	}
	waitThreads(t, "the clock and its helper at SCHED_RR", prio, 2)
	if tap.has("music senders run at normal priority: real-time priority refused") {
		t.Fatal("the refusal was logged although the priority was given")
	}
	f.svc.Close()
	waitThreads(t, "no SCHED_RR thread after Close", prio, 0)
}

// waitThreads waits until exactly n threads run SCHED_RR at prio.
func waitThreads(t *testing.T, what string, prio, n int) {
	t.Helper()
	deadline := time.Now().Add(siptest.WaitFor)
	for {
		got := realtimeThreads(t, prio)
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d threads at SCHED_RR %d, want %d", what, got, prio, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
