package app

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
	"github.com/switchboard/switchboard/widgets"
)

// maxHistory is how many entries the history keeps.
const maxHistory = 100

// history is the panel of what happened to the calls, newest first:
// answered, parked, retrieved, left an orbit, missed. Entries about a
// caller who did not get through carry a "Call back" button.
type history struct {
	box      *fyne.Container
	col      *fyne.Container // the placeholder and box
	empty    *widget.Label
	entries  []historyEntry
	callBack func(uri string)
}

type historyEntry struct {
	at     time.Time
	text   string
	uri    string         // call back; empty for none
	button *widget.Button // "Call back", or nil
}

func newHistory(callBack func(uri string)) *history {
	h := &history{box: container.NewVBox(), callBack: callBack}
	h.empty = widget.NewLabel("Nothing yet.")
	h.empty.Importance = widget.LowImportance
	return h
}

func (h *history) view() fyne.CanvasObject {
	h.col = container.NewVBox(h.empty, h.box)
	return container.NewVScroll(h.col)
}

// add puts an entry on top; uri, when set, is the number the "Call back"
// button dials.
func (h *history) add(at time.Time, text, uri string) {
	e := historyEntry{at: at, text: text, uri: uri}
	when := widget.NewLabel(at.Format("15:04"))
	when.Importance = widget.LowImportance
	what := widget.NewLabel(text)
	what.Truncation = fyne.TextTruncateEllipsis
	var right fyne.CanvasObject
	if uri != "" && h.callBack != nil {
		e.button = widget.NewButtonWithIcon("Call back", widgets.PhoneIcon(), func() { h.callBack(uri) })
		e.button.Importance = widget.LowImportance
		right = e.button
	}
	row := container.NewBorder(nil, nil, when, right, what)
	h.entries = append([]historyEntry{e}, h.entries...)
	h.box.Objects = append([]fyne.CanvasObject{row}, h.box.Objects...)
	if len(h.entries) > maxHistory {
		h.entries = h.entries[:maxHistory]
		h.box.Objects = h.box.Objects[:maxHistory]
	}
	h.empty.Hide()
	h.box.Refresh()
	h.col.Refresh()
}

// texts returns the entries' words, newest first.
func (h *history) texts() []string {
	out := make([]string, len(h.entries))
	for i, e := range h.entries {
		out[i] = e.text
		if e.uri != "" {
			out[i] += " [call back]"
		}
	}
	return out
}
