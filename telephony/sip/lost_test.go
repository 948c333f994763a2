package sip_test

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park"
)

// TestLampSaysLost: a caller whose phone stops answering the park
// service's probes (481 to the in-dialog OPTIONS) is taken off its orbit
// as lost; the lamp's terminated dialog says event="rejected", which the
// console reports as telephony.LeftLost (it reported no outcome at all).
func TestLampSaysLost(t *testing.T) {
	f := startParkService(t, "", func(o *park.Options) { o.ProbeInterval = time.Second })
	a := newConsole(t, "desk", 1000, f.templates)
	a.waitParkService(t, true)
	vanished := parkForgetful(t, f, "vanished", 704)
	a.waitOrbit(t, 704, "lit", func(o telephony.Orbit) bool { return o.Occupied })
	dark := a.waitOrbit(t, 704, "dark", free)
	if dark.Left != telephony.LeftLost || dark.CallerURI != vanished.AOR() {
		t.Fatalf("lamp after the caller was lost = %+v, want left %v by %s", dark, telephony.LeftLost, vanished.AOR())
	}
}
