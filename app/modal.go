package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// A dialog is modal: while one is open the console's keys are off (Enter
// does not answer behind the Keys help, Esc does not ask to hang up on
// top of it) and Esc closes the dialog.

// openDialog is one dialog the console opened.
type openDialog struct {
	dlg dialog.Dialog
	esc func() // what Esc does: close it (or answer no)
}

// showDialog shows d as modal; esc is what Esc does on it (d.Hide when
// nil).
func (c *Console) showDialog(d dialog.Dialog, esc func()) {
	if esc == nil {
		esc = d.Hide
	}
	od := &openDialog{dlg: d, esc: esc}
	c.dialogs = append(c.dialogs, od)
	d.SetOnClosed(func() {
		for i, o := range c.dialogs {
			if o == od {
				c.dialogs = append(c.dialogs[:i], c.dialogs[i+1:]...)
				break
			}
		}
	})
	d.Show()
}

// modal reports whether a dialog (or any other overlay, a menu, a
// dialog another part opened) is on the window: the console's keys are
// off.
func (c *Console) modal() bool {
	return len(c.dialogs) > 0 || c.win.Canvas().Overlays().Top() != nil
}

// escapeDialog does what Esc does on the dialog on top: closes it.
func (c *Console) escapeDialog() {
	if n := len(c.dialogs); n > 0 {
		c.dialogs[n-1].esc()
		return
	}
	if top := c.win.Canvas().Overlays().Top(); top != nil {
		top.Hide() // a pop-up hides itself off the overlays
	}
}

// escEntry is an entry on which Esc calls onEsc (its dialog closes):
// Fyne's entry keeps Esc to itself.
type escEntry struct {
	widget.Entry
	onEsc func()
}

func newEscEntry() *escEntry {
	e := &escEntry{}
	e.ExtendBaseWidget(e)
	return e
}

// TypedKey calls onEsc on Esc, and is the entry's otherwise.
func (e *escEntry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape && e.onEsc != nil {
		e.onEsc()
		return
	}
	e.Entry.TypedKey(ev)
}
