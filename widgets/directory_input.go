package widgets

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
)

// shiftDown records, per pane, whether Shift is held on its search box:
// Fyne reports Shift+Enter to a focused entry as Enter, after a KeyDown of
// Shift. Touched on Fyne's goroutine only.
var shiftDown = map[*DirectoryPane]bool{}

// KeyDown notes Shift (for ShiftHeld) and is the entry's otherwise.
func (e *searchEntry) KeyDown(k *fyne.KeyEvent) {
	if k.Name == desktop.KeyShiftLeft || k.Name == desktop.KeyShiftRight {
		shiftDown[e.pane] = true
	}
	e.Entry.KeyDown(k)
}

// KeyUp notes Shift's release and is the entry's otherwise.
func (e *searchEntry) KeyUp(k *fyne.KeyEvent) {
	if k.Name == desktop.KeyShiftLeft || k.Name == desktop.KeyShiftRight {
		delete(shiftDown, e.pane)
	}
	e.Entry.KeyUp(k)
}

// FocusLost forgets Shift (its release may go elsewhere) and is the
// entry's otherwise.
func (e *searchEntry) FocusLost() {
	delete(shiftDown, e.pane)
	e.Entry.FocusLost()
}

// ShiftHeld reports whether Shift is held down on the search box, so that
// OnActivate can tell Shift+Enter from Enter.
func (d *DirectoryPane) ShiftHeld() bool { return shiftDown[d] }

// RowAt returns the index of the row drawn at pos, an absolute canvas
// position (as a DropTarget is given), and false when pos is on no row.
// Every row is as tall as the list's template row.
func (d *DirectoryPane) RowAt(pos fyne.Position) (int, bool) {
	drv := fyne.CurrentApp().Driver()
	if drv.CanvasForObject(d.list) == nil || !d.list.Visible() {
		return 0, false
	}
	at := pos.Subtract(drv.AbsolutePositionForObject(d.list))
	size := d.list.Size()
	if at.X < 0 || at.Y < 0 || at.X >= size.Width || at.Y >= size.Height {
		return 0, false
	}
	h := newDirectoryRowView(d).MinSize().Height
	step := h + d.list.Theme().Size(theme.SizeNamePadding)
	if step <= 0 {
		return 0, false
	}
	y := at.Y + d.list.GetScrollOffset()
	i := int(y / step)
	if y-float32(i)*step > h || i >= len(d.Rows) {
		return 0, false // on a separator, or below the last row
	}
	return i, true
}

// RowPlace is where a row of the pane is drawn on the canvas.
type RowPlace struct {
	// Index is the row's index in Rows.
	Index int
	// Pos is the row's top left, an absolute canvas position.
	Pos fyne.Position
	// Size is the row's size.
	Size fyne.Size
}

// RowPlaces returns where the rows wholly on screen are, top first, as
// RowAt finds them: a drop at the middle of a place is on its row. It
// returns none while the pane is not on a canvas.
func (d *DirectoryPane) RowPlaces() []RowPlace {
	drv := fyne.CurrentApp().Driver()
	if drv.CanvasForObject(d.list) == nil || !d.list.Visible() {
		return nil
	}
	origin := drv.AbsolutePositionForObject(d.list)
	size := d.list.Size()
	h := newDirectoryRowView(d).MinSize().Height
	step := h + d.list.Theme().Size(theme.SizeNamePadding)
	if step <= 0 {
		return nil
	}
	off := d.list.GetScrollOffset()
	var out []RowPlace
	for i := max(0, int(off/step)); i < len(d.Rows); i++ {
		y := float32(i)*step - off
		if y+h > size.Height {
			break
		}
		if y < 0 {
			continue
		}
		out = append(out, RowPlace{Index: i, Pos: origin.AddXY(0, y), Size: fyne.NewSize(size.Width, h)})
	}
	return out
}
