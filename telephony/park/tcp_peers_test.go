package park_test

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// TestTCPThreePeersEachOnItsConnection: a watcher, a parked caller and a
// retriever, each on a TCP connection of its own that it opened. Every
// request the service starts goes down its own peer's connection: the
// watcher's NOTIFYs (lit, then dark), the re-INVITE that takes the
// caller off hold (the retriever hears it), the caller's BYE when the
// retriever hangs up. Down another peer's connection, a NOTIFY would be
// answered 481 by a UA that knows no such subscription and the lamp
// dropped, a re-INVITE would leave the caller on hold.
func TestTCPThreePeersEachOnItsConnection(t *testing.T) {
	f := startPark(t, nil)
	w := newWatcherTCP(t, f, 704)
	w.waitOccupied(t, false)

	caller := newAgentOn(t, "tcp", "alice", nil)
	dc, err := caller.Call(t, f.uri("park-704", "transport=tcp"))
	if err != nil {
		t.Fatalf("park over TCP: %v", err)
	}
	mc := siptest.StartMedia(t, dc, 440)
	w.waitOccupied(t, true)

	r := newAgentOn(t, "tcp", "bob", nil)
	dr, err := r.Call(t, f.uri("704", "transport=tcp"))
	if err != nil {
		t.Fatalf("retrieve over TCP: %v", err)
	}
	mr := siptest.StartMedia(t, dr, 1000)
	hears(t, mr, 440)
	hears(t, mc, 1000)
	w.waitOccupied(t, false)
	hangup(t, dr)
	select {
	case <-dc.Context().Done():
	case <-time.After(siptest.WaitFor):
		t.Fatal("TCP caller not hung up after the retriever left")
	}
	for _, n := range w.notifies.All() {
		if n.Transport() != "TCP" {
			t.Fatalf("a NOTIFY came over %s, want the watcher's TCP connection", n.Transport())
		}
	}
	if f.svc.Watchers() != 1 {
		t.Fatalf("%d lamp subscriptions left, want the watcher's 1", f.svc.Watchers())
	}
}
