package sip_test

import (
	"fmt"
	"net"
	"strings"
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

// TestLampNotifyOutOfOrderRefused: a NOTIFY of a lamp's dialog with a
// CSeq below one already applied came late (its first copy was lost
// and this is the retransmission, or it was overtaken on the way) and is
// refused 500 (RFC 3261 §12.2.2) without touching the orbit; a burst of
// NOTIFYs sent without waiting for their answers (as a notifier that
// does not queue them sends) leaves the orbit as the last one says. The
// console, whose sipgo hands each request to a goroutine of its own,
// used to apply whichever came last: a full document is the orbit's
// whole state whatever its version, so an older one turned the lamp
// back.
func TestLampNotifyOutOfOrderRefused(t *testing.T) {
	x := startAsterisk(t, 701, 701)
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		x.templates("87{orbit}")(c)
		c.Park.HealthInterval = time.Hour // no re-subscription under load
	})
	a.waitParkService(t, true)
	x.waitSubscribed(t)
	a.waitOrbit(t, 701, "known free", func(o telephony.Orbit) bool { return o.Lamp == telephony.LampKnown && !o.Occupied })

	// The test speaks for the PBX from its address (another port), in
	// the subscription's dialog; the PBX's own later NOTIFYs (the final
	// one at Close) go on above the test's CSeqs.
	pbx, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pbx.Close()
	sub := x.lampSubOf(t, 701)
	x.mu.Lock()
	x.subs[701][len(x.subs[701])-1].cseq += 1000
	x.mu.Unlock()
	console := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(a.Addr("udp").Port())}
	contact := fmt.Sprintf("sip:701@127.0.0.1:%d", x.port)
	send := func(n uint32, state string) {
		t.Helper()
		if _, err := pbx.WriteToUDP(lampNotify(sub, pbx.LocalAddr().(*net.UDPAddr), contact, sub.cseq+n, int(n), state), console); err != nil {
			t.Fatal(err)
		}
	}
	answer := func() string {
		t.Helper()
		_ = pbx.SetReadDeadline(time.Now().Add(waitFor))
		buf := make([]byte, 4096)
		n, _, err := pbx.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("a NOTIFY unanswered: %v", err)
		}
		return strings.SplitN(string(buf[:n]), "\r\n", 2)[0]
	}
	orbit := func() telephony.Orbit {
		for _, o := range a.Orbits() {
			if o.Number == 701 {
				return o
			}
		}
		t.Fatal("no orbit 701")
		return telephony.Orbit{}
	}

	send(20, "confirmed")
	if got := answer(); !strings.HasPrefix(got, "SIP/2.0 200 ") {
		t.Fatalf("NOTIFY lighting 701 answered %q, want 200", got)
	}
	a.waitOrbit(t, 701, "lit", func(o telephony.Orbit) bool { return o.Occupied })
	send(10, "terminated") // older than the one applied
	if got := answer(); !strings.HasPrefix(got, "SIP/2.0 500 ") {
		t.Errorf("a NOTIFY older than the one applied answered %q, want 500", got)
	}
	if o := orbit(); !o.Occupied {
		t.Fatalf("a NOTIFY older than the one applied turned the orbit to %+v", o)
	}

	// A burst, each NOTIFY at once after the last: the newest one (dark)
	// is what the orbit shows once all are answered.
	const burst = 40
	for i := range uint32(burst) {
		state := "confirmed"
		if i%2 == 1 {
			state = "terminated"
		}
		send(100+i, state)
	}
	for range burst {
		if got := answer(); !strings.HasPrefix(got, "SIP/2.0 200 ") && !strings.HasPrefix(got, "SIP/2.0 500 ") {
			t.Fatalf("a NOTIFY of the burst answered %q", got)
		}
	}
	if o := orbit(); o.Occupied {
		t.Fatalf("after a burst whose newest NOTIFY darkens 701, the orbit shows %+v", o)
	}
}
