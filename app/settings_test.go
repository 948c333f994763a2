package app_test

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

func TestSettingsDefaultsAndPersistence(t *testing.T) {
	a := newApp(t)
	p := a.Preferences()
	if app.Saved(p) {
		t.Fatal("fresh preferences say settings were saved")
	}
	s := app.LoadSettings(p)
	if s != app.DefaultSettings() {
		t.Fatalf("fresh settings %+v, want the defaults", s)
	}
	if s.Listen != "127.0.0.1:5060" || s.ParkMode != app.ParkEmbedded || s.ParkService != "127.0.0.1:5070" || s.Orbits != (telephony.Lot{First: 701, Last: 720}) {
		t.Errorf("defaults %+v", s)
	}
	s.AccountAOR, s.Password, s.ParkMode, s.ParkService = "sip:reception@pbx.example", "secret", app.ParkService, "10.0.0.5:5070"
	s.Playback = "usb-headset"
	s.TLSCAFile, s.TLSCertFile, s.TLSKeyFile = "/etc/ssl/pbx-ca.pem", "/etc/ssl/desk.pem", "/etc/ssl/desk.key"
	s.Save(p)
	if got := app.LoadSettings(p); got != s || !app.Saved(p) {
		t.Errorf("loaded %+v, saved %+v", got, s)
	}
}

func TestSettingsValidate(t *testing.T) {
	for _, c := range []struct {
		mod  func(*app.Settings)
		want string // in the error; empty: valid
	}{
		{func(*app.Settings) {}, ""},
		{func(s *app.Settings) { s.Listen = "localhost:5060" }, "the host must be an IP address"},
		{func(s *app.Settings) { s.Listen = "127.0.0.1" }, "not host:port"},
		{func(s *app.Settings) { s.Password = "x" }, "a password or registrar needs an address"},
		{func(s *app.Settings) { s.AccountAOR = "reception@pbx" }, "must start with sip:"},
		{func(s *app.Settings) { s.Orbits = telephony.Lot{First: 720, Last: 701} }, "orbits 720-701: reversed range"},
		{func(s *app.Settings) { s.Orbits = telephony.Lot{First: 1, Last: 500} }, "orbits 1-500: more than 200 orbits"},
		{func(s *app.Settings) { s.Orbits = telephony.Lot{First: 0, Last: 20} }, "orbits 0-20: orbits must be positive numbers"},
		{func(s *app.Settings) { s.ParkMode = app.ParkTemplates }, "park, retrieve and lamp URIs are required"},
		{func(s *app.Settings) {
			s.ParkMode, s.ParkAny, s.ParkRetrieve, s.ParkLamp = app.ParkTemplates, "sip:700@pbx", "sip:{orbit}@pbx", "sip:700@pbx"
		}, "the lamp URI \"sip:700@pbx\" has no {orbit}"},
		{func(s *app.Settings) { s.ParkMode, s.Orbits = app.ParkOff, telephony.Lot{} }, ""},
		{func(s *app.Settings) { s.ParkMode = "elsewhere" }, "park mode"},
		{func(s *app.Settings) { s.AccountAOR, s.TLSCAFile = "sips:reception@pbx", "/etc/ssl/pbx-ca.pem" }, ""},
		{func(s *app.Settings) {
			s.AccountAOR, s.Registrar, s.TLSCAFile = "sip:reception@pbx", "sip:pbx;transport=TLS", "/etc/ssl/pbx-ca.pem"
		}, ""},
		{func(s *app.Settings) { s.TLSCAFile = "/etc/ssl/pbx-ca.pem" }, "TLS files need an address"},
		{func(s *app.Settings) { s.AccountAOR, s.TLSCAFile = "sip:reception@pbx", "/etc/ssl/pbx-ca.pem" }, "TLS files need a TLS registrar"},
		{func(s *app.Settings) {
			s.AccountAOR, s.OutboundProxy, s.TLSCAFile = "sip:reception@pbx", "sips:sbc.example", "/etc/ssl/pbx-ca.pem"
		}, ""},
		{func(s *app.Settings) { s.AccountAOR, s.TLSCertFile = "sips:reception@pbx", "desk.pem" }, "needs both its certificate and its key file"},
	} {
		s := app.DefaultSettings()
		c.mod(&s)
		err := s.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", s, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: error %v, want %q", s, err, c.want)
		}
	}
}

// entry finds the entry of the open dialog with the given placeholder.
func (h *harness) entry(placeholder string) *widget.Entry {
	h.t.Helper()
	e, _ := app.EntryOf(h.field(placeholder))
	return e
}

// field finds the text field of the open dialog with the given
// placeholder, as the window has it: what takes the keyboard.
func (h *harness) field(placeholder string) interface {
	fyne.CanvasObject
	fyne.Focusable
} {
	h.t.Helper()
	for _, o := range find(h.w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) bool {
		e, ok := app.EntryOf(o)
		return ok && e.PlaceHolder == placeholder
	}) {
		return o.(interface {
			fyne.CanvasObject
			fyne.Focusable
		})
	}
	h.t.Fatalf("no entry %q in the dialog", placeholder)
	return nil
}

// TestSettingsEscFromAField: Esc closes the Settings dialog while one of
// its text fields has the keyboard, and reaches no call (issue 13,
// item 1: the field kept Esc, the dialog stayed).
func TestSettingsEscFromAField(t *testing.T) {
	for _, tc := range []struct{ tab, placeholder string }{
		{"Console", "Reception"},
		{"Console", "the address's user"},
		{"Console", ""}, // the password
		{"Park service", "701-720"},
	} {
		t.Run(tc.tab+"/"+tc.placeholder, func(t *testing.T) {
			h := newHarness(t)
			alice := h.fake.Ring("Alice Martin", aliceURI)
			h.waitLine(alice, widgets.LineRinging)
			h.c.ShowSettings()
			h.tab(tc.tab)
			f := h.field(tc.placeholder)
			h.w.Canvas().Focus(f)
			h.typeKeys("x")
			if e, _ := app.EntryOf(f); !strings.Contains(e.Text, "x") {
				t.Fatalf("the field did not get the keys: %q", e.Text)
			}
			h.press(fyne.KeyEscape)
			if h.dialogOpen() {
				t.Fatal("Esc in a field did not close the Settings dialog")
			}
			h.settle()
			if s := h.c.Snapshot(); s.Confirm != "" {
				t.Errorf("Esc reached the calls: confirm %q", s.Confirm)
			}
			if a := h.fake.Actions(); len(a) != 0 {
				t.Errorf("keys acted on the calls: %q", a)
			}
			if got := app.LoadSettings(h.a.Preferences()); got != app.DefaultSettings() {
				t.Errorf("Esc saved %+v", got)
			}
		})
	}
}

func (h *harness) selectWidget(has string) *widget.Select {
	h.t.Helper()
	for _, o := range find(h.w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) bool {
		s, ok := o.(*widget.Select)
		return ok && strings.Contains(strings.Join(s.Options, "|"), has)
	}) {
		return o.(*widget.Select)
	}
	h.t.Fatalf("no select with %q in the dialog", has)
	return nil
}

func (h *harness) tab(name string) {
	h.t.Helper()
	tabs := find(h.w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) bool {
		_, ok := o.(interface{ SelectIndex(int) })
		return ok
	})
	if len(tabs) == 0 {
		h.t.Fatal("no tabs in the dialog")
	}
	at := tabs[0].(interface {
		SelectIndex(int)
	})
	at.SelectIndex(map[string]int{"Console": 0, "Park service": 1, "Audio": 2}[name])
}

func TestSettingsDialog(t *testing.T) {
	var saved []app.Settings
	h := newHarness(t, func(o *app.Options) {
		o.OnSettingsSaved = func(s app.Settings) { saved = append(saved, s) }
	})
	h.c.ShowSettings()
	test.Type(h.entry("Reception"), "Front desk")
	h.entry("sip:reception@pbx.example (empty: no account)").SetText("sips:frontdesk@pbx.example")
	h.entry("CA PEM file of a sips: registrar (empty: the system's CAs)").SetText(" /etc/ssl/pbx-ca.pem ")
	h.tab("Park service")
	h.selectWidget("Another PBX").SetSelected("A Switchboard park service")
	h.entry("127.0.0.1:5070").SetText("10.0.0.5:5070")
	orbits := h.entry("701-720")
	orbits.SetText("720-701")
	test.Tap(h.button("Save"))
	// A reversed range: the dialog stays open and says why.
	if h.w.Canvas().Overlays().Top() == nil || len(saved) != 0 {
		t.Fatal("invalid settings were saved")
	}
	if errs := find(h.w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) bool {
		l, ok := o.(*widget.Label)
		return ok && strings.Contains(l.Text, `orbits "720-701": reversed range`)
	}); len(errs) != 1 {
		t.Error("the dialog does not say what is wrong")
	}
	orbits.SetText("701-740")
	h.tab("Audio")
	h.selectWidget("USB Headset").SetSelected("USB Headset")
	test.Tap(h.button("Save"))
	if len(saved) != 1 {
		t.Fatalf("saved %d times", len(saved))
	}
	want := app.DefaultSettings()
	want.DisplayName, want.AccountAOR = "Front desk", "sips:frontdesk@pbx.example"
	want.TLSCAFile = "/etc/ssl/pbx-ca.pem"
	want.ParkMode, want.ParkService, want.Orbits.Last = app.ParkService, "10.0.0.5:5070", 740
	want.Playback = "usb-headset"
	if saved[0] != want {
		t.Errorf("saved %+v\nwant  %+v", saved[0], want)
	}
	if got := app.LoadSettings(h.a.Preferences()); got != want {
		t.Errorf("preferences hold %+v", got)
	}
	if msg := h.c.Snapshot().Message; msg != "Settings saved: account, address and park changes apply when Switchboard starts again" {
		t.Errorf("message %q", msg)
	}
	h.eventually("the headset chosen", func() bool {
		play, _, _ := h.sound.Chosen()
		return play == "usb-headset"
	})
}
