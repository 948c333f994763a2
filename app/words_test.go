package app_test

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/internal/syncbuf"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// dialogLabels returns the texts of the labels on the open dialog.
func (h *harness) dialogLabels() []string {
	var out []string
	top := h.w.Canvas().Overlays().Top()
	if top == nil {
		return nil
	}
	for _, o := range find(top, func(o fyne.CanvasObject) bool { _, ok := o.(*widget.Label); return ok }) {
		out = append(out, o.(*widget.Label).Text)
	}
	return out
}

// TestDialFailureKeepsNumber: a call that cannot be placed leaves the
// Dial dialog open with the number typed, says in plain words what
// happened and what to do, in the dialog and the status bar, and puts
// the phone's technical words in the log only (issue 13, item 9: the
// window said 'Dial 1234: dial "1234": a number needs an account's
// domain: not a number or SIP URI' and the number was gone).
func TestDialFailureKeepsNumber(t *testing.T) {
	var logged syncbuf.Buffer
	h := newHarness(t, func(o *app.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	})
	technical := fmt.Errorf("sip: dial %q: a number needs an account's domain: %w", "1234", telephony.ErrBadTarget)
	h.fake.FailNext("dial", technical)

	test.Tap(h.button("Dial…"))
	h.typeKeys("1234")
	test.Tap(h.button("Call"))
	if !h.fake.WaitAction("dial 1234", waitFor) {
		t.Fatalf("not dialled: %q", h.fake.Actions())
	}
	const want = "Could not call 1234: a number needs a PBX account to be called. " +
		"Set one up in Settings, or type a full SIP address such as sip:1234@host."
	h.eventually("the words in the status bar", func() bool { return h.c.Snapshot().Message == want })
	if !h.dialogOpen() {
		t.Fatal("the Dial dialog closed on the failure")
	}
	pads := find(h.w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) bool { _, ok := o.(*widgets.DialPad); return ok })
	if len(pads) != 1 || pads[0].(*widgets.DialPad).Number != "1234" {
		t.Fatal("the number typed is gone")
	}
	found := false
	for _, s := range h.dialogLabels() {
		found = found || s == want
		if strings.Contains(s, "sip:") && s != want || strings.Contains(s, "domain") {
			t.Errorf("the dialog shows technical words: %q", s)
		}
	}
	if !found {
		t.Errorf("the dialog does not say what happened: %q", h.dialogLabels())
	}
	if !strings.Contains(logged.String(), "a number needs an account's domain") {
		t.Errorf("the technical detail is not in the log: %q", logged.String())
	}

	// Tried again, it calls and the dialog closes.
	test.Tap(h.button("Call"))
	h.eventually("the call on the lines, the dialog closed", func() bool {
		return len(h.c.Snapshot().Lines) == 1 && !h.dialogOpen()
	})
}

// TestUnknownErrorInPlainWords: an error of no kind telephony names is
// not shown as the phone worded it: the window says something went
// wrong and what to do, the log has the words.
func TestUnknownErrorInPlainWords(t *testing.T) {
	var logged syncbuf.Buffer
	h := newHarness(t, func(o *app.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	})
	id := h.answered()
	h.fake.FailNext("hold", fmt.Errorf("sip: hold %s: re-INVITE: 488 Not Acceptable Here", id))
	h.typeText("h")
	const want = "Could not put the call on hold: something went wrong. Try again; the log has the details."
	h.eventually("the words", func() bool { return h.c.Snapshot().Message == want })
	if !strings.Contains(logged.String(), "488 Not Acceptable Here") {
		t.Errorf("log %q", logged.String())
	}
}

// TestTransferFailureKeepsTarget: a transfer the phone refuses leaves
// the Transfer dialog open with the address typed and says why in plain
// words.
func TestTransferFailureKeepsTarget(t *testing.T) {
	h := newHarness(t)
	id := h.answered()
	h.fake.FailNext("transfer", fmt.Errorf("sip: transfer %s: refer: %w", id, telephony.ErrBadTarget))
	h.typeText("t")
	h.typeKeys("sales desx")
	h.press(fyne.KeyReturn)
	const want = "Could not transfer the call to sales desx: that is not a phone number or SIP address. " +
		"Check it and try again (a SIP address looks like sip:name@host)."
	h.eventually("the words", func() bool { return h.c.Snapshot().Message == want })
	if !h.dialogOpen() {
		t.Fatal("the Transfer dialog closed on the failure")
	}
	if !slices.Contains(h.dialogLabels(), want) {
		t.Errorf("dialog labels %q", h.dialogLabels())
	}
	if st := h.lineState(id); st != string(widgets.LineActive) {
		t.Errorf("the call is %s", st)
	}
	// The address typed is still there: corrected, it transfers.
	h.press(fyne.KeyBackspace)
	h.typeKeys("k")
	h.press(fyne.KeyReturn)
	if !h.fake.WaitAction("transfer "+string(id)+" sales desk", waitFor) {
		t.Fatalf("the corrected address was not transferred to: %q", h.fake.Actions())
	}
	h.eventually("the dialog closed", func() bool { return !h.dialogOpen() })
}
