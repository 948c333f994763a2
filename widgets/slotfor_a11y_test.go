package widgets

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
)

// TestSlotAccessibilityFor: a slot holding a call parked for someone
// reads whom it is for and the note, as its caption shows them, in every
// state that holds a call (issue 16: the screen reader heard only the
// parker).
func TestSlotAccessibilityFor(t *testing.T) {
	newApp(t)
	g := NewOrbitGrid(704, 3)
	test.NewTempWindow(t, g)
	g.SetSlot(704, SlotOccupied, "Eva Novak", "Reception 2", t0)
	g.Slot(704).SetFor("Bob Chen", "")
	g.SetSlot(705, SlotMine, "Dan Okafor", "", t0)
	g.Slot(705).SetFor("Bob Chen", "contract, urgent")
	g.SetSlot(706, SlotRingingBack, "Alice Martin", "reception1", t0)
	g.Slot(706).SetFor("Bob Chen", "")
	g.Tick(t0.Add(130 * time.Second))
	slotsRead(t, g, map[int]string{
		704: "Orbit 704, Eva Novak, for Bob Chen, parked by Reception 2, 2:10",
		705: "Orbit 705, Dan Okafor, for Bob Chen, note: contract, urgent, parked by you, 2:10",
		706: "Orbit 706, Alice Martin, for Bob Chen, ringing back reception1, 2:10",
	})
	g.Slot(704).SetFor("", "")
	if got, want := g.Slot(704).AccessibilityLabel(), "Orbit 704, Eva Novak, parked by Reception 2, 2:10"; got != want {
		t.Errorf("slot for nobody reads %q, want %q", got, want)
	}
}

// slotsRead checks what g's slots read to a screen reader, by orbit.
func slotsRead(t *testing.T, g *OrbitGrid, want map[int]string) {
	t.Helper()
	for orbit, w := range want {
		if got := g.Slot(orbit).AccessibilityLabel(); got != w {
			t.Errorf("slot %d reads %q, want %q", orbit, got, w)
		}
	}
}
