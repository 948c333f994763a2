package app_test

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/app"
)

// closeDialog returns the open close question's text and buttons.
func closeDialog(t *testing.T, h *harness) (string, map[string]*widget.Button) {
	t.Helper()
	top := h.w.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no dialog open")
	}
	var text []string
	btns := map[string]*widget.Button{}
	find(top, func(o fyne.CanvasObject) bool {
		switch v := o.(type) {
		case *widget.Label:
			text = append(text, v.Text)
		case *widget.Button:
			btns[v.Text] = v
		}
		return false
	})
	return strings.Join(text, " "), btns
}

// TestCloseQuestion: closing with calls up asks, with the buttons that
// fit where the parked calls are; each button decides its choice once.
func TestCloseQuestion(t *testing.T) {
	for _, c := range []struct {
		name    string
		q       app.CloseQuestion
		text    []string
		buttons []string
		choice  app.CloseChoice // of the first button
	}{
		{"lines only", app.CloseQuestion{Lines: 2}, []string{"2 calls on your lines will be hung up."},
			[]string{"Hang up and close", "Cancel"}, app.CloseHangUpAll},
		{"parked on a separate service", app.CloseQuestion{Lines: 1, Parked: 3, ParkedStay: true},
			[]string{"1 call on your lines will be hung up.", "3 calls you parked will stay parked on the park service"},
			[]string{"Keep parked calls parked and close", "Cancel"}, app.CloseKeepParked},
		{"parked on the built-in service", app.CloseQuestion{Parked: 1},
			[]string{"1 call parked on this console's built-in park service will be hung up"},
			[]string{"Hang up all and close", "Cancel"}, app.CloseHangUpAll},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			if !c.q.NeedsAsking() {
				t.Fatal("NeedsAsking false with calls up")
			}
			var got []app.CloseChoice
			h.c.AskClose(c.q, func(ch app.CloseChoice) { got = append(got, ch) })
			text, btns := closeDialog(t, h)
			for _, want := range c.text {
				if !strings.Contains(text, want) {
					t.Errorf("question %q lacks %q", text, want)
				}
			}
			if len(btns) != len(c.buttons) {
				t.Errorf("buttons %v, want %q", btns, c.buttons)
			}
			for _, b := range c.buttons {
				if btns[b] == nil {
					t.Fatalf("no %q button among %v", b, btns)
				}
			}
			test.Tap(btns[c.buttons[0]])
			test.Tap(btns[c.buttons[0]]) // a second tap decides nothing more
			if len(got) != 1 || got[0] != c.choice {
				t.Errorf("choices %v, want [%v]", got, c.choice)
			}
			if h.w.Canvas().Overlays().Top() != nil {
				t.Error("the dialog stays open after the choice")
			}

			got = nil
			h.c.AskClose(c.q, func(ch app.CloseChoice) { got = append(got, ch) })
			_, btns = closeDialog(t, h)
			test.Tap(btns["Cancel"])
			if len(got) != 1 || got[0] != app.CloseCancel {
				t.Errorf("Cancel gave %v", got)
			}
		})
	}
	if (app.CloseQuestion{}).NeedsAsking() {
		t.Error("NeedsAsking true with no calls")
	}
}

// TestCloseQuestionParkedHere: with the built-in park service keeping
// its calls, closing says the parked calls return at the next start and
// offers Close, Ring back now and Cancel; each decides its own choice,
// and Esc is Cancel.
func TestCloseQuestionParkedHere(t *testing.T) {
	q := app.CloseQuestion{Lines: 1, Parked: 3, Bridged: 1, ParkedReturn: true}
	for _, c := range []struct {
		tap  string // "" presses Esc
		want app.CloseChoice
	}{
		{"Close", app.CloseKeepParked},
		{"Ring back now", app.CloseRingBack},
		{"Cancel", app.CloseCancel},
		{"", app.CloseCancel},
	} {
		name := c.tap
		if name == "" {
			name = "Esc"
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			var got []app.CloseChoice
			h.c.AskClose(q, func(ch app.CloseChoice) { got = append(got, ch) })
			text, btns := closeDialog(t, h)
			for _, want := range []string{
				"1 call on your lines will be hung up.",
				"3 calls are parked here: they will return to you when you reopen Switchboard.",
				"1 call another console retrieved from here goes through this one: it is silent until you reopen Switchboard.",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("question %q lacks %q", text, want)
				}
			}
			if len(btns) != 3 || btns["Close"] == nil || btns["Ring back now"] == nil || btns["Cancel"] == nil {
				t.Fatalf("buttons %v, want Close, Ring back now, Cancel", btns)
			}
			if c.tap == "" {
				h.press(fyne.KeyEscape)
			} else {
				test.Tap(btns[c.tap])
			}
			if len(got) != 1 || got[0] != c.want {
				t.Errorf("choices %v, want [%v]", got, c.want)
			}
			if h.dialogOpen() {
				t.Error("the question stays open after the choice")
			}
		})
	}

	// One parked call, nothing else: singular words; only bridged calls:
	// nothing to ring back.
	h := newHarness(t)
	h.c.AskClose(app.CloseQuestion{Parked: 1, ParkedReturn: true}, func(app.CloseChoice) {})
	if text, _ := closeDialog(t, h); !strings.HasPrefix(text, "1 call is parked here: it will return to you when you reopen Switchboard.") {
		t.Errorf("one parked call: %q", text)
	}
	h.press(fyne.KeyEscape)
	bridged := app.CloseQuestion{Bridged: 2, ParkedReturn: true}
	if !bridged.NeedsAsking() {
		t.Error("NeedsAsking false with bridged calls only")
	}
	h.c.AskClose(bridged, func(app.CloseChoice) {})
	text, btns := closeDialog(t, h)
	if !strings.Contains(text, "2 calls another console retrieved from here go through this one: they are silent until you reopen Switchboard.") {
		t.Errorf("bridged calls only: %q", text)
	}
	if len(btns) != 2 || btns["Close"] == nil || btns["Cancel"] == nil {
		t.Errorf("bridged calls only: buttons %v, want Close and Cancel", btns)
	}
}
