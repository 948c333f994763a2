package app_test

import (
	"testing"

	"fyne.io/fyne/v2"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/widgets"
)

// TestCloseQuestionKeys: the close question is modal: Enter picks
// nothing (least of all a hang-up), the letter keys reach no call, and
// Esc is Cancel, decided once (issue 13, item 1: Esc-then-Enter must
// never hang up).
func TestCloseQuestionKeys(t *testing.T) {
	for _, q := range []app.CloseQuestion{{Lines: 1}, {Lines: 1, Parked: 2}, {Parked: 1, ParkedStay: true}} {
		h := newHarness(t)
		alice := h.fake.Ring("Alice Martin", aliceURI)
		h.waitLine(alice, widgets.LineRinging)
		var got []app.CloseChoice
		h.c.AskClose(q, func(ch app.CloseChoice) { got = append(got, ch) })
		h.press(fyne.KeyReturn)
		h.press(fyne.KeyEnter)
		h.typeKeys("hpx")
		h.settle()
		if len(got) != 0 {
			t.Fatalf("%+v: Enter decided %v", q, got)
		}
		if !h.dialogOpen() {
			t.Fatalf("%+v: Enter closed the question", q)
		}
		if a := h.fake.Actions(); len(a) != 0 {
			t.Fatalf("%+v: keys behind the question acted on the calls: %q", q, a)
		}
		h.press(fyne.KeyEscape)
		if len(got) != 1 || got[0] != app.CloseCancel {
			t.Fatalf("%+v: Esc decided %v, want [cancel]", q, got)
		}
		if h.dialogOpen() {
			t.Fatalf("%+v: Esc left the question open", q)
		}
		if s := h.c.Snapshot(); s.Confirm != "" {
			t.Fatalf("%+v: Esc reached the calls: confirm %q", q, s.Confirm)
		}
		h.press(fyne.KeyEscape) // a second Esc is the console's again
		if len(got) != 1 {
			t.Fatalf("%+v: a second Esc decided again: %v", q, got)
		}
	}
}
