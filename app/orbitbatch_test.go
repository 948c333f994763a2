package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// queued waits until the console has queued at least n functions for
// Fyne's goroutine, without running any.
func (h *harness) queued(n int) {
	h.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		h.loop.mu.Lock()
		got := len(h.loop.queue)
		h.loop.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the console queued %d functions, want %d", got, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestParkedCallerLeavesInTheSameBatch: on a busy machine the lamp of a
// park of ours can light and go dark (the caller gave up) before Fyne's
// goroutine runs anything, so that the window applies both in one go.
// The slot ends free, the history still says the caller gave up (with
// its call-back), and the orbit keeps nothing of the call: the next
// caller parked there gets an entry of its own.
func TestParkedCallerLeavesInTheSameBatch(t *testing.T) {
	h := newHarness(t)
	id := h.answered()
	h.settle()
	if err := h.fake.Park(context.Background(), id, 708); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(130 * time.Second)
	h.fake.LeaveOrbit(708, telephony.LeftGaveUp, "")
	// Parking, lit, parked away; dark, ended: five events, one pump.
	h.queued(5)
	h.loop.pump()
	if st := h.orbit(708).State; st != string(widgets.SlotFree) {
		t.Errorf("slot 708 after the batch: %s", st)
	}
	if !h.hasHistory("Alice Martin gave up on 708 after 2:10 [call back]") {
		t.Errorf("the history after the batch: %q", h.history())
	}

	bob := h.fake.Ring("Bob Chen", "sip:bob@10.0.0.2")
	h.waitLine(bob, widgets.LineRinging)
	if err := h.fake.Answer(context.Background(), bob); err != nil {
		t.Fatal(err)
	}
	h.waitLine(bob, widgets.LineActive)
	h.drag(bob, 708)
	h.waitSlot(708, widgets.SlotMine)
	h.clock.Advance(65 * time.Second)
	h.fake.LeaveOrbit(708, telephony.LeftRetrieved, "sip:reception2@10.0.0.9:5060")
	h.waitSlot(708, widgets.SlotFree)
	h.historyHas("Bob Chen was retrieved from 708 by reception2 after 1:05")
	if !h.hasHistory("Alice Martin gave up on 708 after 2:10 [call back]") {
		t.Errorf("Alice's entry after Bob's park on 708: %q", h.history())
	}
}
