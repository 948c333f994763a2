package sip_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// answered makes console c answer the next ringing call and returns it.
func answered(t *testing.T, c *console) telephony.Call {
	t.Helper()
	r := c.waitRinging(t)
	if err := c.Answer(ctxT(t), r.ID); err != nil {
		t.Fatal(err)
	}
	return c.waitState(t, r.ID, telephony.StateActive)
}

// aliceOn has alice call console a and a answer; it returns alice, the
// console's call and alice's dialog, received: the console may send
// requests in it (see peer.dial). follow: alice follows REFERs.
func aliceOn(t *testing.T, a *console, follow bool) (*peer, telephony.Call, *siptest.Call) {
	t.Helper()
	alice := newPeer(t, "alice", nil)
	da := alice.dial(t, a.uri(), follow)
	call := answered(t, a)
	return alice, call, siptest.Recv(t, "alice answered", da)
}

func occupiedBy(name string) func(telephony.Orbit) bool {
	return func(o telephony.Orbit) bool { return o.Occupied && o.CallerName == name }
}

func free(o telephony.Orbit) bool { return !o.Occupied }

// TestParkStory is the receptionist's story against the real park
// service: alice calls console A, A parks her on 705, the lamps of A and
// B light with her name, B retrieves 705, alice and B hear each other,
// and the lamps go dark on both.
func TestParkStory(t *testing.T) {
	f := startParkService(t, "", nil)
	a := newConsole(t, "desk-a", 1000, f.templates)
	b := newConsole(t, "desk-b", 1200, f.templates)
	a.waitParkService(t, true)
	b.waitParkService(t, true)

	alice, call, d := aliceOn(t, a, true)
	m := siptest.StartMedia(t, d, 440)
	m.WaitTone(t, "alice hears A", 1000)

	if err := a.Park(ctxT(t), call.ID, 705); err != nil {
		t.Fatal(err)
	}
	parking := a.waitState(t, call.ID, telephony.StateParking)
	if parking.Orbit != 705 || len(parking.Token) < 20 {
		t.Fatalf("parking call = %+v (want orbit 705 and a token of >= 96 bits)", parking)
	}
	parked := a.waitState(t, call.ID, telephony.StateParkedAway)
	if parked.Orbit != 705 || parked.Relayed || parked.Token != parking.Token {
		t.Fatalf("parked call = %+v", parked)
	}
	nd := siptest.Recv(t, "alice follows the REFER", alice.referred)
	m.Close()
	m = siptest.StartMedia(t, nd, 440)

	oa := a.waitOrbit(t, 705, "lit with Alice", occupiedBy("Alice"))
	ob := b.waitOrbit(t, 705, "lit with Alice", occupiedBy("Alice"))
	if !oa.ParkedByMe || ob.ParkedByMe || oa.Parker != a.AOR() || oa.CallerURI != alice.AOR() {
		t.Fatalf("lamps: A %+v, B %+v", oa, ob)
	}

	id, err := b.Retrieve(ctxT(t), 705)
	if err != nil {
		t.Fatal(err)
	}
	got := b.waitState(t, id, telephony.StateActive)
	if got.RemoteName != "Alice" || got.RemoteURI != alice.AOR() || got.RetrievedFrom != 705 {
		t.Fatalf("retrieved call = %+v", got)
	}
	m.WaitTone(t, "alice hears B", 1200)
	b.hears(t, 440)
	dark := a.waitOrbit(t, 705, "dark", free)
	b.waitOrbit(t, 705, "dark", free)
	if dark.Left != telephony.LeftRetrieved || dark.RetrievedBy != b.AOR() || dark.CallerName != "Alice" {
		t.Fatalf("A's dark lamp = %+v, want retrieved by %s", dark, b.AOR())
	}
	if ended := a.waitState(t, call.ID, telephony.StateEnded); ended.End != telephony.EndLeftOrbit || ended.Reason != "left orbit 705" {
		t.Fatalf("A's parked call ended with %v, %q", ended.End, ended.Reason)
	}
}

// TestParkAnyLearnsOrbitFromLamp: a park on the next free orbit shows
// parked, and its orbit comes from the lamp that lights for the caller.
func TestParkAnyLearnsOrbitFromLamp(t *testing.T) {
	f := startParkService(t, "", nil)
	a := newConsole(t, "desk", 1000, f.templates)
	a.waitParkService(t, true)
	_, call, _ := aliceOn(t, a, true)
	if err := a.Park(ctxT(t), call.ID, 0); err != nil {
		t.Fatal(err)
	}
	got := a.waitCall(t, "parked with its orbit", func(c telephony.Call) bool {
		return c.ID == call.ID && c.State == telephony.StateParkedAway && c.Orbit != 0
	})
	if got.Orbit != 701 {
		t.Fatalf("parked on %d, want 701 (the first free)", got.Orbit)
	}
	if o := a.waitOrbit(t, 701, "lit", occupiedBy("Alice")); !o.ParkedByMe {
		t.Fatalf("orbit = %+v", o)
	}
}

// parkDirect puts a peer's call straight on an orbit of f (no console).
func parkDirect(t *testing.T, f *parkFixture, who string, orbit string) *peer {
	t.Helper()
	pr := newPeer(t, who, nil)
	var u sip.Uri
	if err := sip.ParseUri("sip:"+orbit+"@"+f.addr, &u); err != nil {
		t.Fatal(err)
	}
	siptest.Recv(t, who+" parked", pr.dial(t, u, false))
	return pr
}

// TestNoLossPark: parks that cannot succeed leave the call with the
// console, held, with the reason; a caller that cannot be transferred is
// parked by relay.
func TestNoLossPark(t *testing.T) {
	t.Run("busy orbit", func(t *testing.T) {
		f := startParkService(t, "", nil)
		parkDirect(t, f, "first", "park-705")
		a := newConsole(t, "desk", 1000, f.templates)
		a.waitParkService(t, true)
		_, call, d := aliceOn(t, a, true)
		m := siptest.StartMedia(t, d, 440)
		if err := a.Park(ctxT(t), call.ID, 705); err != nil {
			t.Fatal(err)
		}
		back := a.waitCall(t, "back on hold", func(c telephony.Call) bool {
			return c.ID == call.ID && c.State == telephony.StateHeld && c.Reason != ""
		})
		if back.Reason != "orbit 705 is busy" || back.Orbit != 0 || back.Token != "" {
			t.Fatalf("call after a busy orbit = %+v", back)
		}
		if err := a.Resume(ctxT(t), call.ID); err != nil {
			t.Fatal(err)
		}
		m.WaitTone(t, "alice is still with the console", 1000)
	})
	t.Run("full lot", func(t *testing.T) {
		f := startParkService(t, "", func(o *park.Options) { o.Orbits = telephony.Lot{First: 701, Last: 702} })
		parkDirect(t, f, "first", "park")
		parkDirect(t, f, "second", "park")
		a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
			f.templates(c)
			c.Park.Orbits.Last = 702
		})
		a.waitParkService(t, true)
		_, call, _ := aliceOn(t, a, true)
		if err := a.Park(ctxT(t), call.ID, 0); err != nil {
			t.Fatal(err)
		}
		back := a.waitCall(t, "back on hold", func(c telephony.Call) bool {
			return c.ID == call.ID && c.State == telephony.StateHeld && c.Reason != ""
		})
		if back.Reason != "parking lot is full" {
			t.Fatalf("reason = %q", back.Reason)
		}
	})
	t.Run("service stopped", func(t *testing.T) {
		f := startParkService(t, "", nil)
		a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
			f.templates(c)
			c.Park.HealthInterval = time.Hour // the console has not noticed yet
			c.Park.Timeout = 1500 * time.Millisecond
		})
		a.waitParkService(t, true)
		_, call, d := aliceOn(t, a, true)
		m := siptest.StartMedia(t, d, 440)
		f.svc.Close()
		if err := a.Park(ctxT(t), call.ID, 703); err != nil {
			t.Fatal(err)
		}
		back := a.waitCall(t, "back on hold", func(c telephony.Call) bool {
			return c.ID == call.ID && c.State == telephony.StateHeld && c.Reason != ""
		})
		if !strings.HasPrefix(back.Reason, "park service unreachable") {
			t.Fatalf("reason = %q", back.Reason)
		}
		if err := a.Resume(ctxT(t), call.ID); err != nil {
			t.Fatal(err)
		}
		m.WaitTone(t, "alice is still with the console", 1000)
	})
	t.Run("service known down", func(t *testing.T) {
		f := startParkService(t, "", nil)
		a := newConsole(t, "desk", 1000, f.templates)
		a.waitParkService(t, true)
		_, call, _ := aliceOn(t, a, true)
		f.svc.Close()
		ev := a.waitParkService(t, false)
		if ev.Reason == "" {
			t.Fatal("no reason for the park service being down")
		}
		if err := a.Park(ctxT(t), call.ID, 703); !errors.Is(err, sbsip.ErrParkUnavailable) {
			t.Fatalf("park with the service down: %v", err)
		}
		if c, _ := a.Call(call.ID); c.State != telephony.StateActive {
			t.Fatalf("call after a refused park = %+v", c)
		}
	})
	t.Run("caller refuses REFER: relay park", func(t *testing.T) {
		f := startParkService(t, "", nil)
		a := newConsole(t, "desk-a", 1000, f.templates)
		b := newConsole(t, "desk-b", 1200, f.templates)
		a.waitParkService(t, true)
		b.waitParkService(t, true)
		_, call, dAlice := aliceOn(t, a, false) // diago without OnRefer answers REFER with 406
		m := siptest.StartMedia(t, dAlice, 440)
		if err := a.Park(ctxT(t), call.ID, 704); err != nil {
			t.Fatal(err)
		}
		parked := a.waitState(t, call.ID, telephony.StateParkedAway)
		if !parked.Relayed || parked.Orbit != 704 {
			t.Fatalf("relay-parked call = %+v", parked)
		}
		if o := b.waitOrbit(t, 704, "lit with Alice", occupiedBy("Alice")); o.Parker != a.AOR() {
			t.Fatalf("orbit 704 on B = %+v", o)
		}
		if o := a.waitOrbit(t, 704, "lit", occupiedBy("Alice")); !o.ParkedByMe {
			t.Fatalf("orbit 704 on A = %+v", o)
		}
		id, err := b.Retrieve(ctxT(t), 704)
		if err != nil {
			t.Fatal(err)
		}
		got := b.waitState(t, id, telephony.StateActive)
		if got.RemoteName != "Alice" {
			t.Fatalf("retrieved = %+v", got)
		}
		m.WaitTone(t, "alice hears B through the relay", 1200)
		b.hears(t, 440)
		if err := b.Hangup(ctxT(t), id); err != nil {
			t.Fatal(err)
		}
		a.waitState(t, call.ID, telephony.StateEnded)
		select {
		case <-dAlice.Context().Done():
		case <-time.After(waitFor):
			t.Fatal("alice's call still up after the retriever hung up")
		}
	})
}

// TestSafeRetrieve: A parks alice on 703; alice gives up; bob is parked
// on 703 by someone else. A's retrieve of 703 uses its token and fails
// cleanly; A never gets bob, who stays parked. A plain retrieve of an
// empty orbit says so.
func TestSafeRetrieve(t *testing.T) {
	f := startParkService(t, "", nil)
	a := newConsole(t, "desk-a", 1000, f.templates)
	a.waitParkService(t, true)
	alice, call, _ := aliceOn(t, a, true)
	if err := a.Park(ctxT(t), call.ID, 703); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, call.ID, telephony.StateParkedAway)
	nd := siptest.Recv(t, "alice parked", alice.referred)
	a.waitOrbit(t, 703, "lit", occupiedBy("Alice"))
	if err := nd.Hangup(ctxT(t)); err != nil { // alice gives up
		t.Fatal(err)
	}
	if dark := a.waitOrbit(t, 703, "dark", free); dark.Left != telephony.LeftGaveUp || dark.CallerURI != alice.AOR() {
		t.Fatalf("dark lamp after alice gave up = %+v", dark)
	}
	parkDirect(t, f, "bob", "park-703")
	a.waitOrbit(t, 703, "lit with Bob", occupiedBy("Bob"))

	id, err := a.Retrieve(ctxT(t), 703)
	if err != nil {
		t.Fatal(err)
	}
	got := a.waitState(t, id, telephony.StateEnded)
	if got.End != telephony.EndOrbitEmpty || got.Reason != "the call you parked on 703 is gone" {
		t.Fatalf("stale safe retrieve = %+v", got)
	}
	if st, _ := f.svc.Orbit(703); !st.Occupied || st.CallerName != "Bob" {
		t.Fatalf("bob is no longer parked: %+v", st)
	}
	id, err = a.Retrieve(ctxT(t), 702)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.waitState(t, id, telephony.StateEnded); got.End != telephony.EndOrbitEmpty || got.Reason != "orbit 702 is empty" {
		t.Fatalf("retrieve of an empty orbit = %+v", got)
	}
	if _, err := a.Retrieve(ctxT(t), 799); !errors.Is(err, sbsip.ErrBadOrbit) {
		t.Fatalf("retrieve outside the lot: %v", err)
	}
}

// TestLampsRecover: the park service stops and starts again on the same
// port; the consoles see it go and come back, and every lamp is right
// again.
func TestLampsRecover(t *testing.T) {
	f := startParkService(t, "", nil)
	addr := f.svc.Addr().String()
	parkDirect(t, f, "first", "park-702")
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		f.templates(c)
		c.Park.LampExpiry = 3 * time.Second
		c.Park.LampRetryMax = time.Second
	})
	a.waitParkService(t, true)
	a.waitOrbit(t, 702, "lit", occupiedBy("First"))

	f.svc.Close()
	a.waitParkService(t, false)

	g := startParkService(t, addr, nil)
	a.waitEvent(t, "park service back", func(e telephony.Event) bool {
		ps, ok := e.(telephony.ParkServiceChanged)
		return ok && ps.Available && a.ParkAvailable()
	})
	a.waitOrbit(t, 702, "dark after the restart", free)
	parkDirect(t, g, "second", "park-704")
	a.waitOrbit(t, 704, "lit after the restart", occupiedBy("Second"))
	// Subscriptions are refreshed (3 s expiry) and still deliver.
	time.Sleep(3 * time.Second)
	parkDirect(t, g, "third", "park-701")
	a.waitOrbit(t, 701, "lit after a refresh", occupiedBy("Third"))
	for _, o := range a.Orbits() {
		want, _ := g.svc.Orbit(o.Number)
		if o.Occupied != want.Occupied || o.CallerName != want.CallerName {
			t.Fatalf("orbit %d: lamp %+v, service %+v", o.Number, o, want)
		}
	}
}

// TestRingBackIsMarked: a call left parked rings back the console that
// parked it, marked with its orbit.
func TestRingBackIsMarked(t *testing.T) {
	f := startParkService(t, "", func(o *park.Options) { o.ParkTime = time.Second })
	a := newConsole(t, "desk", 1000, f.templates)
	a.waitParkService(t, true)
	alice, call, _ := aliceOn(t, a, true)
	if err := a.Park(ctxT(t), call.ID, 706); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, call.ID, telephony.StateParkedAway)
	siptest.StartMedia(t, siptest.Recv(t, "alice parked", alice.referred), 440)
	back := a.waitCall(t, "ring-back", func(c telephony.Call) bool { return c.State == telephony.StateRinging && c.ID != call.ID })
	if back.BackFrom != 706 || back.RemoteName != "Alice" {
		t.Fatalf("ring-back = %+v", back)
	}
	if err := a.Answer(ctxT(t), back.ID); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, back.ID, telephony.StateActive)
	a.hears(t, 440)
}
