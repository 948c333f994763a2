package app_test

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/switchboard/switchboard/app"
)

// restartHarness opens a console whose restart is recorded; closing
// would concern the calls of q.
func restartHarness(t *testing.T, q app.CloseQuestion, events *[]string) *harness {
	return newHarness(t, func(o *app.Options) {
		o.CloseQuestion = func() app.CloseQuestion { *events = append(*events, "asked"); return q }
		o.OnRestart = func() { *events = append(*events, "restart") }
	})
}

// changes numbers the changes saveChange makes.
var changes int

// saveChange saves a change of the settings that needs a restart.
func saveChange(h *harness) {
	h.t.Helper()
	changes++
	h.c.ShowSettings()
	h.entry("Reception").SetText("Front desk " + itoa(changes))
	test.Tap(h.button("Save"))
}

// TestRestartNow: after a change that needs a restart the console
// offers to restart; Restart now calls OnRestart at once when no call is
// up, Later and Esc do not (issue 13, item 6).
func TestRestartNow(t *testing.T) {
	var events []string
	h := restartHarness(t, app.CloseQuestion{}, &events)
	saveChange(h)
	text, btns := closeDialog(t, h)
	if !strings.Contains(text, "starts again") || btns["Restart now"] == nil || btns["Later"] == nil {
		t.Fatalf("the offer says %q with %v", text, btns)
	}
	h.press(fyne.KeyReturn) // Enter restarts nothing
	if len(events) != 0 || !h.dialogOpen() {
		t.Fatalf("Enter on the offer: %v", events)
	}
	h.press(fyne.KeyEscape)
	if len(events) != 0 || h.dialogOpen() {
		t.Fatalf("Esc on the offer: %v, open %v", events, h.dialogOpen())
	}

	saveChange(h)
	_, btns = closeDialog(t, h)
	test.Tap(btns["Later"])
	if len(events) != 0 || h.dialogOpen() {
		t.Fatalf("Later: %v, open %v", events, h.dialogOpen())
	}

	saveChange(h)
	_, btns = closeDialog(t, h)
	test.Tap(btns["Restart now"])
	if strings.Join(events, ",") != "asked,restart" {
		t.Fatalf("Restart now: %v", events)
	}
}

// TestRestartAsksAboutCalls: with calls up, Restart now asks the close
// question first; OnRestart is called only after a decision to close,
// never on Cancel.
func TestRestartAsksAboutCalls(t *testing.T) {
	var events []string
	h := restartHarness(t, app.CloseQuestion{Lines: 1}, &events)
	saveChange(h)
	test.Tap(h.button("Restart now"))
	text, btns := closeDialog(t, h)
	if !strings.Contains(text, "1 call on your lines will be hung up.") {
		t.Fatalf("the question says %q", text)
	}
	if strings.Join(events, ",") != "asked" {
		t.Fatalf("before the decision: %v", events)
	}
	test.Tap(btns["Cancel"])
	if strings.Join(events, ",") != "asked" || h.dialogOpen() {
		t.Fatalf("after Cancel: %v, open %v", events, h.dialogOpen())
	}

	events = nil
	saveChange(h)
	test.Tap(h.button("Restart now"))
	_, btns = closeDialog(t, h)
	test.Tap(btns["Hang up and close"])
	if strings.Join(events, ",") != "asked,restart" {
		t.Fatalf("after the decision: %v", events)
	}
}

// TestNoRestartOffer: an audio change applies at once and offers no
// restart; without OnRestart no restart is offered either.
func TestNoRestartOffer(t *testing.T) {
	var events []string
	h := restartHarness(t, app.CloseQuestion{}, &events)
	h.c.ShowSettings()
	h.tab("Audio")
	h.selectWidget("USB Headset").SetSelected("USB Headset")
	test.Tap(h.button("Save"))
	if h.dialogOpen() || len(events) != 0 {
		t.Fatalf("an audio change offers a restart: %v", events)
	}

	h = newHarness(t)
	saveChange(h)
	if h.dialogOpen() {
		t.Fatal("a restart is offered without OnRestart")
	}
	if msg := h.c.Snapshot().Message; !strings.Contains(msg, "apply when Switchboard starts again") {
		t.Errorf("message %q", msg)
	}
}
