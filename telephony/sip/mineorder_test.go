package sip_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/telephony"
)

// orbitEvents returns the OrbitChanged events of orbit n in events, in
// their order.
func orbitEvents(events []telephony.Event, n int) []telephony.Orbit {
	var out []telephony.Orbit
	for _, ev := range events {
		if oc, ok := ev.(telephony.OrbitChanged); ok && oc.Orbit.Number == n {
			out = append(out, oc.Orbit)
		}
	}
	return out
}

// TestParkShowsMineWhenLampWinsTheRace: the lamp of a park of ours
// lights before the park is recorded as ours (the lamp confirms it), so
// the lamp's goroutine writes the orbit lit but not yet ours, and the
// park's confirmation then writes it ours. The lamp's goroutine is
// paused after its write (the console's lock released) until the
// confirmation's event is out, as a loaded machine may do. The events
// must still end with the orbit ours: a console (the app) shows what the
// last OrbitChanged said. Before, each writer published its state after
// releasing the lock, so the paused lamp's older "lit, not ours" came
// last and the slot never showed as this console's
// (TestRealWindowRestartRingBackNow, 1 run in 5 under load).
func TestParkShowsMineWhenLampWinsTheRace(t *testing.T) {
	f := startParkService(t, "", nil)
	a := newConsole(t, "desk", 1000, f.templates)
	a.waitParkService(t, true)
	// A lamp's park time has whole seconds: one within the second the
	// console's lamps were made would pass for a park of an earlier run
	// of this console (restartMarks.earlierPark), ours from its first
	// lamp. The park is made in a later second.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))

	mine := func(o telephony.Orbit) bool { return o.Occupied && o.ParkedByMe }
	notYet := func(o telephony.Orbit) bool { return o.Occupied && !o.ParkedByMe }
	paused := make(chan struct{})
	var once sync.Once
	a.OnOrbitWritten(func(o telephony.Orbit) {
		if o.Number != 701 || !notYet(o) {
			return
		}
		first := false
		once.Do(func() { first = true })
		if !first {
			return
		}
		close(paused)
		// Hold the lamp's goroutine until the confirmation's OrbitChanged
		// (ours) is out.
		if !a.events.Await(waitFor, func(evs []telephony.Event) bool {
			return slices.ContainsFunc(orbitEvents(evs, 701), mine)
		}) {
			t.Errorf("the park's confirmation published nothing while the lamp's goroutine was paused")
		}
	})

	_, call, _ := aliceOn(t, a, true)
	if err := a.Park(ctxT(t), call.ID, 701); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, call.ID, telephony.StateParkedAway)
	select {
	case <-paused:
	case <-time.After(waitFor):
		t.Fatal("orbit 701 was never written lit and not yet ours: the race this test forces did not happen")
	}
	// Both states are published, whatever their order.
	a.events.Until(t, "orbit 701 published lit-not-ours and ours", func(evs []telephony.Event) bool {
		os := orbitEvents(evs, 701)
		return slices.ContainsFunc(os, mine) && slices.ContainsFunc(os, notYet)
	})
	os := orbitEvents(a.events.All(), 701)
	seenMine := false
	for i, o := range os {
		switch {
		case mine(o):
			seenMine = true
		case notYet(o) && seenMine:
			t.Fatalf("orbit 701's event %d says lit but not ours after an earlier one said ours: %+v (all: %+v)", i, o, os)
		}
	}
	if last := os[len(os)-1]; !mine(last) {
		t.Fatalf("orbit 701's last event %+v: not ours", last)
	}
	if o := a.waitOrbit(t, 701, "ours", mine); o.CallerURI == "" {
		t.Fatalf("orbit 701 = %+v", o)
	}
}
