package sip_test

import (
	"context"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/freeport"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
	"github.com/switchboard/switchboard/telephony/sip/keptparks"
)

// TestKeptParksAcrossRestart: a console parks Alice on 701 and Carol on
// 702 and closes; what it parked is kept in its state directory
// (keptparks). While it is closed Alice hangs up and Bob is parked on
// 701 by someone else. The console opens again on the same address:
// 702 is shown as its own, and its retrieve of 701 sends the kept token
// and fails cleanly, never getting Bob (a plain retrieve, what a
// restarted console sent before, got him); its retrieve of 702 with the
// kept token gets Carol, tones both ways; nothing is kept afterwards (a
// park is forgotten when it ends) (issue 15).
func TestKeptParksAcrossRestart(t *testing.T) {
	f := startParkService(t, "", nil)
	port, err := freeport.Kept(netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	dir := t.TempDir()
	open := func() *keptparks.SQLite {
		kp, err := keptparks.Open(dir, "sip:desk-a@"+listen, f.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = kp.Close() })
		return kp
	}
	desk := func(kp *keptparks.SQLite) func(*sbsip.Config) {
		return func(c *sbsip.Config) {
			f.templates(c)
			c.Listen = []sbsip.Listener{{Transport: "udp", Addr: listen}, {Transport: "tcp", Addr: listen}}
			c.KeptParks = kp
		}
	}
	kp := open()
	a := newConsole(t, "desk-a", 1000, desk(kp))
	a.waitParkService(t, true)

	alice, aliceCall, _ := aliceOn(t, a, true)
	if err := a.Park(ctxT(t), aliceCall.ID, 701); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, aliceCall.ID, telephony.StateParkedAway)
	aliceParked := siptest.Recv(t, "alice parked", alice.referred)
	carol := newPeer(t, "carol", nil)
	carol.dial(t, a.uri(), true)
	carolCall := answeredFrom(t, a, "Carol")
	if err := a.ParkFor(ctxT(t), carolCall.ID, 702, telephony.ParkFor{For: "sip:bob@pbx", Name: "Bob Chen", Note: "about the invoice"}); err != nil {
		t.Fatal(err)
	}
	parked := a.waitState(t, carolCall.ID, telephony.StateParkedAway)
	carolParked := siptest.Recv(t, "carol parked", carol.referred)
	a.waitOrbit(t, 701, "lit with Alice", occupiedBy("Alice"))
	a.waitOrbit(t, 702, "lit with Carol", occupiedBy("Carol"))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	kept, err := kp.Parks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 2 || kept[0].Orbit != 701 || kept[1].Orbit != 702 || kept[1].Token != parked.Token ||
		kept[1].CallerName != "Carol" || kept[1].For.Note != "about the invoice" || kept[0].Token == "" {
		t.Fatalf("kept %+v; want Alice on 701 and Carol on 702 (token %s)", kept, parked.Token)
	}
	if err := kp.Close(); err != nil {
		t.Fatal(err)
	}

	// While the console is closed: Alice gives up, Bob is parked on 701.
	if err := aliceParked.Hangup(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	until(t, "701 free on the service", func() bool { st, _ := f.svc.Orbit(701); return !st.Occupied })
	parkDirect(t, f, "bob", "park-701")

	kp = open()
	a = newConsole(t, "desk-a", 1000, desk(kp))
	a.waitParkService(t, true)
	a.waitOrbit(t, 701, "lit with Bob", occupiedBy("Bob"))
	if o := a.waitOrbit(t, 702, "Carol's, parked by this console", occupiedBy("Carol")); !o.ParkedByMe {
		t.Errorf("702 after the restart: %+v; want ParkedByMe", o)
	}
	id, err := a.Retrieve(ctxT(t), 701)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.waitState(t, id, telephony.StateEnded); got.End != telephony.EndOrbitEmpty {
		t.Fatalf("retrieve of 701 (Alice gone, Bob there) = %+v; want it refused by the kept token", got)
	}
	if st, _ := f.svc.Orbit(701); !st.Occupied || st.CallerName != "Bob" {
		t.Fatalf("Bob is no longer parked: %+v", st)
	}
	id, err = a.Retrieve(ctxT(t), 702)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.waitState(t, id, telephony.StateActive); got.RemoteName != "Carol" {
		t.Fatalf("retrieve of 702 = %+v; want Carol", got)
	}
	m := siptest.StartMedia(t, carolParked, 440)
	a.hears(t, 440)
	m.WaitTone(t, "Carol hears the console", 1000)
	until(t, "nothing kept once the parks ended", func() bool {
		k, err := kp.Parks(context.Background())
		return err == nil && len(k) == 0
	})
}

// until polls cond until it holds (the waitFor safety net).
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
