package app

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/switchboard/switchboard/directory"
	"github.com/switchboard/switchboard/telephony"
)

// Park for someone (issue 16).
//
// The common case costs nothing more: a call dropped on a slot, or p,
// parks at once, for nobody. With Shift (a drop with Shift held, or P)
// the console asks whom the call is for before it parks: a small prompt
// whose search box (focused) looks the directory up as the People pane
// does, with the contact selected in the People pane (the one last
// under the pointer) offered first, and a note. Enter parks for the
// contact offered (or for nobody when none is), Up and Down choose
// another, "Nobody" parks for nobody at once, Esc parks nothing (the
// call stays on the lines). Without a directory the box takes an
// extension or SIP address.
//
// Every console then shows "for Bob Chen" on the slot (the park service
// keeps whom the call is for; with a PBX lot only this console knows),
// and the phone tells Bob by a SIP MESSAGE. A console that gets such a
// message (telephony.ParkedForYou) asks its receptionist, with Retrieve.

// forWhom is the console's memory of the names it parked calls for (by
// address), so its slots name them even when the directory does not.
type forWhom struct {
	names   map[string]string
	prompt  *parkForPrompt              // the prompt open, if any
	notices map[noticeKey]dialog.Dialog // park notices shown, by notice
}

// whom returns the console's forWhom, made at first use.
func (c *Console) whom() *forWhom {
	if c.forWhom == nil {
		c.forWhom = &forWhom{names: map[string]string{}}
	}
	return c.forWhom
}

// maxForRows is how many people the prompt offers at once.
const maxForRows = 5

// forCandidate is one person the prompt offers.
type forCandidate struct {
	name, target string
}

// parkForPrompt is the open "Park for…" prompt.
type parkForPrompt struct {
	c      *Console
	cardID string
	orbit  int
	dlg    dialog.Dialog
	search *forEntry
	note   *forEntry
	rows   *fyne.Container
	cands  []forCandidate
	pick   int // the candidate Enter parks for; -1: nobody
	done   bool
}

// forEntry is the prompt's entry: Esc cancels, Up and Down choose.
type forEntry struct {
	widget.Entry
	onKey func(fyne.KeyName) bool // true: the key was taken
}

func newForEntry() *forEntry {
	e := &forEntry{}
	e.ExtendBaseWidget(e)
	return e
}

// TypedKey gives Esc, Up and Down to onKey first.
func (e *forEntry) TypedKey(ev *fyne.KeyEvent) {
	if e.onKey != nil && e.onKey(ev.Name) {
		return
	}
	e.Entry.TypedKey(ev)
}

// askParkFor opens the "Park for…" prompt for the card's call, to park
// it on orbit (the grid's OnParkFor, and P).
func (c *Console) askParkFor(cardID string, orbit int) {
	l := c.lines[telephony.CallID(cardID)]
	if l == nil {
		c.grid.ClearHint(orbit)
		return
	}
	p := &parkForPrompt{c: c, cardID: cardID, orbit: orbit, pick: -1}
	c.whom().prompt = p
	p.search = newForEntry()
	p.search.SetPlaceHolder("Name, extension or SIP address")
	p.search.onKey = p.key
	p.search.OnChanged = func(string) { p.find() }
	p.search.OnSubmitted = func(string) { p.confirm() }
	p.note = newForEntry()
	p.note.SetPlaceHolder("Note (optional)")
	p.note.onKey = p.key
	p.note.OnChanged = func(s string) {
		if utf8.RuneCountInString(s) > telephony.MaxParkNote {
			p.note.SetText(string([]rune(s)[:telephony.MaxParkNote]))
		}
	}
	p.note.OnSubmitted = func(string) { p.confirm() }
	p.rows = container.NewVBox()
	nobody := widget.NewButtonWithIcon("Nobody", theme.ConfirmIcon(), func() {
		p.pick = -1
		p.confirm()
	})
	caller := who(l.call.RemoteName, l.call.RemoteURI)
	head := widget.NewLabel("Park " + caller + " on " + itoa(orbit) + " for…")
	head.Truncation = fyne.TextTruncateEllipsis
	content := container.NewVBox(head, p.search, p.rows, p.note, nobody)
	p.dlg = dialog.NewCustomWithoutButtons("Park for…", content, c.win)
	p.dlg.SetOnClosed(func() {
		if c.forWhom.prompt == p {
			c.forWhom.prompt = nil
		}
		if !p.done {
			p.done = true
			c.grid.ClearHint(orbit)
			c.changed()
		}
	})
	p.find()
	c.showDialog(p.dlg, p.cancel)
	p.dlg.Resize(fyne.NewSize(420, content.MinSize().Height+80))
	c.win.Canvas().Focus(p.search)
}

// key handles the prompt's keys on its entries.
func (p *parkForPrompt) key(k fyne.KeyName) bool {
	switch k {
	case fyne.KeyEscape:
		p.cancel()
	case fyne.KeyDown:
		if p.pick+1 < len(p.cands) {
			p.pick++
			p.show()
		}
	case fyne.KeyUp:
		if p.pick > 0 {
			p.pick--
			p.show()
		}
	default:
		return false
	}
	return true
}

// find offers the people matching the search: the People pane's
// selection when it is empty, an address typed when nobody matches.
func (p *parkForPrompt) find() {
	q := strings.TrimSpace(p.search.Text)
	c := p.c
	p.cands = p.cands[:0]
	if c.people != nil {
		if q == "" {
			if ct, ok := c.selectedContact(); ok && contactTarget(ct) != "" {
				p.cands = append(p.cands, forCandidate{name: ct.Name, target: contactTarget(ct)})
			}
		} else {
			for _, ct := range c.people.dir.Search(q, maxForRows) {
				if t := contactTarget(ct); t != "" {
					p.cands = append(p.cands, forCandidate{name: ct.Name, target: t})
				}
			}
		}
	}
	if len(p.cands) == 0 && q != "" && looksLikeAddress(q) {
		p.cands = append(p.cands, forCandidate{name: q, target: q})
	}
	p.pick = -1
	if len(p.cands) > 0 {
		p.pick = 0
	}
	p.show()
}

// looksLikeAddress reports whether s may be dialled: a number or a SIP
// address.
func looksLikeAddress(s string) bool {
	return isNumber(s) || strings.Contains(s, "@") || strings.HasPrefix(s, "sip:") || strings.HasPrefix(s, "sips:")
}

// show redraws the offered people, the one Enter takes marked.
func (p *parkForPrompt) show() {
	p.rows.RemoveAll()
	for i, cd := range p.cands {
		b := widget.NewButton(cd.name, func() {
			p.pick = i
			p.confirm()
		})
		b.Alignment = widget.ButtonAlignLeading
		if i == p.pick {
			b.Importance = widget.HighImportance
			b.SetIcon(theme.ConfirmIcon())
		}
		p.rows.Add(b)
	}
	if len(p.cands) == 0 {
		p.rows.Add(widget.NewLabel("Enter parks for nobody"))
	}
	p.rows.Refresh()
}

// Picked is whom Enter would park the call for now ("" for nobody).
func (p *parkForPrompt) picked() forCandidate {
	if p.pick < 0 || p.pick >= len(p.cands) {
		return forCandidate{}
	}
	return p.cands[p.pick]
}

// confirm parks the call for the person picked, with the note.
func (p *parkForPrompt) confirm() {
	if p.done {
		return
	}
	p.done = true
	cd := p.picked()
	f := telephony.ParkFor{For: cd.target, Name: cd.name, Note: telephony.CleanNote(p.note.Text)}
	p.dlg.Hide()
	p.c.parkFor(p.cardID, p.orbit, f)
	p.c.changed()
}

// cancel closes the prompt; the call stays on the lines.
func (p *parkForPrompt) cancel() {
	p.dlg.Hide()
}

// parkFor parks the card's call on orbit for f.
func (c *Console) parkFor(cardID string, orbit int, f telephony.ParkFor) {
	if f.Nobody() {
		c.park(cardID, orbit)
		return
	}
	if f.For != "" && f.Name != "" {
		c.whom().names[f.For] = f.Name
	}
	id := telephony.CallID(cardID)
	what := "park the call on " + itoa(orbit)
	if f.Name != "" {
		what += " for " + f.Name
	}
	c.act(what, func(ctx context.Context) error { return c.phone.ParkFor(ctx, id, orbit, f) })
}

// parkNextFreeFor asks whom the live call (or the one held longest) is
// for, to park it on the next free orbit (P).
func (c *Console) parkNextFreeFor() {
	l := c.live()
	if l == nil {
		l = c.held()
	}
	if l == nil {
		c.flash("No live or held call to park")
		return
	}
	n, ok := c.grid.NextFree()
	if !ok {
		c.parkNextFree() // says why
		return
	}
	c.askParkFor(string(l.call.ID), n)
}

// shiftPark reports whether the park key r was typed with Shift: the
// desktop driver says (so Caps Lock's P parks at once like p); a driver
// without keyboard state (Fyne's test driver) by the capital.
func shiftPark(r rune) bool {
	if d, ok := fyne.CurrentApp().Driver().(desktop.Driver); ok {
		return d.CurrentKeyModifiers()&fyne.KeyModifierShift != 0
	}
	return r == 'P'
}

// selectedContact is the contact selected in the People pane.
func (c *Console) selectedContact() (directory.Contact, bool) {
	p := c.people
	if p == nil || p.pane.Selected < 0 || p.pane.Selected >= len(p.pane.Rows) {
		return directory.Contact{}, false
	}
	ct, ok := p.rows[p.pane.Rows[p.pane.Selected].ID]
	return ct, ok
}

// forName is how a slot names whom its call is for: the name this
// console parked it for, the directory's name for the address, else the
// address as a receptionist reads it.
func (c *Console) forName(uri string) string {
	if uri == "" {
		return ""
	}
	if c.forWhom != nil {
		if n, ok := c.forWhom.names[uri]; ok {
			return n
		}
	}
	num := displayNumber(uri)
	if c.people != nil {
		for _, ct := range c.people.dir.Search(num, maxForRows) {
			if ct.URI != "" && telephony.SameParty(ct.URI, uri) || ct.Extension != "" && ct.Extension == num {
				return ct.Name
			}
		}
	}
	return num
}

// cardDetail is a card's small print (cardDetail), and for a ring-back
// of a call parked for someone, whom for and the note: "for Bob Chen:
// contract".
func (c *Console) cardDetail(call telephony.Call) string {
	d := cardDetail(call)
	if d != "" || call.State != telephony.StateRinging || call.BackFrom == 0 || call.ParkedFor == "" && call.ParkNote == "" {
		return d
	}
	switch name := c.forName(call.ParkedFor); {
	case name != "" && call.ParkNote != "":
		return "for " + name + ": " + call.ParkNote
	case name != "":
		return "for " + name
	}
	return call.ParkNote
}

// showFor puts whom orbit o's call is for on its slot.
func (c *Console) showFor(o telephony.Orbit) {
	slot := c.grid.Slot(o.Number)
	if slot == nil {
		return
	}
	if !o.Occupied || o.Lamp != telephony.LampKnown {
		slot.SetFor("", "")
		return
	}
	slot.SetFor(c.forName(o.For), o.Note)
}

// noticeKey names a park notice across the phone's rechecks of it.
type noticeKey struct {
	orbit int
	at    time.Time
}

// parkedForYou shows a park notice. Anyone may send one, so the phone
// checks it against the orbit's lamp (telephony.CheckNotice) and the
// window offers Retrieve only when the lamp confirms it; otherwise it
// shows the notice as information with why ("Eva Novak was already
// picked up from 705"). The phone reports a notice again when its check
// changes: the open dialog is replaced by what the lamp says now (a
// genuine notice that came before the lamp lit gains Retrieve, one
// whose call left says so); a notice already dealt with stays closed.
func (c *Console) parkedForYou(n telephony.ParkedForYou) {
	w := c.whom()
	if w.notices == nil {
		w.notices = map[noticeKey]dialog.Dialog{}
	}
	key := noticeKey{n.Orbit, n.At}
	old, had := w.notices[key]
	open := had && c.dialogOpen(old)
	for k, d := range w.notices {
		if !c.dialogOpen(d) {
			delete(w.notices, k)
		}
	}
	if n.Recheck && !open {
		return
	}
	if open {
		old.Hide()
	}
	text := n.Text
	if text == "" {
		text = "Call for you on " + itoa(n.Orbit)
	}
	from := n.FromName
	if from == "" {
		from = shortParty(n.From)
	}
	var parkedBy fyne.CanvasObject
	if from != "" {
		parkedBy = widget.NewLabel("Parked by " + from)
	}
	var d dialog.Dialog
	if n.Check == telephony.NoticeConfirmed {
		body := widget.NewLabel(text)
		body.Wrapping = fyne.TextWrapWord
		items := []fyne.CanvasObject{body}
		if parkedBy != nil {
			items = append(items, parkedBy)
		}
		c.lastNote = "Call for you: " + text
		if !had {
			c.notify("Call for you", text)
		}
		d = dialog.NewCustomConfirm("Call for you", "Retrieve", "Later", container.NewVBox(items...), func(ok bool) {
			if ok {
				c.retrieveParked(n)
				c.changed()
			}
		}, c.win)
	} else {
		why := widget.NewLabel(n.Why())
		why.Wrapping = fyne.TextWrapWord
		why.Importance = widget.WarningImportance
		items := []fyne.CanvasObject{why}
		if n.Check != telephony.NoticeGone {
			body := widget.NewLabel(text)
			body.Wrapping = fyne.TextWrapWord
			items = []fyne.CanvasObject{body, why}
		}
		if parkedBy != nil {
			items = append(items, parkedBy)
		}
		c.lastNote = "Park notice: " + n.Why()
		if !had {
			c.notify("Park notice", n.Why())
		}
		d = dialog.NewCustom("Park notice", "OK", container.NewVBox(items...), c.win)
	}
	w.notices[key] = d
	c.showDialog(d, nil)
	d.Resize(fyne.NewSize(420, 200))
}

// dialogOpen reports whether d is among the window's open dialogs.
func (c *Console) dialogOpen(d dialog.Dialog) bool {
	for _, o := range c.dialogs {
		if o.dlg == d {
			return true
		}
	}
	return false
}

// retrieveParked retrieves the call a park notice told of.
func (c *Console) retrieveParked(n telephony.ParkedForYou) {
	orbit := n.Orbit
	if _, busy := c.retrieving[orbit]; busy {
		return
	}
	parked := c.now()
	if v := c.orbits[orbit]; v != nil && v.o.Occupied {
		parked = v.since
	}
	c.retrieving[orbit] = parked
	c.act("retrieve the call on "+itoa(orbit), func(ctx context.Context) error {
		_, err := c.phone.RetrieveParked(ctx, n)
		if err != nil {
			c.do(func() { delete(c.retrieving, orbit) })
		}
		return err
	})
}
