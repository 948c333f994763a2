package widgets

import (
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// TestOrbitSlot_For: a slot whose call was parked for someone says so
// on its caption ("for Bob Chen", with the note after), in place of who
// parked it, never smaller than the caption's least size; a ringing-back
// slot still says whom it rings.
func TestOrbitSlot_For(t *testing.T) {
	newApp(t)
	s := NewOrbitSlot(705)
	s.Set(SlotOccupied, "Eva Novak", "Reception 2", t0)
	s.Tick(t0.Add(130 * time.Second))
	w := test.NewTempWindow(t, s)
	w.Resize(fyne.NewSize(220, 100))
	r := test.WidgetRenderer(s).(*slotRenderer)
	if r.caption.Text != "by Reception 2" {
		t.Fatalf("caption before %q", r.caption.Text)
	}
	for _, c := range []struct {
		state     SlotState
		who, note string
		want      string
	}{
		{SlotOccupied, "Bob Chen", "", "for Bob Chen"},
		{SlotMine, "Bob Chen", "", "for Bob Chen"},
		{SlotMine, "Bob Chen", "urgent", "for Bob Chen: urgent"},
		{SlotOccupied, "", "urgent", "urgent"},
		{SlotRingingBack, "Bob Chen", "", "ringing back you"},
		{SlotOccupied, "", "", "by you"},
	} {
		s.Set(c.state, "Eva Novak", "you", t0)
		s.SetFor(c.who, c.note)
		if r.caption.Text != c.want || r.caption.Hidden {
			t.Errorf("%s for %q note %q: caption %q (hidden %v), want %q", c.state, c.who, c.note, r.caption.Text, r.caption.Hidden, c.want)
		}
		if least := s.Theme().Size(theme.SizeNameText) * minDetail; r.caption.TextSize < least {
			t.Errorf("caption at %.1f, under %.1f", r.caption.TextSize, least)
		}
		if r.caller.Text != "Eva Novak" {
			t.Errorf("caller line %q", r.caller.Text)
		}
	}
}

// TestOrbitGrid_ShiftDropAsksForWhom: a plain drop parks at once
// (OnPark), as without OnParkFor: naming someone costs the common case
// nothing. A drop with Shift held goes to OnParkFor instead, and the
// slot says it waits for the answer; ClearHint takes that back.
func TestOrbitGrid_ShiftDropAsksForWhom(t *testing.T) {
	newApp(t)
	c := newConsole(t, 20, fyne.NewSize(1000, 400))
	var asked []string
	var mods fyne.KeyModifier
	c.grid.OnParkFor = func(id string, orbit int) { asked = append(asked, fmt.Sprintf("%s@%d", id, orbit)) }
	c.grid.Modifiers = func() fyne.KeyModifier { return mods }

	c.drag(703)
	if len(c.parked) != 1 || c.parked[0] != "call-1@703" || len(asked) != 0 {
		t.Fatalf("plain drop: parked %v, asked %v; want parked at once", c.parked, asked)
	}
	mods = fyne.KeyModifierShift
	c.drag(704)
	if len(c.parked) != 1 || len(asked) != 1 || asked[0] != "call-1@704" {
		t.Fatalf("Shift drop: parked %v, asked %v; want asked for call-1@704", c.parked, asked)
	}
	if h := c.grid.Slot(704).Hint(); h != "Park for…" {
		t.Errorf("slot 704 shows %q while asked", h)
	}
	c.grid.ClearHint(704)
	if h := c.grid.Slot(704).Hint(); h != "" {
		t.Errorf("slot 704 still shows %q after ClearHint", h)
	}
}
