package app_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/app/apptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// busy fills a console with a morning's calls: one ringing, one live,
// one held, orbits parked here and elsewhere, some history.
func (h *harness) busy() {
	h.t.Helper()
	p := h.fake
	p.SetParkService(true, "")
	p.SetRegistration(telephony.RegistrationRegistered, "")
	held := p.Ring("Bob Chen", "sip:+15550142@127.0.0.1:5082")
	h.waitLine(held, widgets.LineRinging)
	h.key(fyne.KeyReturn)
	h.waitLine(held, widgets.LineActive)
	parked := p.Ring("Dan Okafor", "sip:+442079460321@127.0.0.1:5083")
	h.waitLine(parked, widgets.LineRinging)
	h.key(fyne.KeyReturn)
	h.waitLine(parked, widgets.LineActive)
	h.drag(parked, 705)
	h.waitSlot(705, widgets.SlotMine)
	h.clock.Advance(47 * time.Second)
	live := p.Ring("Alice Martin", aliceURI)
	h.waitLine(live, widgets.LineRinging)
	h.key(fyne.KeyReturn)
	h.waitLine(live, widgets.LineActive)
	p.SetOrbit(telephony.Orbit{Number: 702, Occupied: true, CallerName: "Carol Díaz", CallerURI: "sip:+15550173@10.0.0.7",
		Parker: "sip:reception2@10.0.0.9", ParkedAt: h.clock.Now().Add(-130 * time.Second)})
	p.SetOrbit(telephony.Orbit{Number: 711, Occupied: true, CallerURI: "sip:+15550199@10.0.0.7",
		Parker: "sip:reception2@10.0.0.9", ParkedAt: h.clock.Now().Add(-12 * time.Second)})
	h.waitSlot(711, widgets.SlotOccupied)
	h.clock.Advance(5 * time.Second)
	ringing := p.Ring("Eva Novak", "sip:eva.novak@partner.example")
	h.waitLine(ringing, widgets.LineRinging)
	h.tick(3 * time.Second)
	h.settle()
}

// TestLook renders a busy console in Fyne's real theme, light and dark:
// the pictures a receptionist sees (testdata/console/look_*.png).
func TestLook(t *testing.T) {
	for name, v := range map[string]fyne.ThemeVariant{"light": theme.VariantLight, "dark": theme.VariantDark} {
		t.Run(name, func(t *testing.T) {
			a := lookApp(t, v)
			fake := apptest.NewPhone(701, 720)
			h := openConsole(t, a, fake, "Switchboard")
			h.fake = fake
			fake.Clock = h.clock.Now
			h.busy()
			test.AssertRendersToImage(t, "console/look_"+name+".png", h.w.Canvas())
		})
	}
}

// TestViewStates renders each state of the window as markup.
func TestViewStates(t *testing.T) {
	t.Run("busy", func(t *testing.T) {
		h := newHarness(t)
		h.busy()
		test.AssertRendersToMarkup(t, "console/busy.xml", h.w.Canvas())
	})
	t.Run("no_park_service", func(t *testing.T) {
		a := newApp(t)
		fake := apptest.NewPhone(1, 0) // no lot
		h := openConsole(t, a, fake, "Switchboard", func(o *app.Options) {
			o.Audio = app.AudioStatus{Available: false, Text: "no sound device"}
			o.Sound = nil
		})
		h.fake = fake
		s := h.c.Snapshot()
		if s.Park != "Park: off" || len(s.Orbits) != 0 || s.Audio != "Audio unavailable: no sound device" {
			t.Errorf("park %q, %d orbits, audio %q", s.Park, len(s.Orbits), s.Audio)
		}
		test.AssertRendersToMarkup(t, "console/no_park_service.xml", h.w.Canvas())
	})
	t.Run("lot100", func(t *testing.T) {
		a := newApp(t)
		fake := apptest.NewPhone(701, 800)
		h := openConsole(t, a, fake, "Switchboard")
		h.fake = fake
		fake.Clock = h.clock.Now
		for n := 701; n <= 800; n += 3 {
			fake.SetOrbit(telephony.Orbit{Number: n, Occupied: true, CallerName: fmt.Sprintf("Caller %d", n),
				CallerURI: "sip:x@10.0.0.1", Parker: "sip:reception2@10.0.0.9", ParkedAt: t0.Add(-time.Duration(n-700) * 9 * time.Second)})
		}
		h.waitSlot(800, widgets.SlotOccupied)
		h.tick(time.Second)
		test.AssertRendersToMarkup(t, "console/lot100.xml", h.w.Canvas())
	})
	t.Run("startup_error", func(t *testing.T) {
		a := newApp(t)
		w := a.NewWindow("Switchboard")
		w.Resize(fyne.NewSize(720, 360))
		app.StartupError(a, w, errors.New("sip: listen udp 127.0.0.1:5060: address already in use\n(another program, maybe another Switchboard, uses it)"), nil)
		test.AssertRendersToMarkup(t, "console/startup_error.xml", w.Canvas())
		w.Close()
	})
}
