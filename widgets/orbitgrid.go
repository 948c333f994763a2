package widgets

import (
	"math"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// DefaultBanner is what an OrbitGrid says while the park service is
// unavailable and no other words were given.
const DefaultBanner = "Park service unavailable: calls stay on your lines"

// OrbitGrid shows the park lot, one OrbitSlot per orbit, laid out in as
// many columns as keep the slots readable at the window's size (20 to 100
// slots and more). Line cards dropped on a free slot are parked there
// (OnPark); dropped elsewhere they are refused where the receptionist can
// see it. Tapping a slot that holds a call retrieves it (OnRetrieve).
//
// While the park service is unavailable the grid greys out, shows a
// banner and refuses every drop.
type OrbitGrid struct {
	widget.BaseWidget

	// Slots are the lot's orbits, in the order shown.
	Slots []*OrbitSlot
	// Unavailable greys the grid out and refuses drops; Banner says why
	// (DefaultBanner when empty).
	Unavailable bool
	Banner      string

	// OnPark is called when the card with cardID is dropped on the free
	// slot orbit. The grid shows the slot as pending until the slot's
	// state changes (or a few ticks pass).
	OnPark func(cardID string, orbit int) `json:"-"`
	// OnParkFor, when set, is called instead of OnPark for a drop made
	// with Shift held: the app asks whom the call is for before it
	// parks. A plain drop parks at once, for nobody.
	OnParkFor func(cardID string, orbit int) `json:"-"`
	// Modifiers returns the keyboard modifiers held at a drop; nil asks
	// the desktop driver (a driver without keyboard state holds none).
	Modifiers func() fyne.KeyModifier `json:"-"`
	// OnRetrieve is called when a slot holding a call is tapped.
	OnRetrieve func(orbit int) `json:"-"`
	// OnRefused is called when a drop is refused, with the reason the
	// slot shows ("Occupied", "Unavailable", "Answer first").
	OnRefused func(cardID string, orbit int, reason string) `json:"-"`

	hover    *OrbitSlot // the slot a card hovers over
	dragging *LineCard  // the card being dragged, if any
}

// NewOrbitGrid returns a grid of count free slots numbered from first
// (NewOrbitGrid(701, 20) is the lot 701–720).
func NewOrbitGrid(first, count int) *OrbitGrid {
	g := &OrbitGrid{}
	g.ExtendBaseWidget(g)
	for i := 0; i < count; i++ {
		g.Slots = append(g.Slots, NewOrbitSlot(first+i))
	}
	return g
}

// Slot returns the slot for orbit, or nil if the lot has none.
func (g *OrbitGrid) Slot(orbit int) *OrbitSlot {
	for _, s := range g.Slots {
		if s.Orbit == orbit {
			return s
		}
	}
	return nil
}

// SetUnavailable greys the grid out (true) with banner, or back (false).
func (g *OrbitGrid) SetUnavailable(unavailable bool, banner string) {
	g.Unavailable, g.Banner = unavailable, banner
	g.Refresh()
}

// NextFree returns the first free orbit, for parking from the keyboard.
func (g *OrbitGrid) NextFree() (int, bool) {
	if g.Unavailable {
		return 0, false
	}
	for _, s := range g.Slots {
		if s.State == SlotFree && s.hint != hintPending {
			return s.Orbit, true
		}
	}
	return 0, false
}

// Tick moves every slot's timer to now; the app calls it once a second.
func (g *OrbitGrid) Tick(now time.Time) {
	for _, s := range g.Slots {
		s.Tick(now)
	}
}

// SlotAt returns the slot under pos, an absolute canvas position, or nil.
func (g *OrbitGrid) SlotAt(pos fyne.Position) *OrbitSlot {
	if !g.Visible() || fyne.CurrentApp().Driver().CanvasForObject(g) == nil {
		return nil
	}
	rel := pos.Subtract(fyne.CurrentApp().Driver().AbsolutePositionForObject(g))
	for _, s := range g.Slots {
		p, sz := s.Position(), s.Size()
		if s.Visible() && rel.X >= p.X && rel.Y >= p.Y && rel.X < p.X+sz.Width && rel.Y < p.Y+sz.Height {
			return s
		}
	}
	return nil
}

// refusal is why card may not be parked on s, or "" if it may.
func (g *OrbitGrid) refusal(card *LineCard, s *OrbitSlot) string {
	switch {
	case g.Unavailable || s.State == SlotUnavailable:
		return "Unavailable"
	case s.State == SlotRingingBack:
		return "Ringing back"
	case s.Held() || s.hint == hintPending:
		return "Occupied"
	case card.State == LineRinging || card.State == LineBack:
		return "Answer first"
	case !card.Parkable():
		return "Can't park this call"
	}
	return ""
}

// CardMoved highlights the slot under a dragged card: as a place to park
// it, or as one that would refuse it. It is part of DropTarget.
func (g *OrbitGrid) CardMoved(card *LineCard, pos fyne.Position) {
	if g.dragging != card {
		g.dragging = card
		g.invite(card)
	}
	s := g.SlotAt(pos)
	if g.hover != nil && g.hover != s {
		g.hover.setHint(hintNone, "", "")
	}
	g.hover = s
	if s == nil {
		return
	}
	if why := g.refusal(card, s); why != "" {
		s.setHint(hintRefuse, why, "")
		return
	}
	s.setHint(hintAccept, "Park here", cardName(card))
}

// invite shows the drop invitation on each free slot that would take
// card, and takes it away from the others (all of them for nil).
func (g *OrbitGrid) invite(card *LineCard) {
	for _, s := range g.Slots {
		s.setInvite(card != nil && g.refusal(card, s) == "")
	}
}

// Dragging reports whether a line card is being dragged over the grid's
// window: while it is, free slots invite the drop.
func (g *OrbitGrid) Dragging() bool { return g.dragging != nil }

// cardName is how a slot names the caller on a dragged card.
func cardName(card *LineCard) string {
	if card.Name != "" {
		return card.Name
	}
	return card.Number
}

// CardDropped parks card on the free slot under pos (OnPark), or shows
// the slot's refusal for a moment (OnRefused). It is part of DropTarget.
func (g *OrbitGrid) CardDropped(card *LineCard, pos fyne.Position) {
	g.dragging = nil
	g.invite(nil)
	if g.hover != nil {
		g.hover.setHint(hintNone, "", "")
		g.hover = nil
	}
	s := g.SlotAt(pos)
	if s == nil {
		return
	}
	if why := g.refusal(card, s); why != "" {
		s.setHint(hintRefused, why, "")
		if g.OnRefused != nil {
			g.OnRefused(card.ID, s.Orbit, why)
		}
		return
	}
	if g.OnParkFor != nil && g.HeldModifiers()&fyne.KeyModifierShift != 0 {
		s.setHint(hintPending, "Park for…", cardName(card))
		g.OnParkFor(card.ID, s.Orbit)
		return
	}
	s.setHint(hintPending, "Parking…", cardName(card))
	if g.OnPark != nil {
		g.OnPark(card.ID, s.Orbit)
	}
}

// HeldModifiers returns the keyboard modifiers held now (Modifiers, else
// the desktop driver's): the app reads a drop on its other targets (the
// People pane) the same way.
func (g *OrbitGrid) HeldModifiers() fyne.KeyModifier {
	if g.Modifiers != nil {
		return g.Modifiers()
	}
	if d, ok := fyne.CurrentApp().Driver().(desktop.Driver); ok {
		return d.CurrentKeyModifiers()
	}
	return 0
}

// ClearHint takes a pending drop's words off the slot of orbit at once
// (a park for someone the receptionist cancelled).
func (g *OrbitGrid) ClearHint(orbit int) {
	if s := g.Slot(orbit); s != nil && s.hint == hintPending {
		s.setHint(hintNone, "", "")
	}
}

// MinSize returns the smallest size the grid can be shown at.
func (g *OrbitGrid) MinSize() fyne.Size {
	g.ExtendBaseWidget(g)
	return g.BaseWidget.MinSize()
}

// CreateRenderer is a private method to Fyne which links this widget to
// its renderer.
func (g *OrbitGrid) CreateRenderer() fyne.WidgetRenderer {
	g.ExtendBaseWidget(g)
	r := &gridRenderer{grid: g}
	r.icon = &canvas.Image{FillMode: canvas.ImageFillContain}
	r.text.TextStyle = fyne.TextStyle{Bold: true}
	r.Refresh()
	return r
}

// gridRenderer lays out the slots, under the banner when there is one.
type gridRenderer struct {
	grid *OrbitGrid

	banner  canvas.Rectangle
	icon    *canvas.Image
	text    canvas.Text
	objects []fyne.CanvasObject
}

func (r *gridRenderer) Destroy() {}

func (r *gridRenderer) Objects() []fyne.CanvasObject { return r.objects }

// cellAspect is the width to height ratio the layout aims for: room for
// the number and timer side by side, the caller's name under them.
const cellAspect = 1.8

// columns chooses how many columns the lot gets in a w×h area: the
// number that gives the biggest cells of about cellAspect, if possible no
// smaller than min.
func columns(n int, w, h, gap float32, min fyne.Size) int {
	if n <= 0 {
		return 1
	}
	best, bestScore := 0, float32(-1)
	for c := 1; c <= n; c++ {
		rows := (n + c - 1) / c
		cw := (w - float32(c-1)*gap) / float32(c)
		ch := (h - float32(rows-1)*gap) / float32(rows)
		if cw < min.Width || ch < min.Height {
			continue
		}
		if score := fyne.Min(cw/cellAspect, ch); score > bestScore {
			best, bestScore = c, score
		}
	}
	if best == 0 { // smaller than the minimum: squarest arrangement
		best = int(math.Ceil(math.Sqrt(float64(n))))
	}
	return best
}

func (r *gridRenderer) metrics() (gap, pad, icon float32, bannerH float32) {
	th := r.grid.Theme()
	gap = th.Size(theme.SizeNamePadding)
	pad = th.Size(theme.SizeNameInnerPadding)
	icon = th.Size(theme.SizeNameInlineIcon)
	if r.grid.Unavailable {
		textH := fyne.MeasureText("Mg", r.text.TextSize, r.text.TextStyle).Height
		bannerH = fyne.Max(icon, textH) + 2*pad
	}
	return
}

func (r *gridRenderer) slotMin() fyne.Size {
	min := fyne.NewSize(0, 0)
	for _, s := range r.grid.Slots {
		min = min.Max(s.MinSize())
	}
	return min
}

func (r *gridRenderer) Layout(size fyne.Size) {
	g := r.grid
	gap, pad, icon, bannerH := r.metrics()

	top := float32(0)
	r.banner.Hidden, r.icon.Hidden, r.text.Hidden = !g.Unavailable, !g.Unavailable, !g.Unavailable
	if g.Unavailable {
		r.banner.Move(fyne.NewPos(0, 0))
		r.banner.Resize(fyne.NewSize(size.Width, bannerH))
		r.icon.Move(fyne.NewPos(pad, (bannerH-icon)/2))
		r.icon.Resize(fyne.NewSquareSize(icon))
		tw := size.Width - 3*pad - icon
		r.text.Text = fitText(r.bannerText(), r.text.TextSize, r.text.TextStyle, tw)
		th := fyne.MeasureText("Mg", r.text.TextSize, r.text.TextStyle).Height
		r.text.Move(fyne.NewPos(2*pad+icon, (bannerH-th)/2))
		r.text.Resize(fyne.NewSize(tw, th))
		top = bannerH + gap
	}

	n := len(g.Slots)
	if n == 0 {
		return
	}
	h := size.Height - top
	min := r.slotMin()
	cols := columns(n, size.Width, h, gap, min)
	rows := (n + cols - 1) / cols
	cw := (size.Width - float32(cols-1)*gap) / float32(cols)
	ch := (h - float32(rows-1)*gap) / float32(rows)
	// Not taller than wide: a short lot in a tall window keeps its shape
	// and leaves the space below free.
	ch = fyne.Min(ch, fyne.Max(cw, min.Height))
	for i, s := range g.Slots {
		row, col := i/cols, i%cols
		s.Move(fyne.NewPos(float32(col)*(cw+gap), top+float32(row)*(ch+gap)))
		s.Resize(fyne.NewSize(cw, ch))
	}
}

func (r *gridRenderer) bannerText() string {
	if r.grid.Banner != "" {
		return r.grid.Banner
	}
	return DefaultBanner
}

// MinSize keeps every slot at its minimum in a roughly square
// arrangement, with the banner above.
func (r *gridRenderer) MinSize() fyne.Size {
	g := r.grid
	gap, pad, icon, bannerH := r.metrics()
	n := len(g.Slots)
	w, h := float32(0), float32(0)
	if n > 0 {
		min := r.slotMin()
		cols := int(math.Ceil(math.Sqrt(float64(n))))
		rows := (n + cols - 1) / cols
		w = float32(cols)*min.Width + float32(cols-1)*gap
		h = float32(rows)*min.Height + float32(rows-1)*gap
	}
	if g.Unavailable { // the banner's words shorten with an ellipsis
		w = fyne.Max(w, 3*pad+icon)
		h += bannerH + gap
	}
	return fyne.NewSize(w, h)
}

func (r *gridRenderer) Refresh() {
	g := r.grid
	th := g.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()

	r.banner.FillColor = th.Color(theme.ColorNameWarning, v)
	r.banner.CornerRadius = th.Size(theme.SizeNameInputRadius)
	r.text.Color = onColorOf(th, theme.ColorNameWarning)
	r.text.TextSize = th.Size(theme.SizeNameText)
	r.icon.Resource = theme.NewColoredResource(theme.WarningIcon(), onColorName(th, theme.ColorNameWarning))

	objs := make([]fyne.CanvasObject, 0, len(g.Slots)+3)
	objs = append(objs, &r.banner, r.icon, &r.text)
	for _, s := range g.Slots {
		s.grid = g
		if s.down != g.Unavailable {
			s.down = g.Unavailable
			s.Refresh()
		}
		objs = append(objs, s)
	}
	r.objects = objs
	if g.Unavailable && g.hover != nil {
		g.hover.setHint(hintNone, "", "")
		g.hover = nil
	}

	r.Layout(g.Size())
	r.banner.Refresh()
	r.icon.Refresh()
	r.text.Refresh()
}
