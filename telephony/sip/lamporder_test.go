package sip_test

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/telephony"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// TestLampNotifyShownBeforeAnswered: a lamp NOTIFY is answered only once
// the orbit shows it, also when the console is slow to show it (its
// orbits held by something else meanwhile). A service that sends a subscription's next NOTIFY
// after the previous one's answer (parkd, Asterisk) then never has two
// of them applied out of order. The console used to answer first and
// apply after: a full document with the orbit free (the first NOTIFY of
// a new subscription) could be applied after the next one lighting the
// orbit, and the lamp stayed dark with a call parked (orbit 704 in a
// loaded run of the backend crash test).
func TestLampNotifyShownBeforeAnswered(t *testing.T) {
	x := startAsterisk(t, 701, 701)
	x.parkOther(701, "Earlier")
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		x.templates("87{orbit}")(c)
		// No health probe flapping under load: it would subscribe again
		// and send a first NOTIFY alongside the test's.
		c.Park.HealthInterval = time.Hour
	})
	a.waitParkService(t, true)
	x.waitSubscribed(t)
	// The first NOTIFY (occupied) shown: nothing else is under way.
	a.waitOrbit(t, 701, "lit by the PBX", func(o telephony.Orbit) bool { return o.Occupied })
	orbit := func() telephony.Orbit {
		for _, o := range a.Orbits() {
			if o.Number == 701 {
				return o
			}
		}
		t.Fatal("no orbit 701")
		return telephony.Orbit{}
	}
	// The orbits cannot be written: the NOTIFY darkening 701 must not
	// be answered until they can and it is shown.
	release := a.HoldOrbits()
	defer release()
	x.mu.Lock()
	delete(x.parked, 701)
	x.mu.Unlock()
	answered := make(chan struct{})
	go func() { x.lamp(701); close(answered) }()
	select {
	case <-answered:
		release()
		t.Fatal("the NOTIFY darkening 701 was answered while the console could not show it")
	case <-time.After(time.Second): // a console that answers first does so in far less
	}
	release()
	<-answered
	if o := orbit(); o.Occupied {
		t.Fatalf("the NOTIFY darkening 701 was answered, the orbit still shows %+v", o)
	}
	x.parkOther(701, "Bob")

	for round := range 100 {
		x.mu.Lock()
		delete(x.parked, 701)
		x.mu.Unlock()
		x.lamp(701) // returns with the console's answer
		if o := orbit(); o.Occupied {
			t.Fatalf("round %d: the NOTIFY darkening 701 was answered, the orbit still shows %+v", round, o)
		}
		x.parkOther(701, "Bob")
		if o := orbit(); !o.Occupied {
			t.Fatalf("round %d: the NOTIFY lighting 701 was answered, the orbit still shows %+v", round, o)
		}
	}
}
