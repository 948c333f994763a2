package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/calllog"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// maxHistory is how many entries the history panel shows (the call log
// keeps the rest; the search box finds them).
const maxHistory = 200

// searchTimeout bounds one search of the call log.
const searchTimeout = 10 * time.Second

// history is the panel of the call log, newest first: what became of
// each call (answered, parked, retrieved, gave up, missed...), with a
// search box. Entries about a caller who did not get through carry a
// "Call back" button until the receptionist calls back. While the
// pointer is over the list, new entries wait above it behind an "N new"
// button, so that nothing moves under the pointer. It belongs to Fyne's
// goroutine.
type history struct {
	c       *Console
	list    *widget.List
	empty   *widget.Label
	search  *widget.Entry
	more    *widget.Button // "N new": shows the waiting entries
	entries []calllog.Entry
	// waiting are new entries held back while the pointer is over the
	// list, newest first.
	waiting []calllog.Entry
	// query is the search in force; asked counts the searches, so that
	// an old one's late answer is dropped.
	query   string
	asked   int
	pointer bool
	// kept are the newest entries whatever the search, for searches
	// when there is no call log.
	kept []calllog.Entry
	seq  int64 // entry IDs when there is no call log
}

func (c *Console) newHistory() *history {
	h := &history{c: c}
	h.empty = widget.NewLabel("Nothing yet.")
	h.empty.Importance = widget.LowImportance
	h.search = widget.NewEntry()
	h.search.SetPlaceHolder("Search name or number")
	h.search.OnChanged = h.setQuery
	h.more = widget.NewButton("", h.showWaiting)
	h.more.Importance = widget.HighImportance
	h.more.Hide()
	h.list = widget.NewList(func() int { return len(h.entries) }, newHistoryRow, h.updateRow)
	if log := c.opts.CallLog; log != nil {
		ctx, cancel := context.WithTimeout(context.Background(), searchTimeout)
		defer cancel()
		es, err := log.Recent(ctx, maxHistory)
		if err != nil {
			c.log.Warn("call log: reading the recent calls", "error", err)
		}
		h.entries = es
	}
	h.kept = append([]calllog.Entry(nil), h.entries...)
	h.showEmpty()
	return h
}

// view is the panel with its heading, search box and list.
func (h *history) view() fyne.CanvasObject {
	head := container.NewBorder(nil, nil, heading("History"), h.more, h.search)
	body := container.NewStack(h.empty, h.list, newPointerArea(h.pointerIn, h.pointerOut))
	return container.NewBorder(head, nil, nil, nil, body)
}

// historyRow is one entry: its time, its words and its call-back button
// or mark.
type historyRow struct {
	widget.BaseWidget
	when, what, done *widget.Label
	call             *widget.Button
}

func newHistoryRow() fyne.CanvasObject {
	r := &historyRow{when: widget.NewLabel("00:00"), what: widget.NewLabel(""), done: widget.NewLabel("called back")}
	r.when.Importance = widget.LowImportance
	r.done.Importance = widget.LowImportance
	r.what.Truncation = fyne.TextTruncateEllipsis
	r.call = widget.NewButtonWithIcon("Call back", widgets.PhoneIcon(), nil)
	r.call.Importance = widget.LowImportance
	r.ExtendBaseWidget(r)
	return r
}

// CreateRenderer lays the row out: time, words, button.
func (r *historyRow) CreateRenderer() fyne.WidgetRenderer {
	right := container.NewStack(r.call, r.done)
	return widget.NewSimpleRenderer(container.NewBorder(nil, nil, r.when, right, r.what))
}

func (h *history) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	r, ok := o.(*historyRow)
	if !ok || id < 0 || id >= len(h.entries) {
		return
	}
	e := h.entries[id]
	r.when.SetText(h.when(e.Started))
	r.what.SetText(entryText(e))
	switch {
	case e.Outcome.NeedsCallBack() && e.URI != "" && !e.Handled:
		r.done.Hide()
		r.call.OnTapped = func() { h.callBack(e) }
		r.call.Show()
	case e.Outcome.NeedsCallBack() && e.Handled:
		r.call.Hide()
		r.done.Show()
	default:
		r.call.Hide()
		r.done.Hide()
	}
}

// when words an entry's time: the hour today, the day too before.
func (h *history) when(t time.Time) string {
	now := h.c.now()
	if y, m, d := now.Date(); t.Year() == y && t.Month() == m && t.Day() == d {
		return t.Format("15:04")
	}
	return t.Format("2 Jan 15:04")
}

// callBack dials the caller of e and marks its entries handled.
func (h *history) callBack(e calllog.Entry) {
	h.c.calledBack(e.URI)
	h.c.callBack(e.URI)
	h.c.changed()
}

// put shows e: in place when it is shown or waiting already, on top
// (or waiting, while the pointer is over the list) when it is new and
// matches the search.
func (h *history) put(e calllog.Entry) {
	h.keep(e)
	for i := range h.entries {
		if h.entries[i].ID == e.ID {
			h.entries[i] = e
			h.list.RefreshItem(i)
			return
		}
	}
	for i := range h.waiting {
		if h.waiting[i].ID == e.ID {
			h.waiting[i] = e
			return
		}
	}
	if !calllog.Matches(e, h.query) {
		return
	}
	if h.pointer {
		h.waiting = append([]calllog.Entry{e}, h.waiting...)
		h.showMore()
		return
	}
	h.entries = append([]calllog.Entry{e}, h.entries...)
	h.trim()
	h.list.Refresh()
	h.showEmpty()
}

// handled marks the call-back entries of the party with key handled.
func (h *history) handled(key string) {
	for _, es := range [][]calllog.Entry{h.entries, h.waiting, h.kept} {
		for i := range es {
			if es[i].Outcome.NeedsCallBack() && calllog.PartyKey(es[i].URI) == key {
				es[i].Handled = true
			}
		}
	}
	h.list.Refresh()
}

// parkedOn finds the newest entry that says its call is parked on orbit
// n, for the caller at uri.
func (h *history) parkedOn(n int, uri string) (calllog.Entry, bool) {
	for _, e := range append(append([]calllog.Entry(nil), h.waiting...), h.entries...) {
		if (e.Outcome == calllog.Parked || e.Outcome == calllog.Returned) && e.Orbit == n && telephony.SameParty(e.URI, uri) {
			return e, true
		}
	}
	return calllog.Entry{}, false
}

// keep notes e in kept.
func (h *history) keep(e calllog.Entry) {
	for i := range h.kept {
		if h.kept[i].ID == e.ID {
			h.kept[i] = e
			return
		}
	}
	h.kept = append([]calllog.Entry{e}, h.kept...)
	if len(h.kept) > maxHistory {
		h.kept = h.kept[:maxHistory]
	}
}

func (h *history) trim() {
	if len(h.entries) > maxHistory {
		h.entries = h.entries[:maxHistory]
	}
}

func (h *history) showEmpty() {
	switch {
	case len(h.entries) > 0:
		h.empty.Hide()
	case h.query != "":
		h.empty.SetText("No call matches " + h.query + ".")
		h.empty.Show()
	default:
		h.empty.SetText("Nothing yet.")
		h.empty.Show()
	}
}

func (h *history) showMore() {
	h.more.SetText(fmt.Sprintf("%d new", len(h.waiting)))
	h.more.Show()
}

// showWaiting puts the waiting entries on top.
func (h *history) showWaiting() {
	if len(h.waiting) == 0 {
		return
	}
	h.entries = append(h.waiting, h.entries...)
	h.waiting = nil
	h.trim()
	h.more.Hide()
	h.list.Refresh()
	h.list.ScrollToTop()
	h.showEmpty()
	h.c.changed()
}

func (h *history) pointerIn() { h.pointer = true }

// pointerOut shows what waited: nothing is under the pointer now.
func (h *history) pointerOut() {
	h.pointer = false
	h.showWaiting()
}

// setQuery shows the entries that match q: from the call log (off
// Fyne's goroutine), or from those held here when there is none.
func (h *history) setQuery(q string) {
	q = strings.TrimSpace(q)
	if q == h.query {
		return
	}
	h.query = q
	h.asked++
	asked := h.asked
	log := h.c.opts.CallLog
	if log == nil {
		var out []calllog.Entry
		for _, e := range h.kept {
			if calllog.Matches(e, q) {
				out = append(out, e)
			}
		}
		h.show(out)
		return
	}
	h.c.spawn(func() {
		ctx, cancel := context.WithTimeout(h.c.ctx, searchTimeout)
		defer cancel()
		// What the window wrote just before is part of the answer.
		err := log.Flush(ctx)
		var es []calllog.Entry
		if err == nil {
			es, err = log.Search(ctx, q, maxHistory)
		}
		h.c.do(func() {
			if err != nil {
				h.c.log.Warn("call log: search", "query", q, "error", err)
				h.c.flash("The call log could not be searched; see the log for details")
				h.c.changed()
				return
			}
			if asked == h.asked {
				h.show(es)
				h.c.changed()
			}
		})
	})
}

func (h *history) show(es []calllog.Entry) {
	h.entries, h.waiting = es, nil
	h.more.Hide()
	h.trim()
	h.list.Refresh()
	h.list.ScrollToTop()
	h.showEmpty()
}

// texts returns the entries' words, newest first, with the state of
// their call-back.
func (h *history) texts() []string {
	out := make([]string, len(h.entries))
	for i, e := range h.entries {
		out[i] = entryText(e)
		switch {
		case e.Outcome.NeedsCallBack() && e.Handled:
			out[i] += " [called back]"
		case e.Outcome.NeedsCallBack() && e.URI != "":
			out[i] += " [call back]"
		}
	}
	return out
}

// pointerArea lies over the history's list and tells when the pointer
// comes and goes: the list's rows and buttons each take the pointer for
// themselves, this sees the whole list. Taps and scrolls pass through.
type pointerArea struct {
	widget.BaseWidget
	in, out func()
}

func newPointerArea(in, out func()) *pointerArea {
	a := &pointerArea{in: in, out: out}
	a.ExtendBaseWidget(a)
	return a
}

// CreateRenderer draws nothing.
func (a *pointerArea) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewWithoutLayout())
}

// MouseIn is the pointer coming over the list.
func (a *pointerArea) MouseIn(*desktop.MouseEvent) { a.in() }

// MouseMoved is the pointer moving over the list.
func (a *pointerArea) MouseMoved(*desktop.MouseEvent) {}

// MouseOut is the pointer leaving the list.
func (a *pointerArea) MouseOut() { a.out() }
