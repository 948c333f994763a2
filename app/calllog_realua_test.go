package app_test

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/switchboard/switchboard/internal/demo"
	"github.com/switchboard/switchboard/widgets"
)

// TestRealUserAgentNewCallFromParkedNumber: on the real user agent and
// park service, Alice is parked on 701; a second call from her number (a
// company's shared caller ID) rings while 701 is still lit with her. The
// user agent takes an unmarked call from a parked caller for the park's
// return; the window shows it as the new call it is, and keeps Alice
// parked in the history.
func TestRealUserAgentNewCallFromParkedNumber(t *testing.T) {
	if testing.Short() {
		t.Skip("real SIP on loopback")
	}
	_, phone, h, _ := startStack(t)
	callers, err := demo.New(demo.Options{Console: phone.AOR(), Interval: -1, GiveUp: -1, Logger: testLogger("caller")})
	if err != nil {
		t.Fatal(err)
	}
	if err := callers.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(callers.Close)
	alice := demo.Caller{Name: "Alice Martin", Number: "+442079460018", Sound: func() []int16 { return demo.Tone(440, 2) }}
	if _, err := callers.Dial(alice); err != nil {
		t.Fatal(err)
	}
	pumpUntil(t, "Alice ringing", func() bool {
		s := h.c.Snapshot()
		return len(s.Lines) == 1 && s.Lines[0].State == string(widgets.LineRinging)
	}, h)
	h.key(fyne.KeyReturn)
	pumpUntil(t, "Alice answered", func() bool { return h.c.Snapshot().Lines[0].State == string(widgets.LineActive) }, h)
	h.typeText("p")
	pumpUntil(t, "Alice on 701", func() bool { return h.orbit(701).State == string(widgets.SlotMine) }, h)
	pumpUntil(t, "her card gone", func() bool { return h.c.Snapshot().Lines[0].State != string(widgets.LineActive) }, h)

	if _, err := callers.Dial(alice); err != nil {
		t.Fatal(err)
	}
	pumpUntil(t, "the second call from her number", func() bool {
		for _, l := range h.c.Snapshot().Lines {
			if l.State == string(widgets.LineRinging) || l.State == string(widgets.LineBack) {
				return true
			}
		}
		return false
	}, h)
	h.settle()
	for _, l := range h.c.Snapshot().Lines {
		if l.State == string(widgets.LineBack) || l.Orbit != 0 && l.State == string(widgets.LineRinging) {
			t.Errorf("a new call from a parked caller's number shows as %s from %d", l.State, l.Orbit)
		}
	}
	if o := h.orbit(701); o.State != string(widgets.SlotMine) || o.Caller != "Alice Martin" {
		t.Errorf("701 %+v", o)
	}
	if hist := h.history(); len(hist) == 0 || hist[0] != "Parked Alice Martin on 701" {
		t.Errorf("history %q", hist)
	}
	for _, e := range h.history() {
		if strings.Contains(e, "back from") || strings.Contains(e, "gave up") {
			t.Errorf("history %q", h.history())
		}
	}
}
