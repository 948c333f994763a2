//go:build linux || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/internal/notify"
)

// desktopNotifier is app.Notifier on the freedesktop.org notification
// service (internal/notify). It connects at the first notification, off
// Fyne's goroutine, so that the start waits for nothing; without a bus or
// a service it drops notifications quietly (a debug line) and tries again
// at most once a minute: a desktop's service may start after the console.
type desktopNotifier struct {
	log *slog.Logger

	mu      sync.Mutex
	client  *notify.Client
	failed  time.Time // when the last connect failed
	closed  bool
	showing map[uint32]bool // shown and not closed yet: withdrawn at exit
}

// retryConnect is how long after a failed connect the next is tried.
const retryConnect = time.Minute

// newNotifier returns the console's notifier and what closes it, within
// a bound, at exit.
func newNotifier(log *slog.Logger) (app.Notifier, func(time.Duration)) {
	d := &desktopNotifier{log: log, showing: map[uint32]bool{}}
	return d, d.Close
}

func (d *desktopNotifier) connect(ctx context.Context) (*notify.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, notify.ErrClosed
	}
	if d.client != nil {
		return d.client, nil
	}
	if !d.failed.IsZero() && time.Since(d.failed) < retryConnect {
		return nil, notify.ErrNoService
	}
	// Connecting holds the lock: a second notification waits for the
	// first's connect rather than dialling the bus again.
	c, err := notify.Session(ctx)
	if err != nil {
		d.failed = time.Now()
		return nil, err
	}
	d.client = c
	return c, nil
}

// Notify implements app.Notifier.
func (d *desktopNotifier) Notify(ctx context.Context, n app.Notice, onAction func(app.NoticeAction)) (uint32, error) {
	c, err := d.connect(ctx)
	if err != nil {
		if errors.Is(err, notify.ErrNoBus) || errors.Is(err, notify.ErrNoService) {
			d.log.Debug("no desktop notifications", "error", err)
		}
		return 0, err
	}
	dn := notify.Notification{Title: n.Title, Body: n.Body, Urgent: n.Urgent}
	for _, a := range n.Actions {
		dn.Actions = append(dn.Actions, notify.Action{Key: string(a), Label: a.Label()})
	}
	var st struct {
		id     uint32
		closed bool
	}
	id, err := c.Notify(ctx, dn, notify.Handlers{
		OnAction: func(key string) { onAction(app.NoticeAction(key)) },
		OnClosed: func(notify.ClosedReason) {
			d.mu.Lock()
			st.closed = true
			delete(d.showing, st.id)
			d.mu.Unlock()
		},
	})
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	st.id = id
	if !st.closed {
		d.showing[id] = true
	}
	d.mu.Unlock()
	return id, nil
}

// Withdraw implements app.Notifier.
func (d *desktopNotifier) Withdraw(ctx context.Context, id uint32) error {
	d.mu.Lock()
	c := d.client
	d.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Withdraw(ctx, id)
}

// Close withdraws what is still shown (its buttons would reach a
// console that is gone) within d and ends the connection.
func (d *desktopNotifier) Close(wait time.Duration) {
	d.mu.Lock()
	d.closed = true
	c := d.client
	var ids []uint32
	for id := range d.showing {
		ids = append(ids, id)
	}
	d.mu.Unlock()
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, id := range ids {
		if err := c.Withdraw(ctx, id); err != nil {
			d.log.Debug("withdraw desktop notification at exit", "id", id, "error", err)
		}
	}
	_ = c.Close()
}
