package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// EntryOf returns the text entry o is (a plain entry, or one on which
// Esc closes its dialog), for the tests that look entries up.
func EntryOf(o fyne.CanvasObject) (*widget.Entry, bool) {
	switch e := o.(type) {
	case *widget.Entry:
		return e, true
	case *escEntry:
		return &e.Entry, true
	}
	return nil, false
}
