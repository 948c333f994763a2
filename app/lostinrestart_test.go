package app_test

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// TestParkedCallerLostInRestart: a caller this console parked who did
// not survive a restart of the park service (the lamp says
// LeftServiceStopped) is in the history as lost when the park service
// stopped, with Call back, which dials the caller and marks the entry
// handled (issue 15). Before, it said only "Alice Martin left 708".
func TestParkedCallerLostInRestart(t *testing.T) {
	h := newHarness(t)
	id := h.answered()
	h.drag(id, 708)
	h.waitSlot(708, widgets.SlotMine)
	h.clock.Advance(130 * time.Second)
	h.fake.LeaveOrbit(708, telephony.LeftServiceStopped, "")
	h.waitSlot(708, widgets.SlotFree)
	want := "Alice Martin on 708 was lost when the park service stopped after 2:10 [call back]"
	h.eventually("the history", func() bool { return h.hasHistory(want) })
	test.Tap(h.button("Call back"))
	if !h.fake.WaitAction("dial "+aliceURI, waitFor) {
		t.Fatalf("call back did not dial: %q", h.fake.Actions())
	}
	h.eventually("the entry handled", func() bool {
		return h.hasHistory("Alice Martin on 708 was lost when the park service stopped after 2:10 [called back]")
	})
}
