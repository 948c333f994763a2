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
