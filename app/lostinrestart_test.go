package app_test

import (
	"path/filepath"
	"strings"
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

// TestParkedCallerLostUnseen: a caller this console parked before it
// closed, whom the park service lost in its restart before the console
// opened again and saw the orbit lit (the lamp comes first free, as
// LeftServiceStopped), is said lost in the entry the call log kept,
// with Call back (issue 15).
func TestParkedCallerLostUnseen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.db")
	log := openLog(t, path)
	h := newHarness(t, withLog(log))
	id := h.answered()
	h.drag(id, 708)
	h.waitSlot(708, widgets.SlotMine)
	h.historyHas("Parked Alice Martin on 708")
	parkedAt := h.clock.Now()
	h.c.Close()
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}

	log = openLog(t, path)
	h = newHarness(t, withLog(log))
	h.historyHas("Parked Alice Martin on 708")
	h.clock.Advance(90 * time.Second)
	h.fake.SetOrbit(telephony.Orbit{Number: 708, Left: telephony.LeftServiceStopped, CallerName: "Alice Martin",
		CallerURI: aliceURI, Parker: "sip:console@127.0.0.1:5060", ParkedAt: parkedAt})
	h.historyHas("Alice Martin on 708 was lost when the park service stopped after 1:30 [call back]")
	test.Tap(h.button("Call back"))
	if !h.fake.WaitAction("dial "+aliceURI, waitFor) {
		t.Fatalf("call back did not dial: %q", h.fake.Actions())
	}

	// Another console's caller lost the same way is not this console's.
	h.fake.SetOrbit(telephony.Orbit{Number: 709, Left: telephony.LeftServiceStopped, CallerName: "Bob Chen",
		CallerURI: "sip:bob@10.0.0.2", Parker: "sip:desk2@127.0.0.1:5062", ParkedAt: parkedAt})
	h.settle()
	for _, e := range h.history() {
		if strings.Contains(e, "Bob Chen") {
			t.Errorf("history %q: another console's caller", e)
		}
	}
}
