package widgets

import (
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/test"
)

// console is a small console window: one line card left, the grid right.
type console struct {
	w       fyne.Window
	card    *LineCard
	grid    *OrbitGrid
	parked  []string
	refused []string
	fetched []int
}

func newConsole(t *testing.T, lot int, size fyne.Size) *console {
	t.Helper()
	c := &console{
		card: NewLineCard("call-1", "Alice Martin", "+44 20 7946 0018", LineActive, t0),
		grid: NewOrbitGrid(701, lot),
	}
	c.card.DropTargets = []DropTarget{c.grid}
	c.grid.OnPark = func(id string, orbit int) { c.parked = append(c.parked, fmt.Sprintf("%s@%d", id, orbit)) }
	c.grid.OnRefused = func(id string, orbit int, why string) {
		c.refused = append(c.refused, fmt.Sprintf("%s@%d: %s", id, orbit, why))
	}
	c.grid.OnRetrieve = func(orbit int) { c.fetched = append(c.fetched, orbit) }
	lines := container.NewVBox(c.card)
	c.w = test.NewTempWindow(t, container.NewBorder(nil, nil, lines, nil, c.grid))
	c.w.Resize(size)
	return c
}

// drag drags the card from its middle to the middle of orbit's slot.
func (c *console) drag(orbit int) {
	from, to := centre(c.card), centre(c.grid.Slot(orbit))
	test.Drag(c.w.Canvas(), from, to.X-from.X, to.Y-from.Y)
}

func TestOrbitGrid_DragParks(t *testing.T) {
	newApp(t)
	c := newConsole(t, 20, fyne.NewSize(1000, 400))
	c.drag(703)
	if len(c.parked) != 1 || c.parked[0] != "call-1@703" {
		t.Fatalf("parked %v, want call-1@703", c.parked)
	}
	if h := c.grid.Slot(703).Hint(); h != "Parking…" {
		t.Errorf("slot 703 shows %q while the park is pending", h)
	}
	if _, dragging := c.card.Dragging(); dragging {
		t.Error("card still dragging after the drop")
	}
	if n := len(c.w.Canvas().Overlays().List()); n != 0 {
		t.Errorf("%d overlays left after the drop (the drag ghost)", n)
	}
	if next, _ := c.grid.NextFree(); next != 701 {
		t.Errorf("next free %d", next)
	}
	test.AssertRendersToMarkup(t, "orbitgrid/dropped.xml", c.w.Canvas())
}

func TestOrbitGrid_DragRefused(t *testing.T) {
	newApp(t)
	c := newConsole(t, 20, fyne.NewSize(1000, 400))
	c.grid.SetSlot(704, SlotOccupied, "Bob Chen", "Reception 2", t0)
	c.grid.SetSlot(705, SlotMine, "Dan Okafor", "", t0)
	c.grid.SetSlot(706, SlotRingingBack, "Carol Díaz", "", t0)
	c.grid.SetSlot(707, SlotUnavailable, "", "", time.Time{})
	for _, o := range []int{704, 705, 706, 707} {
		c.drag(o)
	}
	want := []string{"call-1@704: Occupied", "call-1@705: Occupied", "call-1@706: Ringing back", "call-1@707: Unavailable"}
	if fmt.Sprint(c.refused) != fmt.Sprint(want) || len(c.parked) != 0 {
		t.Fatalf("refused %q parked %q, want refused %q", c.refused, c.parked, want)
	}
	test.AssertRendersToMarkup(t, "orbitgrid/refused.xml", c.w.Canvas())

	// The refusals fade after a couple of seconds.
	c.grid.Tick(t0.Add(time.Second))
	c.grid.Tick(t0.Add(2 * time.Second))
	for _, o := range []int{704, 705, 706, 707} {
		if h := c.grid.Slot(o).Hint(); h != "" {
			t.Errorf("slot %d still shows %q", o, h)
		}
	}

	// A ringing call must be answered before it can be parked.
	c.card.SetState(LineRinging, 0, t0)
	c.drag(710)
	if len(c.parked) != 0 || c.refused[len(c.refused)-1] != "call-1@710: Answer first" {
		t.Errorf("ringing card: parked %q refused %q", c.parked, c.refused)
	}

	// Dropped off the grid: nothing happens.
	c.card.SetState(LineHeld, 0, t0)
	from := centre(c.card)
	test.Drag(c.w.Canvas(), from, 0, 30)
	if len(c.parked) != 0 || len(c.refused) != 5 {
		t.Errorf("drop off the grid: parked %q refused %q", c.parked, c.refused)
	}
}

func TestOrbitGrid_Unavailable(t *testing.T) {
	newApp(t)
	c := newConsole(t, 20, fyne.NewSize(1000, 400))
	c.grid.SetSlot(702, SlotOccupied, "Bob Chen", "", t0)
	c.grid.SetUnavailable(true, "")
	c.drag(703)
	if len(c.parked) != 0 || len(c.refused) != 1 || c.refused[0] != "call-1@703: Unavailable" {
		t.Errorf("grid down: parked %q refused %q", c.parked, c.refused)
	}
	if r := test.WidgetRenderer(c.grid.Slot(703)).(*slotRenderer); r.caller.Text != "Unavailable" || !r.caller.Visible() {
		t.Errorf("grid down: the refusing slot says %q (visible %v)", r.caller.Text, r.caller.Visible())
	}
	test.TapCanvas(c.w.Canvas(), centre(c.grid.Slot(702)))
	if len(c.fetched) != 0 {
		t.Errorf("grid down: retrieved %v", c.fetched)
	}
	if _, ok := c.grid.NextFree(); ok {
		t.Error("grid down: NextFree offers an orbit")
	}
	c.grid.Tick(t0.Add(time.Second))
	c.grid.Tick(t0.Add(2 * time.Second))
	test.AssertRendersToMarkup(t, "orbitgrid/unavailable.xml", c.w.Canvas())

	c.grid.SetUnavailable(false, "")
	test.TapCanvas(c.w.Canvas(), centre(c.grid.Slot(702)))
	if len(c.fetched) != 1 || c.fetched[0] != 702 {
		t.Errorf("grid back: retrieved %v, want [702]", c.fetched)
	}
}

func TestOrbitGrid_TapRetrieves(t *testing.T) {
	newApp(t)
	c := newConsole(t, 20, fyne.NewSize(1000, 400))
	c.grid.SetSlot(712, SlotOccupied, "Bob Chen", "", t0)
	c.grid.SetSlot(713, SlotMine, "Alice Martin", "", t0)
	for _, o := range []int{711, 712, 713} {
		test.TapCanvas(c.w.Canvas(), centre(c.grid.Slot(o)))
	}
	if fmt.Sprint(c.fetched) != "[712 713]" {
		t.Errorf("retrieved %v, want [712 713]", c.fetched)
	}
}

// realDrag sends what a real window sends: one event per pointer move,
// each with the pointer's absolute position, its position relative to
// the card, and the delta since the previous event.
func realDrag(card *LineCard, from, to fyne.Position, steps int) {
	cardAt := fyne.CurrentApp().Driver().AbsolutePositionForObject(card)
	last := from
	for i := 1; i <= steps; i++ {
		f := float32(i) / float32(steps)
		p := fyne.NewPos(from.X+(to.X-from.X)*f, from.Y+(to.Y-from.Y)*f)
		card.Dragged(&fyne.DragEvent{
			PointEvent: fyne.PointEvent{AbsolutePosition: p, Position: p.Subtract(cardAt)},
			Dragged:    fyne.NewDelta(p.X-last.X, p.Y-last.Y),
		})
		last = p
	}
}

// TestOrbitGrid_HoverHighlights drags the card the way a real window
// does and checks the slot under it lights, and only that one.
func TestOrbitGrid_HoverHighlights(t *testing.T) {
	newApp(t)
	c := newConsole(t, 20, fyne.NewSize(1000, 400))
	c.grid.SetSlot(704, SlotOccupied, "Bob Chen", "", t0)

	from := centre(c.card)
	realDrag(c.card, from, centre(c.grid.Slot(703)), 5)
	if pos, ok := c.card.Dragging(); !ok || c.grid.SlotAt(pos) != c.grid.Slot(703) {
		t.Fatalf("pointer at %v (dragging %v), want over 703", pos, ok)
	}
	if h := c.grid.Slot(703).Hint(); h != "Park here" {
		t.Errorf("703 under the card shows %q", h)
	}
	if n := len(c.w.Canvas().Overlays().List()); n != 1 {
		t.Errorf("%d overlays while dragging, want the ghost", n)
	}
	test.AssertRendersToMarkup(t, "orbitgrid/hover_accept.xml", c.w.Canvas())

	realDrag(c.card, centre(c.grid.Slot(703)), centre(c.grid.Slot(704)), 3)
	if h := c.grid.Slot(703).Hint(); h != "" {
		t.Errorf("703 left behind still shows %q", h)
	}
	if h := c.grid.Slot(704).Hint(); h != "Occupied" {
		t.Errorf("occupied 704 under the card shows %q", h)
	}
	test.AssertRendersToMarkup(t, "orbitgrid/hover_refuse.xml", c.w.Canvas())

	// Back over the lines: nothing lit.
	realDrag(c.card, centre(c.grid.Slot(704)), from, 4)
	for _, s := range c.grid.Slots {
		if s.Hint() != "" {
			t.Errorf("slot %d shows %q with the card back home", s.Orbit, s.Hint())
		}
	}
	c.card.DragEnd()
	if len(c.parked)+len(c.refused) != 0 {
		t.Errorf("dropped home: parked %q refused %q", c.parked, c.refused)
	}

	// A real drag ending on a free slot parks, like test.Drag does.
	realDrag(c.card, from, centre(c.grid.Slot(719)), 7)
	c.card.DragEnd()
	if fmt.Sprint(c.parked) != "[call-1@719]" {
		t.Errorf("real drag parked %q, want call-1@719", c.parked)
	}
}

// TestOrbitGrid_DragLook is a picture of a drag in progress, in a
// console-sized window: the ghost with the caller's name and the lit
// slot under it.
func TestOrbitGrid_DragLook(t *testing.T) {
	for variant, v := range variants {
		t.Run(variant, func(t *testing.T) {
			newConsoleLookApp(t, v)
			c := newConsole(t, 20, fyne.NewSize(1100, 420))
			c.grid.SetSlot(702, SlotOccupied, "Bob Chen", "Reception 2", t0.Add(-200*time.Second))
			c.grid.SetSlot(707, SlotMine, "Dan Okafor", "", t0.Add(-75*time.Second))
			c.grid.SetSlot(711, SlotRingingBack, "Carol Díaz", "", t0.Add(-121*time.Second))
			c.grid.Tick(t0.Add(42 * time.Second))
			c.card.Tick(t0.Add(42 * time.Second))
			realDrag(c.card, centre(c.card), centre(c.grid.Slot(708)), 4)
			test.AssertRendersToImage(t, "orbitgrid/drag_"+variant+".png", c.w.Canvas())
			c.card.DragEnd()
		})
	}
}

// TestOrbitGrid_Layout checks lots of 20 to 100 fit any window from
// their minimum size up, every slot whole, inside the grid, none
// overlapping, no smaller than its minimum.
func TestOrbitGrid_Layout(t *testing.T) {
	newApp(t)
	for _, lot := range []int{1, 20, 37, 60, 100} {
		g := NewOrbitGrid(701, lot)
		w := test.NewTempWindow(t, g)
		w.SetPadded(false)
		min := g.MinSize()
		slotMin := g.Slots[0].MinSize()
		for _, size := range []fyne.Size{min, {Width: 640, Height: 480}, {Width: 900, Height: 700}, {Width: 1600, Height: 1000}, {Width: 500, Height: 1200}} {
			size = size.Max(min)
			w.Resize(size)
			for i, s := range g.Slots {
				p, sz := s.Position(), s.Size()
				if sz.Width < slotMin.Width-0.01 || sz.Height < slotMin.Height-0.01 {
					t.Errorf("lot %d at %v: slot %d is %v, smaller than %v", lot, size, s.Orbit, sz, slotMin)
				}
				if p.X < 0 || p.Y < 0 || p.X+sz.Width > size.Width+0.01 || p.Y+sz.Height > size.Height+0.01 {
					t.Errorf("lot %d at %v: slot %d at %v+%v is outside", lot, size, s.Orbit, p, sz)
				}
				if i > 0 {
					q := g.Slots[i-1].Position()
					if p == q {
						t.Errorf("lot %d at %v: slots %d and %d overlap", lot, size, s.Orbit, s.Orbit-1)
					}
				}
			}
		}
	}
}

func TestOrbitGrid_ScalesWithWindow(t *testing.T) {
	newApp(t)
	g := NewOrbitGrid(701, 20)
	w := test.NewTempWindow(t, g)
	w.SetPadded(false)
	w.Resize(fyne.NewSize(600, 300))
	small := g.Slots[0].Size()
	smallText := test.WidgetRenderer(g.Slots[0]).(*slotRenderer).number.TextSize
	w.Resize(fyne.NewSize(1200, 600))
	big := g.Slots[0].Size()
	bigText := test.WidgetRenderer(g.Slots[0]).(*slotRenderer).number.TextSize
	if big.Width <= small.Width || big.Height <= small.Height || bigText <= smallText {
		t.Errorf("slots %v (text %v) in a small window, %v (text %v) in a big one", small, smallText, big, bigText)
	}
}

func TestColumns(t *testing.T) {
	min := fyne.NewSize(60, 40)
	for _, tt := range []struct {
		n    int
		w, h float32
		want int
	}{
		{20, 1000, 500, 5}, // 5x4 of 196x122: wide enough for the name
		{20, 400, 900, 2},  // a tall narrow window: two columns
		{100, 1000, 600, 10},
		{100, 100, 100, 10}, // far too small: square arrangement
		{0, 500, 500, 1},
	} {
		if got := columns(tt.n, tt.w, tt.h, 4, min); got != tt.want {
			t.Errorf("columns(%d, %vx%v) = %d, want %d", tt.n, tt.w, tt.h, got, tt.want)
		}
	}
}

func TestOrbitGrid_Look(t *testing.T) {
	for _, tt := range []struct {
		name string
		lot  int
		size fyne.Size
		down bool
	}{
		{"lot20", 20, fyne.NewSize(860, 420), false},
		{"lot100", 100, fyne.NewSize(1000, 640), false},
		{"lot100_min", 100, fyne.Size{}, false},
		{"unavailable", 20, fyne.NewSize(860, 420), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			newConsoleLookApp(t, variants["light"])
			g := NewOrbitGrid(701, tt.lot)
			for i, s := range g.Slots {
				since := t0.Add(-time.Duration(i*37) * time.Second)
				switch i % 7 {
				case 1:
					s.Set(SlotOccupied, []string{"Bob Chen", "Erin Walsh", "Farid Haddad"}[i%3], "Reception 2", since)
				case 3:
					s.Set(SlotMine, []string{"Alice Martin", "Grace Liu", "Hugo Blanc"}[i%3], "", since)
				case 5:
					if i%2 == 0 {
						s.Set(SlotRingingBack, "Carol Díaz", "", since)
					}
				}
			}
			g.Tick(t0.Add(time.Minute))
			if tt.down {
				g.SetUnavailable(true, "")
			}
			w := test.NewTempWindow(t, container.New(layout.NewStackLayout(), g))
			w.Resize(tt.size.Max(w.Content().MinSize().AddWidthHeight(8, 8)))
			test.AssertRendersToImage(t, "orbitgrid/"+tt.name+".png", w.Canvas())
			if !tt.down {
				return
			}
			test.AssertRendersToMarkup(t, "orbitgrid/banner.xml", w.Canvas())
		})
	}
}

func TestOrbitGrid_SetSlotUnknown(t *testing.T) {
	g := NewOrbitGrid(701, 20)
	if g.SetSlot(799, SlotMine, "x", "", t0) || g.Slot(700) != nil {
		t.Error("orbit outside the lot accepted")
	}
	if g.Slot(720) == nil || g.Slot(721) != nil {
		t.Error("lot 701+20 is not 701–720")
	}
}
