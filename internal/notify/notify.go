// Package notify shows desktop notifications through the freedesktop.org
// notification service (org.freedesktop.Notifications on the session
// D-Bus): notifications with action buttons where the desktop shows
// them, withdrawn by the program when they no longer hold. Fyne's own
// SendNotification can neither offer actions nor withdraw.
//
// It never starts a bus: without a session bus (no
// DBUS_SESSION_BUS_ADDRESS and no $XDG_RUNTIME_DIR/bus) Session returns
// ErrNoBus at once, and without a notification service on the bus it
// returns ErrNoService, so that a console on a bare machine stays quiet.
package notify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/godbus/dbus/v5"
)

const (
	service   = "org.freedesktop.Notifications"
	path      = dbus.ObjectPath("/org/freedesktop/Notifications")
	iface     = "org.freedesktop.Notifications"
	appName   = "Switchboard"
	capAction = "actions"
)

// ErrNoBus is returned by Session when there is no session bus to use.
var ErrNoBus = errors.New("no session D-Bus")

// ErrNoService is returned when the bus has no notification service.
var ErrNoService = errors.New("no desktop notification service")

// ErrClosed is returned by a Client's methods after Close.
var ErrClosed = errors.New("notification client closed")

// Action is a button on a notification.
type Action struct {
	// Key is what the program is told when the action is chosen.
	Key string
	// Label is the button's text.
	Label string
}

// Notification is what Notify shows.
type Notification struct {
	// Title is the summary line; Body the text under it.
	Title, Body string
	// Actions are offered where the service shows actions
	// (Client.Actions); elsewhere they are left out.
	Actions []Action
	// Urgent asks the service to keep the notification until it is
	// withdrawn or dismissed (urgency critical).
	Urgent bool
}

// ClosedReason is why the service closed a notification, as the
// specification numbers them.
type ClosedReason uint32

// The reasons of the NotificationClosed signal.
const (
	ClosedExpired   ClosedReason = 1
	ClosedDismissed ClosedReason = 2
	ClosedByCall    ClosedReason = 3 // withdrawn by the program (Withdraw)
	ClosedUndefined ClosedReason = 4
)

// Handlers are told what becomes of one notification. They are called
// on the client's signal goroutine, one at a time, and must not block.
type Handlers struct {
	// OnAction is called with the key of the action chosen.
	OnAction func(key string)
	// OnClosed is called once when the notification is gone.
	OnClosed func(ClosedReason)
}

// Client is a connection to the session bus's notification service.
type Client struct {
	conn    *dbus.Conn
	obj     dbus.BusObject
	actions bool
	signals chan *dbus.Signal
	done    chan struct{}

	mu       sync.Mutex
	closed   bool
	handlers map[uint32]Handlers
	// early keeps the signals that came for an id before Notify
	// returned it (the service may answer and signal in either order).
	early map[uint32][]*dbus.Signal
}

// SessionAddress returns the session bus's address from the
// environment (DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus when
// that socket exists), or ErrNoBus; it never starts a bus.
func SessionAddress() (string, error) {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" {
		return a, nil
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		p := filepath.Join(dir, "bus")
		if st, err := os.Stat(p); err == nil && st.Mode()&os.ModeSocket != 0 {
			return "unix:path=" + p, nil
		}
	}
	return "", ErrNoBus
}

// Session connects to the notification service on the session bus.
func Session(ctx context.Context) (*Client, error) {
	addr, err := SessionAddress()
	if err != nil {
		return nil, err
	}
	return Connect(ctx, addr)
}

// Connect connects to the notification service on the bus at address
// ("unix:path=/run/user/1000/bus") and asks what it can show.
func Connect(ctx context.Context, address string) (*Client, error) {
	conn, err := dbus.Connect(address)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoBus, err)
	}
	c := &Client{
		conn:     conn,
		obj:      conn.Object(service, path),
		signals:  make(chan *dbus.Signal, 16),
		done:     make(chan struct{}),
		handlers: map[uint32]Handlers{},
		early:    map[uint32][]*dbus.Signal{},
	}
	var owned bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, service).Store(&owned); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("ask the bus for %s: %w", service, err)
	}
	if !owned {
		var names []string
		if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.ListActivatableNames", 0).Store(&names); err != nil || !contains(names, service) {
			_ = conn.Close()
			return nil, ErrNoService
		}
	}
	var caps []string
	if err := c.obj.CallWithContext(ctx, iface+".GetCapabilities", 0).Store(&caps); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("%w: %w", ErrNoService, err)
	}
	c.actions = contains(caps, capAction)
	if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchInterface(iface), dbus.WithMatchObjectPath(path)); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("listen to %s: %w", service, err)
	}
	conn.Signal(c.signals)
	go c.run()
	return c, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Actions reports whether the service shows action buttons.
func (c *Client) Actions() bool { return c.actions }

// Notify shows n and returns its id; h is told of its actions and its
// end. Notifications stay until withdrawn or dismissed (no expiry of
// our choosing: a ringing call is news until it stops ringing).
func (c *Client) Notify(ctx context.Context, n Notification, h Handlers) (uint32, error) {
	var actions []string
	if c.actions {
		for _, a := range n.Actions {
			actions = append(actions, a.Key, a.Label)
		}
	}
	if actions == nil {
		actions = []string{}
	}
	urgency := byte(1)
	if n.Urgent {
		urgency = 2
	}
	hints := map[string]dbus.Variant{"urgency": dbus.MakeVariant(urgency)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, ErrClosed
	}
	c.mu.Unlock()
	var id uint32
	err := c.obj.CallWithContext(ctx, iface+".Notify", 0,
		appName, uint32(0), "", n.Title, n.Body, actions, hints, int32(-1)).Store(&id)
	if err != nil {
		return 0, fmt.Errorf("notify %q: %w", n.Title, err)
	}
	c.mu.Lock()
	early := c.early[id]
	delete(c.early, id)
	if !c.closed {
		c.handlers[id] = h
	}
	c.mu.Unlock()
	for _, s := range early {
		c.deliver(s)
	}
	return id, nil
}

// Withdraw closes the notification id (one already gone is no error).
func (c *Client) Withdraw(ctx context.Context, id uint32) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := c.obj.CallWithContext(ctx, iface+".CloseNotification", 0, id).Err; err != nil {
		return fmt.Errorf("withdraw notification %d: %w", id, err)
	}
	return nil
}

// Close ends the connection and its signal goroutine; handlers are not
// called after Close returns.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.handlers = map[uint32]Handlers{}
	c.mu.Unlock()
	err := c.conn.Close()
	<-c.done
	return err
}

// run delivers the service's signals until the connection closes (which
// closes the signal channel).
func (c *Client) run() {
	defer close(c.done)
	for s := range c.signals {
		if len(s.Body) == 0 {
			continue
		}
		id, ok := s.Body[0].(uint32)
		if !ok {
			continue
		}
		c.mu.Lock()
		_, known := c.handlers[id]
		if !known && !c.closed && s.Name == iface+".NotificationClosed" {
			// Possibly ours, before Notify returned its id (or another
			// program's: keep only the latest few).
			if len(c.early) >= 64 {
				c.early = map[uint32][]*dbus.Signal{}
			}
			c.early[id] = append(c.early[id], s)
		}
		c.mu.Unlock()
		if known {
			c.deliver(s)
		}
	}
}

// deliver calls the handler a signal is for.
func (c *Client) deliver(s *dbus.Signal) {
	id, _ := s.Body[0].(uint32)
	c.mu.Lock()
	h, ok := c.handlers[id]
	if ok && s.Name == iface+".NotificationClosed" {
		delete(c.handlers, id)
	}
	c.mu.Unlock()
	if !ok {
		return
	}
	switch s.Name {
	case iface + ".ActionInvoked":
		if len(s.Body) < 2 {
			return
		}
		if key, _ := s.Body[1].(string); key != "" && h.OnAction != nil {
			h.OnAction(key)
		}
	case iface + ".NotificationClosed":
		var why ClosedReason = ClosedUndefined
		if len(s.Body) >= 2 {
			if r, ok := s.Body[1].(uint32); ok {
				why = ClosedReason(r)
			}
		}
		if h.OnClosed != nil {
			h.OnClosed(why)
		}
	}
}
