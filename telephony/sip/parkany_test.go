package sip_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// readmeTemplates configures a console as the README's Asterisk example
// does: -park-any sip:700@pbx -park-retrieve 'sip:{orbit}@pbx'
// -park-lamp 'sip:{orbit}@pbx', no park-on-orbit template.
func (x *asterisk) readmeTemplates(c *sbsip.Config) {
	x.templates("87{orbit}")(c)
	c.Park.ParkOrbit = ""
}

// TestAsteriskREADMEExampleParksAny: with the README's Asterisk example,
// a park on the next free orbit (what the window's P and drop ask for
// on such a lot) goes to 700 and is confirmed by the lamp that lights
// after it: the console shows the caller it parked on that slot. A
// directed park is refused before anything is sent.
func TestAsteriskREADMEExampleParksAny(t *testing.T) {
	x := startAsterisk(t, 701, 704)
	x.parkOther(701, "Earlier")
	a := newConsole(t, "desk", 1000, x.readmeTemplates)
	a.waitParkService(t, true)
	x.waitSubscribed(t)
	a.waitOrbit(t, 701, "occupied by someone", func(o telephony.Orbit) bool { return o.Occupied })

	_, leg := x.call(t, a.uri(), "Eva Novak", "eva")
	call := answered(t, a)
	siptest.Recv(t, "eva put through", leg)
	if err := a.Park(ctxT(t), call.ID, 703); err == nil || errors.Is(err, sbsip.ErrParkUnavailable) {
		t.Fatalf("directed park on a lot without a park-on-orbit template: %v", err)
	}
	if got, _ := a.Call(call.ID); got.State != telephony.StateActive {
		t.Fatalf("after the refused directed park the call is %s", got.State)
	}
	if err := a.Park(ctxT(t), call.ID, 0); err != nil {
		t.Fatal(err)
	}
	if to := siptest.Recv(t, "REFER", x.referred); to != "700" {
		t.Fatalf("REFER to %q, want the park extension 700", to)
	}
	parked := a.waitState(t, call.ID, telephony.StateParkedAway)
	if parked.Orbit != 702 {
		t.Fatalf("parked = %+v, want on 702 (the first free slot)", parked)
	}
	o := a.waitOrbit(t, 702, "lit with the caller parked", occupiedBy("Eva Novak"))
	if !o.ParkedByMe || o.CallerURI != "sip:eva@127.0.0.1:"+strconv.Itoa(x.port) {
		t.Fatalf("orbit 702 = %+v", o)
	}
}
