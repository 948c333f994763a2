package widgets

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// invited lists the orbits whose slots invite a drop.
func invited(g *OrbitGrid) []int {
	var out []int
	for _, s := range g.Slots {
		if s.Inviting() {
			out = append(out, s.Orbit)
		}
	}
	return out
}

// TestOrbitGrid_DragInvites: while a call that can be parked is being
// dragged, every free slot (and only a free one) says "Drop to park"
// faintly; the slot under the pointer says "Park here" instead; the
// invitations go when the card is dropped, anywhere. A ringing call,
// which cannot be parked, invites nowhere.
func TestOrbitGrid_DragInvites(t *testing.T) {
	newApp(t)
	c := newConsole(t, 6, fyne.NewSize(1000, 400))
	c.grid.SetSlot(702, SlotOccupied, "Bob Chen", "Reception 2", t0)
	c.grid.SetSlot(704, SlotRingingBack, "Carol Díaz", "you", t0)
	if got := invited(c.grid); len(got) != 0 || c.grid.Dragging() {
		t.Fatalf("before any drag: %v invite (dragging %v)", got, c.grid.Dragging())
	}

	from := centre(c.card)
	realDrag(c.card, from, from.AddXY(0, 5), 2) // a drag begins, over the lines
	if !c.grid.Dragging() {
		t.Fatal("the grid does not know a card is being dragged")
	}
	if got, want := invited(c.grid), []int{701, 703, 705, 706}; !sameInts(got, want) {
		t.Errorf("inviting %v, want the free %v", got, want)
	}
	r := slotRendererOf(c.grid.Slot(701))
	if r.caller.Text != inviteText || !r.caller.Visible() {
		t.Errorf("free 701 reads %q (visible %v), want %q", r.caller.Text, r.caller.Visible(), inviteText)
	}
	if r := slotRendererOf(c.grid.Slot(702)); r.caller.Text != "Bob Chen" {
		t.Errorf("occupied 702 reads %q while dragging", r.caller.Text)
	}

	realDrag(c.card, from.AddXY(0, 5), centre(c.grid.Slot(703)), 4)
	if h := c.grid.Slot(703).Hint(); h != "Park here" || c.grid.Slot(703).Inviting() {
		t.Errorf("703 under the pointer: hint %q, inviting %v", h, c.grid.Slot(703).Inviting())
	}
	if r := slotRendererOf(c.grid.Slot(703)); r.caller.Text != "Park here" {
		t.Errorf("703 under the pointer reads %q", r.caller.Text)
	}

	realDrag(c.card, centre(c.grid.Slot(703)), from, 3) // back home
	c.card.DragEnd()
	if got := invited(c.grid); len(got) != 0 || c.grid.Dragging() {
		t.Errorf("after the drop: %v invite (dragging %v)", got, c.grid.Dragging())
	}
	if r := slotRendererOf(c.grid.Slot(701)); r.caller.Text != "" {
		t.Errorf("701 after the drop reads %q", r.caller.Text)
	}

	c.card.SetState(LineRinging, 0, t0)
	realDrag(c.card, from, from.AddXY(0, 5), 2)
	if got := invited(c.grid); len(got) != 0 {
		t.Errorf("dragging a ringing call, %v invite", got)
	}
	c.card.DragEnd()

	c.card.SetState(LineActive, 0, t0)
	c.grid.SetUnavailable(true, "")
	realDrag(c.card, from, from.AddXY(0, 5), 2)
	if got := invited(c.grid); len(got) != 0 {
		t.Errorf("park service down, %v invite", got)
	}
	c.card.DragEnd()
}

func slotRendererOf(s *OrbitSlot) *slotRenderer {
	return test.WidgetRenderer(s).(*slotRenderer)
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
