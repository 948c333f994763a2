package sip_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park"
)

// ringbackStory starts a park service whose calls ring back a moment
// after they are parked (and ring for long: the tests end each ring), with
// operator as its fallback, and two consoles on it; desk A parks alice on
// orbit n. It returns A, B and when alice was parked.
func ringbackStory(t *testing.T, n int, operator *peer) (a, b *console, parkedAt time.Time) {
	t.Helper()
	f := startParkService(t, "", func(o *park.Options) {
		o.ParkTime = 500 * time.Millisecond
		o.RingbackTime = waitFor
		o.Fallback = operator.AOR()
	})
	a = newConsole(t, "desk-a", 1000, f.templates)
	b = newConsole(t, "desk-b", 1200, f.templates)
	a.waitParkService(t, true)
	b.waitParkService(t, true)
	alice, call, _ := aliceOn(t, a, true)
	if err := a.Park(ctxT(t), call.ID, n); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, call.ID, telephony.StateParkedAway)
	siptest.StartMedia(t, siptest.Recv(t, "alice parked", alice.referred), 440)
	lit := b.waitOrbit(t, n, "lit with Alice", occupiedBy("Alice"))
	return a, b, lit.ParkedAt
}

// orbitSeen waits for an OrbitChanged of orbit n among c's events after
// the first from that matches, and returns that orbit and the index of
// its event. It reads the events, not the latest state: a ring-back may
// move on before the test looks.
func orbitSeen(t *testing.T, c *console, from, n int, what string, match func(telephony.Orbit) bool) (telephony.Orbit, int) {
	t.Helper()
	var got telephony.Orbit
	at := -1
	c.events.Until(t, c.name+": orbit "+strconv.Itoa(n)+" "+what, func(evs []telephony.Event) bool {
		for i := from; i < len(evs); i++ {
			if oc, ok := evs[i].(telephony.OrbitChanged); ok && oc.Orbit.Number == n && match(oc.Orbit) {
				got, at = oc.Orbit, i
				return true
			}
		}
		return false
	})
	return got, at
}

// ringingBack matches an orbit lit with alice whose call rings back uri.
func ringingBack(uri string) func(telephony.Orbit) bool {
	return func(o telephony.Orbit) bool { return o.Occupied && o.CallerName == "Alice" && o.RingingBack == uri }
}

// TestLampRingingBack: while the park service rings back the parker, then
// the fallback, every console's orbit says whom and since when; nobody
// answers and the orbit shows the call parked again, with when it came
// back; the next ring-back, answered by the parker, darkens it saying so.
func TestLampRingingBack(t *testing.T) {
	operatorRings := make(chan *diago.DialogServerSession, 1)
	operator := newPeer(t, "operator", func(d *diago.DialogServerSession) {
		_ = d.Ringing()
		operatorRings <- d
		<-d.Context().Done()
	})
	a, b, parkedAt := ringbackStory(t, 704, operator)

	back := a.waitCall(t, "the ring-back", func(c telephony.Call) bool { return c.State == telephony.StateRinging && c.BackFrom == 704 })
	seen := map[*console]int{}
	for _, c := range []*console{a, b} {
		o, i := orbitSeen(t, c, 0, 704, "ringing back A", ringingBack(a.AOR()))
		seen[c] = i
		if o.RingingBackSince.IsZero() || o.RingingBackSince.Before(parkedAt) || !o.ReturnedAt.IsZero() || o.Parker != a.AOR() {
			t.Fatalf("%s: orbit ringing back = %+v, parked at %v", c.name, o, parkedAt)
		}
		if mine := c == a; o.ParkedByMe != mine {
			t.Errorf("%s: ParkedByMe %v while ringing back", c.name, o.ParkedByMe)
		}
	}

	// A declines: the service rings the fallback, and the lamps say so.
	if err := a.Reject(ctxT(t), back.ID); err != nil {
		t.Fatal(err)
	}
	ringing, _ := orbitSeen(t, b, seen[b], 704, "ringing back the operator", ringingBack(operator.AOR()))
	if ringing.RingingBackSince.IsZero() {
		t.Errorf("fallback ring-back without since: %+v", ringing)
	}
	d := siptest.Recv(t, "the fallback rung", operatorRings)

	// The operator declines too: the call is parked again.
	if err := d.Respond(480, "Temporarily Unavailable", nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*console{a, b} {
		o, i := orbitSeen(t, c, seen[c], 704, "parked again", func(o telephony.Orbit) bool {
			return o.Occupied && o.RingingBack == "" && !o.ReturnedAt.IsZero()
		})
		seen[c] = i
		if o.CallerName != "Alice" || !o.ParkedAt.Equal(parkedAt) || o.ReturnedAt.Before(ringing.RingingBackSince) || !o.RingingBackSince.IsZero() {
			t.Fatalf("%s: orbit parked again = %+v, want Alice parked at %v, returned after %v", c.name, o, parkedAt, ringing.RingingBackSince)
		}
	}

	// Rung back again a park time later; A answers: dark everywhere, as
	// for a retrieve by A, saying it was the ring-back.
	again := a.waitCall(t, "the second ring-back", func(c telephony.Call) bool {
		return c.State == telephony.StateRinging && c.BackFrom == 704 && c.ID != back.ID
	})
	orbitSeen(t, b, seen[b], 704, "ringing back A again", ringingBack(a.AOR()))
	if err := a.Answer(ctxT(t), again.ID); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, again.ID, telephony.StateActive)
	a.hears(t, 440)
	for _, c := range []*console{a, b} {
		o, _ := orbitSeen(t, c, seen[c], 704, "dark", free)
		if o.Left != telephony.LeftRingBack || o.RetrievedBy != a.AOR() || o.CallerName != "Alice" || o.RingingBack != "" {
			t.Fatalf("%s: dark orbit = %+v, want left by A answering the ring-back", c.name, o)
		}
	}
}

// TestLampRingBackToFallback: the parker declines, the fallback answers:
// the orbits go dark saying the call went to the fallback.
func TestLampRingBackToFallback(t *testing.T) {
	operator := newPeer(t, "operator", nil) // answers at once
	a, b, _ := ringbackStory(t, 705, operator)
	back := a.waitCall(t, "the ring-back", func(c telephony.Call) bool { return c.State == telephony.StateRinging && c.BackFrom == 705 })
	orbitSeen(t, b, 0, 705, "ringing back A", ringingBack(a.AOR()))
	if err := a.Reject(ctxT(t), back.ID); err != nil {
		t.Fatal(err)
	}
	siptest.Recv(t, "the fallback answered", operator.incoming)
	for _, c := range []*console{a, b} {
		o := c.waitOrbit(t, 705, "dark", free)
		if o.Left != telephony.LeftFallback || o.RetrievedBy != operator.AOR() || o.CallerName != "Alice" {
			t.Fatalf("%s: dark orbit = %+v, want left to the fallback %s", c.name, o, operator.AOR())
		}
	}
}
