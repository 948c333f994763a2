package app_test

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// The parker the in-memory phone names for a park of this console, and
// another console of the site.
const (
	fakeParker = "sip:console@127.0.0.1"
	reception1 = "sip:reception1@10.0.0.9:5060"
)

// slotTexts returns the texts slot n draws (caller, caption, timer...).
func (h *harness) slotTexts(n int) []string {
	var out []string
	for _, o := range find(h.c.Grid().Slot(n), func(o fyne.CanvasObject) bool { _, ok := o.(*canvas.Text); return ok }) {
		if t := o.(*canvas.Text).Text; t != "" {
			out = append(out, t)
		}
	}
	return out
}

// drawsText reports whether slot n draws want.
func (h *harness) drawsText(n int, want string) bool {
	for _, s := range h.slotTexts(n) {
		if s == want {
			return true
		}
	}
	return false
}

// parkedHere parks Alice from this console on orbit n and returns the
// orbit as the phone lit it.
func (h *harness) parkedHere(n int) telephony.Orbit {
	h.t.Helper()
	id := h.answered()
	h.drag(id, n)
	h.waitSlot(n, widgets.SlotMine)
	for _, o := range h.fake.Orbits() {
		if o.Number == n {
			return o
		}
	}
	h.t.Fatalf("no orbit %d", n)
	return telephony.Orbit{}
}

// TestSlotRingingBack: a call the park service rings back shows on its
// slot in the ringing-back state, naming whom it rings ("you" here, the
// user part elsewhere) with a timer from the ring-back; parked again, the
// slot shows it parked with the timer from its return, and the history
// says nobody answered.
func TestSlotRingingBack(t *testing.T) {
	h := newHarness(t)
	o := h.parkedHere(705)
	if o.Parker != fakeParker {
		t.Fatalf("the in-memory phone parks as %q", o.Parker)
	}
	ring := h.clock.Advance(2 * time.Minute)
	o.RingingBack, o.RingingBackSince = o.Parker, ring
	h.fake.SetOrbit(o)
	h.waitSlot(705, widgets.SlotRingingBack)
	h.fake.SetOrbit(telephony.Orbit{Number: 702, Occupied: true, CallerName: "Carol Díaz", CallerURI: "sip:+15550173@10.0.0.7",
		Parker: reception1, ParkedAt: ring.Add(-150 * time.Second), RingingBack: reception1, RingingBackSince: ring.Add(-30 * time.Second)})
	h.waitSlot(702, widgets.SlotRingingBack)
	h.tick(12 * time.Second)
	h.settle()

	if s := h.orbit(705); s.Caller != "Alice Martin" || s.Parker != "you" {
		t.Errorf("slot 705 = %+v, want Alice Martin ringing back you", s)
	}
	if !h.drawsText(705, "ringing back you") || !h.drawsText(705, "0:12") {
		t.Errorf("slot 705 draws %q, want the caption ringing back you and the timer 0:12", h.slotTexts(705))
	}
	if s := h.orbit(702); s.Caller != "Carol Díaz" || s.Parker != "reception1" {
		t.Errorf("slot 702 = %+v, want Carol Díaz ringing back reception1", s)
	}
	if !h.drawsText(702, "ringing back reception1") || !h.drawsText(702, "0:42") {
		t.Errorf("slot 702 draws %q, want the caption ringing back reception1 and the timer 0:42", h.slotTexts(702))
	}
	test.AssertRendersToMarkup(t, "console/ringing_back.xml", h.w.Canvas())

	// Nobody answered: parked again, the park timer from the return.
	back := h.clock.Advance(30 * time.Second)
	o.RingingBack, o.RingingBackSince, o.ReturnedAt = "", time.Time{}, back
	h.fake.SetOrbit(o)
	h.waitSlot(705, widgets.SlotMine)
	h.eventually("the return in the history", func() bool { return h.hasHistory("Alice Martin returned to 705, nobody answered") })
	h.tick(5 * time.Second)
	h.settle()
	if !h.drawsText(705, "0:05") || !h.drawsText(705, "parked by you") {
		t.Errorf("slot 705 parked again draws %q, want parked by you, 0:05", h.slotTexts(705))
	}
	if s := h.orbit(705); s.Parker != "" {
		t.Errorf("slot 705 parked again = %+v", s)
	}
	// The same lamp again (a refresh) adds nothing to the history.
	h.fake.SetOrbit(o)
	h.settle()
	n := 0
	for _, e := range h.history() {
		if e == "Alice Martin returned to 705, nobody answered" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("history %q: the return noted %d times", h.history(), n)
	}
}

// TestSlotRingBackOutcomes: the ring-back's end darkens the slot as a
// retrieve would; the history says where the call went.
func TestSlotRingBackOutcomes(t *testing.T) {
	for _, c := range []struct {
		name     string
		left     telephony.ParkOutcome
		by, want string
	}{
		{"fallback", telephony.LeftFallback, "sip:operator@10.0.0.2", "Alice Martin on 708 went to the fallback after 2:40"},
		{"answered here", telephony.LeftRingBack, fakeParker, ""},
		{"answered elsewhere", telephony.LeftRingBack, reception1, "Alice Martin on 708 was answered by reception1 after 2:40"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			o := h.parkedHere(708)
			o.RingingBack, o.RingingBackSince = o.Parker, h.clock.Advance(2*time.Minute)
			h.fake.SetOrbit(o)
			h.waitSlot(708, widgets.SlotRingingBack)
			h.clock.Advance(40 * time.Second)
			h.fake.LeaveOrbit(708, c.left, c.by)
			h.waitSlot(708, widgets.SlotFree)
			h.settle()
			if c.want != "" && !h.hasHistory(c.want) {
				t.Errorf("history %q, want %q", h.history(), c.want)
			}
			for _, e := range h.history() {
				if e != "Parked Alice Martin on 708" && e != "Answered Alice Martin" && e != c.want {
					t.Errorf("history has %q", e)
				}
			}
			if h.drawsText(708, "Alice Martin") {
				t.Errorf("dark slot draws %q", h.slotTexts(708))
			}
		})
	}
}
