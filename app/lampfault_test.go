package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park"
	"github.com/switchboard/switchboard/telephony/sip"
	"github.com/switchboard/switchboard/widgets"
)

const lampsRefused = "Orbit lamps refused by the park service (wrong password?)"

// TestLampFaultShowsUnknown: an orbit whose lamp failed shows unknown
// (greyed), not free nor its last state, and the status bar says why in
// place of "available"; the call parked there is not taken for gone.
// Known again, the slot shows the lamp's state and the bar "available".
func TestLampFaultShowsUnknown(t *testing.T) {
	h := newHarness(t)
	h.fake.SetParkService(true, "")
	h.eventually("park available", func() bool { return h.c.Snapshot().Park == "Park service: available" })
	bob := telephony.Orbit{Number: 702, Occupied: true, CallerName: "Bob", CallerURI: "sip:bob@example.com", Parker: "sip:desk2@example.com"}
	h.fake.SetOrbit(bob)
	h.waitSlot(702, widgets.SlotOccupied)

	for _, o := range []telephony.Orbit{{Number: 701, Lamp: telephony.LampRefused}, func() telephony.Orbit { o := bob; o.Lamp = telephony.LampRefused; return o }()} {
		h.fake.SetOrbit(o)
	}
	h.waitSlot(701, widgets.SlotUnavailable)
	h.waitSlot(702, widgets.SlotUnavailable)
	h.eventually("the bar says why", func() bool { return h.c.Snapshot().Park == lampsRefused })
	// The service's health probe still answers: the lamps' fault stays.
	h.fake.SetParkService(true, "")
	h.settle()
	if got := h.c.Snapshot().Park; got != lampsRefused {
		t.Errorf("status after a health answer = %q, want %q", got, lampsRefused)
	}

	h.fake.SetOrbit(telephony.Orbit{Number: 701})
	h.waitSlot(701, widgets.SlotFree)
	if got := h.c.Snapshot().Park; got != lampsRefused {
		t.Errorf("status with 702 still refused = %q, want %q", got, lampsRefused)
	}
	h.fake.SetOrbit(bob)
	h.waitSlot(702, widgets.SlotOccupied)
	h.eventually("available again", func() bool { return h.c.Snapshot().Park == "Park service: available" })
	for _, e := range h.history() {
		if strings.Contains(e, "Bob") {
			t.Errorf("history %q: Bob never left 702", e)
		}
	}
}

// TestRealLampsRefusedByParkService: the real console against a park
// service that asks a password the console does not have: every lamp
// SUBSCRIBE is refused, the slots show unknown and the status bar says
// the lamps are refused, though the service answers its health probe.
// The service restarted with the console's password takes the lamps:
// the slots show its state and the bar "available".
func TestRealLampsRefusedByParkService(t *testing.T) {
	if testing.Short() {
		t.Skip("real SIP on loopback")
	}
	opts := park.Options{Orbits: telephony.Lot{First: 701, Last: 720}, Logger: testLogger("park"),
		Username: "reception1", Password: "right"}
	svc := siptest.StartPark(t, opts)
	addr := svc.HostPort()

	pc := sip.ServiceTemplates(addr, telephony.Lot{First: 701, Last: 720})
	pc.HealthInterval = 300 * time.Millisecond
	pc.LampRetryMax = time.Second
	phone, err := sip.New(sip.Config{
		User:        "reception1",
		Listen:      []sip.Listener{{Transport: "udp", Addr: "127.0.0.1:0"}},
		Account:     sip.Account{AOR: "sip:reception1@" + addr, Username: "reception1", Password: "wrong"},
		Park:        pc,
		Audio:       &siptest.ToneDevice{Freq: 600},
		EventBuffer: 4096,
		Logger:      testLogger("reception1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = phone.Close() })
	h := openConsole(t, newApp(t), phone, "Reception 1", realClock)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	err = phone.Start(ctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}

	pumpUntil(t, "lamps refused", func() bool {
		return h.c.Snapshot().Park == lampsRefused && h.orbit(701).State == string(widgets.SlotUnavailable) &&
			h.orbit(720).State == string(widgets.SlotUnavailable)
	}, h)

	svc.Close()
	opts.Listen, opts.Password = addr, "wrong"
	siptest.StartPark(t, opts)
	pumpUntil(t, "lamps taken", func() bool {
		if h.c.Snapshot().Park != "Park service: available" {
			return false
		}
		for n := 701; n <= 720; n++ {
			if h.orbit(n).State != string(widgets.SlotFree) {
				return false
			}
		}
		return true
	}, h)
}
