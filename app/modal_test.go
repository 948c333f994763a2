package app_test

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/switchboard/switchboard/widgets"
)

// press presses a named key as a real window delivers it: to the
// focused widget when one has the keyboard, else to the window.
func (h *harness) press(name fyne.KeyName) {
	ev := &fyne.KeyEvent{Name: name}
	if f := h.w.Canvas().Focused(); f != nil {
		f.TypedKey(ev)
		return
	}
	h.w.Canvas().OnTypedKey()(ev)
}

// typeKeys types s as a real window delivers it: to the focused widget
// when one has the keyboard, else to the window (test.TypeOnCanvas
// always types on the window).
func (h *harness) typeKeys(s string) {
	for _, r := range s {
		if f := h.w.Canvas().Focused(); f != nil {
			f.TypedRune(r)
			continue
		}
		h.w.Canvas().OnTypedRune()(r)
	}
}

// dialogOpen reports whether a dialog (any overlay) is on the window.
func (h *harness) dialogOpen() bool { return h.w.Canvas().Overlays().Top() != nil }

// TestDialogsAreModal: while the Keys help or the Settings dialog is
// open, Enter, Esc and the letter keys do nothing to the calls; Esc
// closes the dialog (issue 13, item 1: Enter answered a call behind the
// help and Esc asked to hang up on top of it).
func TestDialogsAreModal(t *testing.T) {
	h := newHarness(t)
	alice := h.fake.Ring("Alice Martin", aliceURI)
	h.waitLine(alice, widgets.LineRinging)

	for _, open := range []string{"Keys", "Settings…"} {
		test.Tap(h.button(open))
		if !h.dialogOpen() {
			t.Fatalf("%s opened no dialog", open)
		}
		h.press(fyne.KeyReturn)
		h.typeText("hpdtx7")
		h.press(fyne.KeyBackspace)
		h.settle()
		if a := h.fake.Actions(); len(a) != 0 {
			t.Fatalf("keys behind the %s dialog acted on the calls: %q", open, a)
		}
		if s := h.c.Snapshot(); s.Typed != "" || s.Confirm != "" {
			t.Fatalf("keys behind the %s dialog: typed %q, confirm %q", open, s.Typed, s.Confirm)
		}
		h.press(fyne.KeyEscape)
		if h.dialogOpen() {
			t.Fatalf("Esc did not close the %s dialog", open)
		}
		if s := h.c.Snapshot(); s.Confirm != "" {
			t.Fatalf("Esc on the %s dialog reached the calls: confirm %q", open, s.Confirm)
		}
		if st := h.lineState(alice); st != string(widgets.LineRinging) {
			t.Fatalf("Alice is %s after keys on the %s dialog", st, open)
		}
	}
}

// TestEscThenEnterNeverHangsUp: Esc asks before hanging up, and Enter,
// the reflex that follows an Esc, never says yes: only Y or the dialog's
// own button does (issue 13, item 1).
func TestEscThenEnterNeverHangsUp(t *testing.T) {
	h := newHarness(t)
	alice := h.answered()

	h.press(fyne.KeyEscape)
	if got := h.c.Snapshot().Confirm; got != "Hang up on Alice Martin?" {
		t.Fatalf("confirmation %q", got)
	}
	h.press(fyne.KeyReturn)
	h.press(fyne.KeyEnter)
	h.settle()
	if a := h.fake.Actions(); len(a) != 1 { // the answer
		t.Fatalf("Esc Enter acted: %q", a)
	}
	if got := h.c.Snapshot().Confirm; got == "" || !h.dialogOpen() {
		t.Fatal("Enter closed the confirmation")
	}
	// Esc keeps the call and closes the question.
	h.press(fyne.KeyEscape)
	if h.dialogOpen() || h.c.Snapshot().Confirm != "" {
		t.Fatal("Esc left the confirmation open")
	}
	if st := h.lineState(alice); st != string(widgets.LineActive) {
		t.Fatalf("Alice is %s", st)
	}
	// Y hangs up.
	h.press(fyne.KeyEscape)
	h.typeText("y")
	if !h.fake.WaitAction("hangup "+string(alice), waitFor) {
		t.Fatalf("Y did not hang up: %q", h.fake.Actions())
	}
	if h.dialogOpen() {
		t.Error("the confirmation stayed open after Y")
	}
}

// TestEscClosesDialAndTransfer: Esc closes the Dial and Transfer dialogs
// even while their entry has the keyboard, and reaches no call.
func TestEscClosesDialAndTransfer(t *testing.T) {
	h := newHarness(t)
	test.Tap(h.button("Dial…"))
	h.typeKeys("12")
	h.press(fyne.KeyEscape)
	if h.dialogOpen() {
		t.Fatal("Esc did not close the Dial dialog")
	}

	alice := h.answered()
	test.Tap(h.button("Transfer"))
	h.typeKeys("sip:sales@10.0.0.4")
	h.press(fyne.KeyEscape)
	if h.dialogOpen() {
		t.Fatal("Esc did not close the Transfer dialog")
	}
	h.settle()
	if s := h.c.Snapshot(); s.Confirm != "" || h.lineState(alice) != string(widgets.LineActive) {
		t.Fatalf("Esc on Transfer reached the call: confirm %q, call %s", s.Confirm, h.lineState(alice))
	}
	if a := h.fake.Actions(); len(a) != 1 {
		t.Errorf("actions %q", a)
	}
}
