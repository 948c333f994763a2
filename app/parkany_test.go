package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/internal/demo"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/sip"
	"github.com/switchboard/switchboard/widgets"
)

// pbxLot is the README's Asterisk example as the console's settings:
// park via 700, retrieve and lamps per slot, and no park-on-orbit
// template unless parkOrbit is set.
func pbxLot(parkOrbit string, directed bool) harnessOpt {
	return func(o *app.Options) {
		o.Settings = app.DefaultSettings()
		o.Settings.ParkMode = app.ParkTemplates
		o.Settings.ParkAny = "sip:700@pbx.example"
		o.Settings.ParkRetrieve = "sip:{orbit}@pbx.example"
		o.Settings.ParkLamp = "sip:{orbit}@pbx.example"
		o.Settings.ParkOrbit = parkOrbit
		o.Settings.ParkDirected = directed
	}
}

// waitParkAction waits for the phone to be asked to park id on orbit (0:
// park-any).
func (h *harness) waitParkAction(id telephony.CallID, orbit int) {
	h.t.Helper()
	want := fmt.Sprintf("park %s %d", id, orbit)
	if !h.fake.WaitAction(want, waitFor) {
		h.t.Fatalf("the phone was not asked to %q: %q", want, h.fake.Actions())
	}
}

// TestParkKeyOnPBXLotWithoutDirectedTemplate: with the README's Asterisk
// settings (no park-on-orbit template), P parks via park-any, and once
// the lamp confirms it the receptionist is told which orbit the call got.
func TestParkKeyOnPBXLotWithoutDirectedTemplate(t *testing.T) {
	h := newHarness(t, pbxLot("", false))
	id := h.answered()
	h.typeText("p")
	h.waitParkAction(id, 0)
	h.waitSlot(701, widgets.SlotMine)
	if o := h.orbit(701); o.Caller != "Alice Martin" {
		t.Fatalf("slot 701: %+v", o)
	}
	h.eventually("the orbit told", func() bool { return h.c.Snapshot().Message == "Parked Alice Martin on 701" })
}

// TestDropOnPBXLotParksAny: on a PBX lot with a park-on-orbit template
// whose directed parks are not trusted (the default), a card dropped on
// 705 parks via park-any; the PBX puts it on 702 (701 is taken) and the
// receptionist is told so.
func TestDropOnPBXLotParksAny(t *testing.T) {
	h := newHarness(t, pbxLot("sip:87{orbit}@pbx.example", false))
	h.parkedByColleague(701, "Bob Chen", "sip:+15550142@10.0.0.7", 10*time.Second)
	id := h.answered()
	h.drag(id, 705)
	h.waitParkAction(id, 0)
	h.waitSlot(702, widgets.SlotMine)
	h.eventually("the orbit told", func() bool {
		return h.c.Snapshot().Message == "Parked Alice Martin on 702: the PBX chose it, not 705"
	})
	if st := h.orbit(705).State; st != string(widgets.SlotFree) {
		t.Fatalf("slot 705 is %s", st)
	}
}

// TestDropOnPBXLotDirectedWhenTrusted: with Settings.ParkDirected on, a
// drop on 705 asks for 705; P asks for the next free orbit. Switchboard's
// own park service is always asked for the orbit chosen.
func TestDropOnPBXLotDirectedWhenTrusted(t *testing.T) {
	h := newHarness(t, pbxLot("sip:87{orbit}@pbx.example", true))
	id := h.answered()
	h.drag(id, 705)
	h.waitParkAction(id, 705)

	own := newHarness(t)
	id = own.answered()
	own.typeText("p")
	own.waitParkAction(id, 701)
}

// TestSettingsSRTPAndParkDirected: ParkDirected is valid with a PBX
// lot; SRTP takes off, offered or required, and needs a TLS account.
func TestSettingsSRTPAndParkDirected(t *testing.T) {
	s := app.DefaultSettings()
	s.ParkMode, s.ParkAny, s.ParkOrbit = app.ParkTemplates, "sip:700@pbx", "sip:87{orbit}@pbx"
	s.ParkRetrieve, s.ParkLamp = "sip:{orbit}@pbx", "sip:{orbit}@pbx"
	s2 := s
	s2.ParkDirected = true
	if err := s2.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"sdes", "on"} {
		s3 := s
		s3.SRTP = bad
		if err := s3.Validate(); err == nil || !strings.Contains(err.Error(), "off, offered or required") {
			t.Fatalf("SRTP %q: %v", bad, err)
		}
	}
	s4 := s
	s4.SRTP = app.SRTPRequired
	s4.AccountAOR = "sip:reception@pbx"
	if err := s4.Validate(); err == nil || !strings.Contains(err.Error(), "needs a TLS registrar") {
		t.Fatalf("SRTP without TLS: %v", err)
	}
	s4.Registrar = "sips:pbx"
	if err := s4.Validate(); err != nil {
		t.Fatalf("SRTP with TLS: %v", err)
	}
}

// TestRealUserAgentParkKeyWithoutDirectedTemplate: the console's real
// user agent configured as for a PBX lot with the README's templates
// (park-any, retrieve, lamp; no park-on-orbit, no safe retrieve), here
// against Switchboard's park service: P on a caller parks it via
// park-any, the slot the lamp lights shows the caller, and the
// receptionist is told the orbit. (Before, P asked for a directed park,
// which such a lot refuses: "this park service takes no directed parks".)
func TestRealUserAgentParkKeyWithoutDirectedTemplate(t *testing.T) {
	if testing.Short() {
		t.Skip("real SIP on loopback")
	}
	svc := startPark(t)
	h0 := "@" + svc.HostPort()
	lot := telephony.Lot{First: 701, Last: 720}
	p, err := sip.New(sip.Config{
		User:        "reception1",
		DisplayName: "Reception1",
		Listen:      []sip.Listener{{Transport: "udp", Addr: "127.0.0.1:0"}, {Transport: "tcp", Addr: "127.0.0.1:0"}},
		Park: sip.ParkConfig{ParkAny: "sip:park" + h0, Retrieve: "sip:{orbit}" + h0, Lamp: "sip:{orbit}" + h0,
			Orbits: lot, HealthInterval: 300 * time.Millisecond},
		Audio:       &siptest.ToneDevice{Freq: 600},
		EventBuffer: 4096,
		Logger:      testLogger("reception1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	h := openConsole(t, newApp(t), p, "Reception 1", realClock, func(o *app.Options) {
		o.Settings = app.DefaultSettings()
		o.Settings.ParkMode, o.Settings.ParkAny = app.ParkTemplates, "sip:park"+h0
		o.Settings.ParkRetrieve, o.Settings.ParkLamp = "sip:{orbit}"+h0, "sip:{orbit}"+h0
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pumpUntil(t, "the park service seen", func() bool { return h.c.Snapshot().Park == "Park service: available" }, h)

	callers, err := demo.New(demo.Options{Console: p.AOR(), Interval: -1, GiveUp: -1, Logger: testLogger("caller")})
	if err != nil {
		t.Fatal(err)
	}
	if err := callers.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(callers.Close)
	if _, err := callers.Dial(demo.Caller{Name: "Alice Martin", Number: "+442079460018",
		Sound: func() []int16 { return demo.Tone(440, 2) }}); err != nil {
		t.Fatal(err)
	}
	var id string
	pumpUntil(t, "the call rings", func() bool {
		for _, l := range h.c.Snapshot().Lines {
			if l.State == string(widgets.LineRinging) {
				id = l.ID
				return true
			}
		}
		return false
	}, h)
	h.key(fyne.KeyReturn)
	pumpUntil(t, "the call is live", func() bool { return h.lineState(telephony.CallID(id)) == string(widgets.LineActive) }, h)
	h.typeText("p")
	pumpUntil(t, "the lamp shows the caller on its orbit", func() bool {
		o := h.orbit(701)
		return o.State == string(widgets.SlotMine) && o.Caller == "Alice Martin"
	}, h)
	pumpUntil(t, "the orbit told", func() bool { return h.c.Snapshot().Message == "Parked Alice Martin on 701" }, h)
}

// TestSettingsDialogSRTPAndParkDirected: the account's SRTP choice and
// the PBX lot's "park on the orbit chosen" are saved; the latter alone
// applies at once (no restart asked), and parks follow it.
func TestSettingsDialogSRTPAndParkDirected(t *testing.T) {
	var saved []app.Settings
	h := newHarness(t, pbxLot("sip:87{orbit}@pbx.example", false), func(o *app.Options) {
		o.OnSettingsSaved = func(s app.Settings) { saved = append(saved, s) }
	})
	h.c.ShowSettings()
	h.tab("Park service")
	checks := find(h.w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) bool {
		c, ok := o.(*widget.Check)
		return ok && strings.HasPrefix(c.Text, "Park on the orbit chosen")
	})
	if len(checks) != 1 {
		t.Fatalf("%d park-on-the-orbit-chosen checks", len(checks))
	}
	checks[0].(*widget.Check).SetChecked(true)
	test.Tap(h.button("Save"))
	if len(saved) != 1 || !saved[0].ParkDirected {
		t.Fatalf("saved %+v", saved)
	}
	if msg := h.c.Snapshot().Message; msg != "Settings saved" {
		t.Fatalf("message %q: the choice applies at once", msg)
	}
	id := h.answered()
	h.drag(id, 705)
	h.waitParkAction(id, 705)

	h.c.ShowSettings()
	h.entry("sip:reception@pbx.example (empty: no account)").SetText("sips:frontdesk@pbx.example")
	h.selectWidget("Required").SetSelected("Required")
	test.Tap(h.button("Save"))
	if len(saved) != 2 || saved[1].SRTP != app.SRTPRequired {
		t.Fatalf("saved %+v", saved)
	}
	if got := app.LoadSettings(h.a.Preferences()); got.SRTP != app.SRTPRequired || !got.ParkDirected {
		t.Fatalf("loaded %+v", got)
	}
}
