package widgets

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
)

// slotStates are the slots each state golden shows.
var slotStates = []struct {
	name string
	slot func() *OrbitSlot
}{
	{"free", func() *OrbitSlot { return NewOrbitSlot(701) }},
	{"occupied", func() *OrbitSlot {
		s := NewOrbitSlot(702)
		s.Set(SlotOccupied, "Bob Chen", "Reception 2", t0)
		return s
	}},
	{"mine", func() *OrbitSlot {
		s := NewOrbitSlot(705)
		s.Set(SlotMine, "Alice Martin", "", t0)
		return s
	}},
	{"ringing_back", func() *OrbitSlot {
		s := NewOrbitSlot(706)
		s.Set(SlotRingingBack, "Carol Díaz", "", t0)
		return s
	}},
	{"unavailable", func() *OrbitSlot {
		s := NewOrbitSlot(707)
		s.Set(SlotUnavailable, "", "", time.Time{})
		return s
	}},
	{"hover_accept", func() *OrbitSlot {
		s := NewOrbitSlot(708)
		s.setHint(hintAccept, "Park here", "Alice Martin")
		return s
	}},
	{"hover_refuse", func() *OrbitSlot {
		s := NewOrbitSlot(709)
		s.Set(SlotOccupied, "Bob Chen", "", t0)
		s.setHint(hintRefuse, "Occupied", "")
		return s
	}},
	{"refused", func() *OrbitSlot {
		s := NewOrbitSlot(710)
		s.Set(SlotMine, "Dan Okafor", "", t0)
		s.setHint(hintRefused, "Occupied", "")
		return s
	}},
	{"pending", func() *OrbitSlot {
		s := NewOrbitSlot(711)
		s.setHint(hintPending, "Parking…", "Alice Martin")
		return s
	}},
	{"long_caller", func() *OrbitSlot {
		s := NewOrbitSlot(712)
		s.Set(SlotOccupied, "Dr. Maximiliane Featherstonehaugh-Worthington", "the night desk in building C", t0)
		return s
	}},
}

func TestOrbitSlot_States(t *testing.T) {
	newApp(t)
	for _, tt := range slotStates {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.slot()
			s.Tick(t0.Add(130 * time.Second))
			w := test.NewTempWindow(t, s)
			w.Resize(fyne.NewSize(180, 90))
			test.AssertRendersToMarkup(t, "orbitslot/"+tt.name+".xml", w.Canvas())
		})
	}
}

// TestOrbitSlot_Small renders a slot at its minimum size: the number and
// the timer still show.
func TestOrbitSlot_Small(t *testing.T) {
	newApp(t)
	s := NewOrbitSlot(705)
	s.Set(SlotMine, "Alice Martin", "", t0)
	s.Tick(t0.Add(130 * time.Second))
	w := test.NewTempWindow(t, s)
	w.SetPadded(false)
	w.Resize(s.MinSize())
	test.AssertRendersToMarkup(t, "orbitslot/small.xml", w.Canvas())
	r := test.WidgetRenderer(s).(*slotRenderer)
	if r.timer.Hidden || r.timer.Text != "2:10" {
		t.Errorf("small slot hides its timer (%q hidden %v)", r.timer.Text, r.timer.Hidden)
	}
}

func TestOrbitSlot_Look(t *testing.T) {
	for variant, v := range variants {
		t.Run(variant, func(t *testing.T) {
			newConsoleLookApp(t, v)
			var slots []fyne.CanvasObject
			for _, tt := range slotStates {
				s := tt.slot()
				s.Tick(t0.Add(130 * time.Second))
				slots = append(slots, s)
			}
			w := test.NewTempWindow(t, container.NewGridWithColumns(5, slots...))
			w.Resize(fyne.NewSize(820, 170))
			test.AssertRendersToImage(t, "orbitslot/look_"+variant+".png", w.Canvas())
		})
	}
}

func TestOrbitSlot_TapRetrieves(t *testing.T) {
	newApp(t)
	var got []int
	s := NewOrbitSlot(705)
	s.OnRetrieve = func(orbit int) { got = append(got, orbit) }
	w := test.NewTempWindow(t, s)
	w.Resize(fyne.NewSize(180, 90))

	test.Tap(s) // free: nothing to retrieve
	for _, st := range []SlotState{SlotOccupied, SlotMine, SlotRingingBack} {
		s.Set(st, "Alice", "", t0)
		test.TapCanvas(w.Canvas(), centre(s))
	}
	s.Set(SlotUnavailable, "", "", time.Time{})
	test.Tap(s)
	if len(got) != 3 || got[0] != 705 || got[2] != 705 {
		t.Errorf("retrieved %v, want 705 three times (occupied, mine, ringing back)", got)
	}
}

func TestOrbitSlot_Timer(t *testing.T) {
	newApp(t)
	s := NewOrbitSlot(705)
	w := test.NewTempWindow(t, s)
	w.Resize(fyne.NewSize(180, 90))
	r := test.WidgetRenderer(s).(*slotRenderer)
	s.Tick(t0.Add(time.Minute))
	if s.Timer() != "" || r.timer.Visible() {
		t.Errorf("a free slot shows a timer %q", s.Timer())
	}
	s.Set(SlotMine, "Alice", "", t0)
	for _, tt := range []struct {
		at   time.Duration
		want string
	}{
		{9 * time.Second, "0:09"},
		{10 * time.Second, "0:10"},
		{130 * time.Second, "2:10"},
		{10*time.Minute + 5*time.Second, "10:05"},
		{time.Hour, "1:00:00"},
	} {
		s.Tick(t0.Add(tt.at))
		if r.timer.Text != tt.want || !r.timer.Visible() {
			t.Errorf("at %v shown %q (visible %v), want %q", tt.at, r.timer.Text, r.timer.Visible(), tt.want)
		}
	}
	s.Set(SlotFree, "", "", time.Time{})
	if r.timer.Visible() {
		t.Error("a slot that was emptied still shows its timer")
	}

	// At its smallest, a long park shows whole minutes.
	s.Set(SlotMine, "Alice", "", t0)
	s.Tick(t0.Add(75*time.Minute + 5*time.Second))
	w.Resize(s.MinSize())
	if r.timer.Text != "75m" {
		t.Errorf("small slot after 1:15:05 shows %q, want 75m", r.timer.Text)
	}
	s.Tick(t0.Add(75*time.Minute + 6*time.Second))
	if r.timer.Text != "75m" {
		t.Errorf("small slot a second later shows %q, want 75m", r.timer.Text)
	}
}

func TestOrbitSlot_HintsExpire(t *testing.T) {
	newApp(t)
	s := NewOrbitSlot(705)
	test.NewTempWindow(t, s)
	s.setHint(hintRefused, "Occupied", "")
	s.Tick(t0)
	if s.Hint() != "Occupied" {
		t.Fatalf("refusal gone after one tick: %q", s.Hint())
	}
	s.Tick(t0.Add(time.Second))
	if s.Hint() != "" {
		t.Errorf("refusal still shown after %d ticks: %q", refusedTicks, s.Hint())
	}

	s.setHint(hintPending, "Parking…", "Alice")
	s.Set(SlotMine, "Alice", "", t0) // the lamp came on
	if s.Hint() != "" {
		t.Errorf("pending park still shown once the slot is taken: %q", s.Hint())
	}
	s.Set(SlotFree, "", "", time.Time{})
	s.setHint(hintPending, "Parking…", "Bob")
	for i := 0; i < pendingTicks; i++ {
		s.Tick(t0.Add(time.Duration(i) * time.Second))
	}
	if s.Hint() != "" {
		t.Errorf("pending park never confirmed still shown after %d ticks: %q", pendingTicks, s.Hint())
	}
}
