package badsip

import (
	"context"
	"log/slog"
	"sync"
)

// ErrorLog is a slog.Handler that counts the ERROR records of a service
// under replay (a recovered handler panic is one) and keeps the first
// few, passing every record on to Next when set.
type ErrorLog struct {
	Next slog.Handler

	mu    *sync.Mutex
	state *errState
	attrs []slog.Attr
}

type errState struct {
	n     int
	first []string
}

// NewErrorLog returns an ErrorLog passing records on to next (nil: to
// nothing).
func NewErrorLog(next slog.Handler) *ErrorLog {
	return &ErrorLog{Next: next, mu: new(sync.Mutex), state: new(errState)}
}

// Count is the number of ERROR records so far.
func (l *ErrorLog) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state.n
}

// Since returns the ERROR records after the first n (as far as kept).
func (l *ErrorLog) Since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n >= len(l.state.first) {
		return nil
	}
	return append([]string(nil), l.state.first[n:]...)
}

// Enabled implements slog.Handler.
func (l *ErrorLog) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= slog.LevelError || l.Next != nil && l.Next.Enabled(ctx, lv)
}

// Handle implements slog.Handler.
func (l *ErrorLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		msg := r.Message
		add := func(a slog.Attr) bool {
			if a.Key != "stack" {
				msg += " " + a.String()
			}
			return true
		}
		for _, a := range l.attrs {
			add(a)
		}
		r.Attrs(add)
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		l.mu.Lock()
		l.state.n++
		if len(l.state.first) < 100 {
			l.state.first = append(l.state.first, msg)
		}
		l.mu.Unlock()
	}
	if l.Next != nil && l.Next.Enabled(ctx, r.Level) {
		return l.Next.Handle(ctx, r)
	}
	return nil
}

// WithAttrs implements slog.Handler.
func (l *ErrorLog) WithAttrs(as []slog.Attr) slog.Handler {
	c := *l
	c.attrs = append(append([]slog.Attr(nil), l.attrs...), as...)
	if l.Next != nil {
		c.Next = l.Next.WithAttrs(as)
	}
	return &c
}

// WithGroup implements slog.Handler.
func (l *ErrorLog) WithGroup(name string) slog.Handler {
	c := *l
	if l.Next != nil {
		c.Next = l.Next.WithGroup(name)
	}
	return &c
}
