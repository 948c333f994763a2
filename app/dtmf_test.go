package app_test

import (
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// detail is the small print of call id's card.
func (h *harness) detail(id telephony.CallID) string {
	h.t.Helper()
	l, ok := h.line(id)
	if !ok {
		h.t.Fatalf("no card for %s", id)
	}
	return l.Detail
}

// waitDetail waits until call id's card says want.
func (h *harness) waitDetail(id telephony.CallID, want string) {
	h.t.Helper()
	h.eventually(string(id)+" says "+want, func() bool {
		l, ok := h.line(id)
		return ok && l.Detail == want
	})
}

// TestKeyedDigitsOnTheCard: the digits a caller keys show on its card,
// the last 16 of them, on its own card only, while the call is live or
// held; an ended call says why it ended instead.
func TestKeyedDigitsOnTheCard(t *testing.T) {
	h := newHarness(t)
	alice := h.answered()
	if got := h.detail(alice); got != "" {
		t.Fatalf("a fresh call says %q", got)
	}

	h.fake.Keys(alice, "15#")
	h.waitDetail(alice, "keyed 1 5 #")

	h.fake.Keys(alice, "0123456789*#ABC") // 18 in all: the first 2 go
	const last16 = "keyed # 0 1 2 3 4 5 6 7 8 9 * # A B C"
	h.waitDetail(alice, last16)

	// A second call: answering it holds Alice, who still shows her
	// digits; Bob's card shows only his.
	bob := h.fake.Ring("Bob Chen", "sip:+15550142@10.0.0.7")
	h.waitLine(bob, widgets.LineRinging)
	test.Tap(h.button("Answer"))
	h.waitLine(bob, widgets.LineActive)
	h.waitLine(alice, widgets.LineHeld)
	if got := h.detail(alice); got != last16 {
		t.Fatalf("held Alice says %q", got)
	}
	if got := h.detail(bob); got != "" {
		t.Fatalf("Bob's card says %q before he keyed anything", got)
	}
	h.fake.Keys(bob, "9")
	h.waitDetail(bob, "keyed 9")
	if got := h.detail(alice); got != last16 {
		t.Fatalf("Alice's card says %q after Bob keyed", got)
	}

	h.fake.CallerHangsUp(bob)
	h.waitLine(bob, widgets.LineEnded)
	if got := h.detail(bob); got != "caller hung up" {
		t.Fatalf("Bob's ended card says %q", got)
	}
}
