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

// TestRestartRingBackNow: Restart now with calls parked on the built-in
// park service that keeps them, and "Ring back now" chosen in the
// question: the parked calls ring back here (RingBackNow) with the
// window open and the console does not restart; once the ring-back is
// done it restarts, or, with calls up again, asks again (issue 15).
// Before, Ring back now restarted at once, as Close does.
func TestRestartRingBackNow(t *testing.T) {
	var events []string
	q := app.CloseQuestion{Parked: 2, ParkedReturn: true}
	var done func()
	h := newHarness(t, func(o *app.Options) {
		o.CloseQuestion = func() app.CloseQuestion { events = append(events, "asked"); return q }
		o.OnRestart = func() { events = append(events, "restart") }
		o.RingBackNow = func(d func()) { events = append(events, "ring-back"); done = d }
	})
	saveChange(h)
	test.Tap(h.button("Restart now"))
	_, btns := closeDialog(t, h)
	if btns["Ring back now"] == nil {
		t.Fatalf("buttons %v: no Ring back now", btns)
	}
	test.Tap(btns["Ring back now"])
	h.settle()
	if strings.Join(events, ",") != "asked,ring-back" || done == nil {
		t.Fatalf("after Ring back now: %v", events)
	}
	if msg := h.c.Snapshot().Message; !strings.Contains(msg, "Ringing back 2 parked calls: Switchboard restarts once they are done") {
		t.Errorf("message %q", msg)
	}
	if h.dialogOpen() {
		t.Error("a dialog is open while the calls ring back")
	}

	// Done with a call still on the lines (a caller rung back and
	// talking): asked again, nothing restarted until a decision.
	q = app.CloseQuestion{Lines: 1}
	go done() // from the drain's goroutine
	h.eventually("asked again", func() bool { return strings.Join(events, ",") == "asked,ring-back,asked" && h.dialogOpen() })
	text, btns := closeDialog(t, h)
	if !strings.Contains(text, "1 call on your lines will be hung up.") {
		t.Fatalf("asked again: %q", text)
	}
	test.Tap(btns["Hang up and close"])
	if strings.Join(events, ",") != "asked,ring-back,asked,restart" {
		t.Fatalf("after the second decision: %v", events)
	}

	// Done with nothing left: it restarts without asking.
	events, done = nil, nil
	q = app.CloseQuestion{Parked: 1, ParkedReturn: true}
	saveChange(h)
	test.Tap(h.button("Restart now"))
	_, btns = closeDialog(t, h)
	test.Tap(btns["Ring back now"])
	q = app.CloseQuestion{}
	go done()
	h.eventually("restarted", func() bool { return strings.Join(events, ",") == "asked,ring-back,asked,restart" })
}
