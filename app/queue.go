package app

import (
	"slices"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/telephony"
)

// The Lines pane is a queue: its heading counts the callers who wait,
// its cards are ordered by the time each caller has been in (from the
// first ring, through hold, park and ring-back), Enter answers and H
// resumes the one who has waited longest; with many calls the cards turn
// compact, and the history below gives up its room on request.

const (
	// compactAbove is how many calls the lines show in full; more are
	// compact, so that six ringing calls fit a 1024×700 window.
	compactAbove = 4
	// longWait is the time in from which a waiting caller is marked a
	// long wait.
	longWait = time.Minute
	// defaultLinesSplit is the share of the column the lines take before
	// the receptionist moves the split.
	defaultLinesSplit = 0.7
	// maxAutoSplit is how far the lines push the history down by
	// themselves when their cards need the room.
	maxAutoSplit = 0.85
	// Preferences keys of the split and the history's collapse.
	prefLinesSplit    = "lines.split"
	prefHistoryHidden = "history.hidden"
)

// queue is the Lines pane's state.
type queue struct {
	head   *widget.Label
	toggle *widget.Button
	top    fyne.CanvasObject // the heading's row
	split  *container.Split
	hist   fyne.CanvasObject
	saved  float64 // the split's offset the receptionist chose (or the default)
	auto   float64 // the offset the lines took for their cards, 0 for none
	// parked remembers, by orbit, when the callers this console parked
	// first came in, for their ring-backs and retrieves.
	parked map[int]parkedCaller
}

// parkedCaller is a caller this console parked.
type parkedCaller struct {
	uri       string
	firstSeen time.Time
}

// linesPane lays out the Lines heading (with the waiting count and the
// history's toggle) and lines over hist, in a split the receptionist
// moves and that is remembered.
func (c *Console) linesPane(lines, hist fyne.CanvasObject) fyne.CanvasObject {
	q := &c.queue
	q.hist = hist
	q.head = widget.NewLabelWithStyle("Lines", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	q.toggle = widget.NewButton("Hide history", c.toggleHistory)
	q.toggle.Importance = widget.LowImportance
	q.top = container.NewBorder(nil, nil, nil, q.toggle, q.head)
	q.split = container.NewVSplit(container.NewBorder(q.top, nil, nil, nil, lines), hist)
	q.saved = c.prefs.FloatWithFallback(prefLinesSplit, defaultLinesSplit)
	q.split.Offset = q.saved
	if c.prefs.Bool(prefHistoryHidden) {
		hist.Hide()
		q.toggle.SetText("Show history")
	}
	return q.split
}

// toggleHistory hides the history (the lines take the column) or shows
// it again, and remembers which.
func (c *Console) toggleHistory() {
	q := &c.queue
	hidden := q.hist.Visible()
	if hidden {
		q.hist.Hide()
		q.toggle.SetText("Show history")
	} else {
		q.hist.Show()
		q.toggle.SetText("Hide history")
	}
	c.prefs.SetBool(prefHistoryHidden, hidden)
	q.split.Refresh()
	c.fitLines()
}

// rememberLayout saves the split's offset when the receptionist moved
// it; Tick calls it.
func (c *Console) rememberLayout() {
	q := &c.queue
	if q.split == nil || !q.hist.Visible() || q.split.Offset == q.saved || q.split.Offset == q.auto {
		return
	}
	q.saved, q.auto = q.split.Offset, 0
	c.prefs.SetFloat(prefLinesSplit, q.saved)
}

// fitLines gives the lines the room their cards need, up to
// maxAutoSplit of the column, pushing the history down; with fewer calls
// the split goes back where the receptionist left it.
func (c *Console) fitLines() {
	q := &c.queue
	c.rememberLayout() // a move not yet remembered is the receptionist's
	if q.split == nil || !q.hist.Visible() {
		return
	}
	total := q.split.Size().Height
	if total <= 0 {
		return // not laid out yet
	}
	need := q.top.MinSize().Height + c.linesCol.MinSize().Height + 2*theme.Padding()
	want := q.saved
	if f := float64(need/total) + 0.01; f > want {
		want = min(f, maxAutoSplit)
	}
	if q.split.Offset != want {
		q.auto = want
		q.split.SetOffset(want)
	}
}

// firstSeen is when the caller of a new line came in: the call's start,
// or for a ring-back or a retrieve, when the caller parked on that orbit
// first came in (this console's note of it, else the orbit's park time).
func (c *Console) firstSeen(call telephony.Call, now time.Time) time.Time {
	at := call.Started
	if at.IsZero() {
		at = now
	}
	n := call.BackFrom
	if n == 0 {
		n = call.RetrievedFrom
	}
	if n == 0 {
		return at
	}
	if p, ok := c.queue.parked[n]; ok && sameCaller(p.uri, call.RemoteURI) && p.firstSeen.Before(at) {
		at = p.firstSeen
	}
	if v := c.orbits[n]; v != nil && v.o.Occupied && !v.o.ParkedAt.IsZero() && v.o.ParkedAt.Before(at) &&
		(v.o.CallerURI == "" || call.RemoteURI == "" || sameCaller(v.o.CallerURI, call.RemoteURI)) {
		at = v.o.ParkedAt
	}
	return at
}

// sameCaller reports whether two addresses name one caller, as the
// window shows them.
func sameCaller(a, b string) bool { return displayNumber(a) == displayNumber(b) }

// notePark remembers the caller of l, parked on orbit n by this console.
func (c *Console) notePark(l *line, n int) {
	if c.queue.parked == nil {
		c.queue.parked = make(map[int]parkedCaller)
	}
	c.queue.parked[n] = parkedCaller{uri: l.call.RemoteURI, firstSeen: l.firstSeen}
}

// queueChanged orders the cards by time in, counts the waiting callers
// in the heading and makes the cards compact when there are many.
func (c *Console) queueChanged() {
	slices.SortStableFunc(c.order, func(a, b *line) int { return a.firstSeen.Compare(b.firstSeen) })
	objs := make([]fyne.CanvasObject, len(c.order))
	for i, l := range c.order {
		objs[i] = l.card
	}
	if !slices.Equal(objs, c.linesBox.Objects) {
		c.linesBox.Objects = objs
		c.linesBox.Refresh()
	}
	waiting := 0
	for _, l := range c.order {
		if isWaiting(l) {
			waiting++
		}
	}
	if c.queue.head != nil {
		text := "Lines"
		if waiting > 0 {
			text += " · " + strconv.Itoa(waiting) + " waiting"
		}
		if c.queue.head.Text != text {
			c.queue.head.SetText(text)
		}
	}
	compact := len(c.order) > compactAbove
	resized := false
	for _, l := range c.order {
		if l.card.Compact != compact {
			l.card.Compact = compact
			l.card.Refresh()
			resized = true
		}
	}
	if resized {
		c.linesBox.Refresh() // the cards' heights changed: lay them out again
	}
	c.fitLines()
}

// isWaiting reports whether the caller of l waits for the receptionist:
// the call rings (or rings back) or is held.
func isWaiting(l *line) bool {
	if !l.leaveAt.IsZero() {
		return false
	}
	return l.call.State == telephony.StateRinging || l.call.State == telephony.StateHeld
}
