package siptest

import (
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"
)

// WaitFor is how long a wait may last before the test fails. It only stops
// a hung test: nothing is measured by it.
const WaitFor = 30 * time.Second

// Log is an append-only list of what a test observed (events, log records,
// audio samples) that the test can wait on. The zero value is empty and
// ready; a Log is safe for concurrent use.
type Log[T any] struct {
	mu    sync.Mutex
	items []T
	wake  chan struct{} // closed by the next Add; nil until someone waits
}

// Add appends items and wakes the waiters.
func (l *Log[T]) Add(items ...T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = append(l.items, items...)
	if l.wake != nil {
		close(l.wake)
		l.wake = nil
	}
}

// Len returns how many items were added.
func (l *Log[T]) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.items)
}

// All returns a copy of the items.
func (l *Log[T]) All() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]T(nil), l.items...)
}

// view returns the items so far and a channel closed by the next Add. The
// items are only ever appended to, so the view may be read without the
// lock; it must not be written.
func (l *Log[T]) view() ([]T, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wake == nil {
		l.wake = make(chan struct{})
	}
	n := len(l.items)
	return l.items[:n:n], l.wake
}

// Await calls cond with the items so far, and again after every Add, until
// it returns true; it reports false if d passed first. cond may also look
// at state outside the log that changes when the log does.
func (l *Log[T]) Await(d time.Duration, cond func(items []T) bool) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		items, wake := l.view()
		if cond(items) {
			return true
		}
		select {
		case <-wake:
		case <-timer.C:
			return false
		}
	}
}

// Until is Await with WaitFor that fails the test, saying what never
// happened.
func (l *Log[T]) Until(t testing.TB, what string, cond func(items []T) bool) {
	t.Helper()
	if !l.Await(WaitFor, cond) {
		t.Fatalf("never: %s", what)
	}
}

// Wait returns the first item, already added or still to come, for which
// match is true; the test fails if none comes within WaitFor.
func (l *Log[T]) Wait(t testing.TB, what string, match func(T) bool) T {
	t.Helper()
	var found T
	seen := 0
	l.Until(t, what, func(items []T) bool {
		for ; seen < len(items); seen++ {
			if match(items[seen]) {
				found = items[seen]
				return true
			}
		}
		return false
	})
	return found
}

// Recv receives from ch; the test fails if ch is closed (what failed) or
// nothing comes within WaitFor.
func Recv[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	timer := time.NewTimer(WaitFor)
	defer timer.Stop()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("%s: failed", what)
		}
		return v
	case <-timer.C:
		t.Fatalf("%s: timed out", what)
	}
	var zero T
	return zero
}

// Logger is a logger for the component name: it discards everything
// unless the environment variable env is set, then it writes every level to
// standard error.
func Logger(env, name string) *slog.Logger {
	if os.Getenv(env) == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("who", name)
}
