package widgets

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// DropTarget is told where a dragged LineCard is, so that it can show
// what a drop would do there, and where the card is dropped. Positions
// are absolute canvas positions, as
// fyne.CurrentApp().Driver().AbsolutePositionForObject reports them.
//
// Fyne has no drop-target API; the card calls its targets itself.
type DropTarget interface {
	// CardMoved is called each time the pointer dragging card moves.
	CardMoved(card *LineCard, pos fyne.Position)
	// CardDropped is called once when the drag of card ends at pos, on
	// the target or not: a target under pos acts on the drop, the others
	// forget the drag.
	CardDropped(card *LineCard, pos fyne.Position)
}

// cardDrag is the state of a drag of a LineCard in progress.
type cardDrag struct {
	active bool
	start  fyne.Position // absolute position where the drag began
	moved  fyne.Delta    // all the deltas since
	ghost  *dragGhost
	layer  *fyne.Container // the overlay that holds the ghost
	canvas fyne.Canvas
}

func (d *cardDrag) pos() fyne.Position { return d.start.Add(d.moved) }

// Dragged is called by Fyne as the card is dragged. The pointer is found
// by adding up the drag deltas from where the drag began, which works the
// same under Fyne's test driver (one event at the start point) and in a
// real window (one event per pointer move).
func (c *LineCard) Dragged(ev *fyne.DragEvent) {
	if !c.drag.active {
		c.drag.active = true
		if ev.AbsolutePosition != (fyne.Position{}) {
			// A real window reports where the pointer is now; the first
			// event has moved already by ev.Dragged since the press.
			c.drag.start = ev.AbsolutePosition.Subtract(ev.Dragged)
		} else {
			// The test driver reports only the start point, relative to
			// the card.
			c.drag.start = fyne.CurrentApp().Driver().AbsolutePositionForObject(c).Add(ev.Position)
		}
		c.drag.moved = fyne.Delta{}
		c.showGhost()
		c.Refresh()
	}
	c.drag.moved.DX += ev.Dragged.DX
	c.drag.moved.DY += ev.Dragged.DY
	pos := c.drag.pos()
	c.moveGhost(pos)
	for _, t := range c.DropTargets {
		t.CardMoved(c, pos)
	}
}

// DragEnd is called by Fyne when the card is let go: the drop targets
// get the drop.
func (c *LineCard) DragEnd() {
	if !c.drag.active {
		return
	}
	pos := c.drag.pos()
	c.drag.active = false
	c.hideGhost()
	c.Refresh()
	for _, t := range c.DropTargets {
		t.CardDropped(c, pos)
	}
}

// Dragging reports whether the card is being dragged, and where the
// pointer is.
func (c *LineCard) Dragging() (fyne.Position, bool) {
	return c.drag.pos(), c.drag.active
}

// showGhost puts a small label with the caller's name on a canvas
// overlay, to follow the pointer while the card is dragged.
func (c *LineCard) showGhost() {
	cv := fyne.CurrentApp().Driver().CanvasForObject(c)
	if cv == nil {
		return
	}
	label := c.Name
	if label == "" {
		label = c.Number
	}
	g := newDragGhost(label, c.Parkable())
	layer := &fyne.Container{Objects: []fyne.CanvasObject{g}}
	layer.Resize(cv.Size())
	g.Resize(g.MinSize())
	cv.Overlays().Add(layer)
	c.drag.ghost, c.drag.layer, c.drag.canvas = g, layer, cv
}

func (c *LineCard) moveGhost(pos fyne.Position) {
	g := c.drag.ghost
	if g == nil {
		return
	}
	// Below and right of the pointer, so the slot under it stays in
	// sight; left of or above it near the window's edges.
	off := c.Theme().Size(theme.SizeNameInnerPadding) * 2
	size, area := g.Size(), c.drag.layer.Size()
	at := pos.AddXY(off, off)
	if at.X+size.Width > area.Width {
		at.X = pos.X - off - size.Width
	}
	if at.Y+size.Height > area.Height {
		at.Y = pos.Y - off - size.Height
	}
	g.Move(at)
}

func (c *LineCard) hideGhost() {
	if c.drag.canvas != nil && c.drag.layer != nil {
		c.drag.canvas.Overlays().Remove(c.drag.layer)
	}
	c.drag.ghost, c.drag.layer, c.drag.canvas = nil, nil, nil
}

// dragGhost is the caller's name following the pointer during a drag.
type dragGhost struct {
	widget.BaseWidget
	label    string
	parkable bool
}

func newDragGhost(label string, parkable bool) *dragGhost {
	g := &dragGhost{label: label, parkable: parkable}
	g.ExtendBaseWidget(g)
	return g
}

// CreateRenderer is a private method to Fyne which links this widget to
// its renderer.
func (g *dragGhost) CreateRenderer() fyne.WidgetRenderer {
	r := &ghostRenderer{g: g}
	r.text.TextStyle = fyne.TextStyle{Bold: true}
	r.icon = &canvas.Image{FillMode: canvas.ImageFillContain}
	r.Refresh()
	return r
}

type ghostRenderer struct {
	g    *dragGhost
	bg   canvas.Rectangle
	icon *canvas.Image
	text canvas.Text
}

func (r *ghostRenderer) Destroy() {}

func (r *ghostRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{&r.bg, r.icon, &r.text}
}

func (r *ghostRenderer) sizes() (pad, icon float32, text fyne.Size) {
	th := r.g.Theme()
	return th.Size(theme.SizeNameInnerPadding), th.Size(theme.SizeNameInlineIcon),
		fyne.MeasureText(r.text.Text, r.text.TextSize, r.text.TextStyle)
}

func (r *ghostRenderer) Layout(size fyne.Size) {
	pad, icon, text := r.sizes()
	r.bg.Resize(size)
	r.icon.Move(fyne.NewPos(pad, (size.Height-icon)/2))
	r.icon.Resize(fyne.NewSquareSize(icon))
	r.text.Move(fyne.NewPos(pad+icon+pad/2, (size.Height-text.Height)/2))
	r.text.Resize(text)
}

func (r *ghostRenderer) MinSize() fyne.Size {
	pad, icon, text := r.sizes()
	return fyne.NewSize(pad+icon+pad/2+text.Width+pad, fyne.Max(icon, text.Height)+pad)
}

func (r *ghostRenderer) Refresh() {
	th := r.g.Theme()
	fill := theme.ColorNamePrimary
	if !r.g.parkable {
		fill = theme.ColorNameDisabledButton
	}
	r.bg.FillColor = fade(colorOf(th, fill), 0.92)
	r.bg.CornerRadius = th.Size(theme.SizeNameInputRadius)
	r.text.Text = r.g.label
	r.text.TextSize = th.Size(theme.SizeNameText)
	r.text.Color = onColorOf(th, fill)
	r.icon.Resource = theme.NewColoredResource(phoneRes, onColorName(th, fill))
	r.Layout(r.g.Size())
	r.bg.Refresh()
	r.icon.Refresh()
	r.text.Refresh()
}
