package app

import (
	"context"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/directory"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// The People pane's lamps and camp-on. The console watches the presence
// (telephony.Phone.Watch) of the contacts on screen and the favourites
// only, so that a directory of thousands costs the PBX a few dozen
// subscriptions. A call dropped on a busy colleague is offered "transfer
// when free": it waits on hold for their lamp to go idle, then is
// transferred; when the wait (directory.Options.CampOn) runs out, it
// comes back to the receptionist.

// presenceState is the People pane's presence and camp-ons; its fields
// belong to Fyne's goroutine.
type presenceState struct {
	states  map[string]telephony.Presence // by presence target
	watched []string                      // the last set given to Watch
	offer   *campOffer                    // "transfer when free?" asked now
	camps   map[telephony.CallID]*campOn  // calls waiting for a colleague
	bar     *fyne.Container               // the offer's or the camp-ons' bar
	label   *widget.Label
	buttons *fyne.Container
}

// campOffer is a transfer to a busy colleague, asked about.
type campOffer struct {
	call telephony.CallID
	to   directory.Contact
}

// campOn is a call waiting for a colleague to be free.
type campOn struct {
	call       telephony.CallID
	callerName string
	to         directory.Contact
	target     string // the presence target watched
	until      time.Time
}

// newPresenceState makes the pane's presence and its bar (hidden).
func newPresenceState() *presenceState {
	ps := &presenceState{states: map[string]telephony.Presence{}, camps: map[telephony.CallID]*campOn{}}
	ps.label = widget.NewLabel("")
	ps.label.Wrapping = fyne.TextWrapWord
	ps.buttons = container.NewHBox()
	ps.bar = container.NewVBox(ps.label, ps.buttons)
	ps.bar.Hide()
	return ps
}

// presenceTarget is where a contact's presence is watched: the
// extension at the presence server when one is set, else what is
// dialled to reach them.
func (c *Console) presenceTarget(ct directory.Contact) string {
	if s := c.opts.Directory.PresenceServer; s != "" && ct.Extension != "" {
		return "sip:" + ct.Extension + "@" + s
	}
	return contactTarget(ct)
}

// presenceOf is a contact's lamp as the pane draws it.
func (c *Console) presenceOf(ct directory.Contact) widgets.Presence {
	switch c.people.ps.states[c.presenceTarget(ct)] {
	case telephony.PresenceIdle:
		return widgets.PresenceIdle
	case telephony.PresenceRinging:
		return widgets.PresenceRinging
	case telephony.PresenceBusy:
		return widgets.PresenceBusy
	}
	return widgets.PresenceUnknown
}

// watchShown watches the presence of the favourites, the contacts on
// screen and those a call waits for, and no one else.
func (c *Console) watchShown() {
	p := c.people
	if p == nil {
		return
	}
	var targets []string
	add := func(ct directory.Contact) {
		if t := c.presenceTarget(ct); t != "" && !slices.Contains(targets, t) {
			targets = append(targets, t)
		}
	}
	for _, k := range p.ps.camps {
		add(k.to)
	}
	for _, f := range p.favs {
		add(f)
	}
	first, last := p.pane.ShownRows()
	for i := max(first, 0); i <= last && i < len(p.pane.Rows); i++ {
		if ct, ok := p.rows[p.pane.Rows[i].ID]; ok {
			add(ct)
		}
	}
	if slices.Equal(targets, p.ps.watched) {
		return
	}
	p.ps.watched = targets
	for t := range p.ps.states {
		if !slices.Contains(targets, t) {
			delete(p.ps.states, t) // no longer followed: unknown
		}
	}
	c.phone.Watch(targets)
}

// presenceChanged shows a colleague's new state on their rows and
// favourite, and transfers the calls waiting for them once they are
// free.
func (c *Console) presenceChanged(e telephony.PresenceChanged) {
	p := c.people
	if p == nil || !slices.Contains(p.ps.watched, e.Target) {
		return
	}
	p.ps.states[e.Target] = e.Presence
	for _, r := range p.pane.Rows {
		if ct, ok := p.rows[r.ID]; ok && c.presenceTarget(ct) == e.Target {
			p.pane.SetPresence(r.ID, c.presenceOf(ct))
		}
	}
	c.showFavourites()
	if e.Presence != telephony.PresenceIdle {
		return
	}
	for _, k := range c.campsFor(e.Target) {
		c.endCamp(k)
		c.flash(k.to.Name + " is free: transferring " + k.callerName)
		c.transferTo(k.call, k.to)
	}
}

// campsFor returns the camp-ons waiting for target, oldest first.
func (c *Console) campsFor(target string) []*campOn {
	var out []*campOn
	for _, k := range c.people.ps.camps {
		if k.target == target {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b *campOn) int { return a.until.Compare(b.until) })
	return out
}

// busy reports whether a contact is on a call or ringing, by their lamp.
func (c *Console) busy(ct directory.Contact) bool {
	st := c.people.ps.states[c.presenceTarget(ct)]
	return st == telephony.PresenceBusy || st == telephony.PresenceRinging
}

// offerCampOn asks what to do with a call dropped on a busy colleague:
// Transfer when free, Transfer now, or Cancel.
func (c *Console) offerCampOn(id telephony.CallID, ct directory.Contact) {
	ps := c.people.ps
	ps.offer = &campOffer{call: id, to: ct}
	name := "the caller"
	if l := c.lines[id]; l != nil {
		name = who(l.call.RemoteName, l.call.RemoteURI)
	}
	ps.label.SetText(campOfferWords(ct.Name, name, c.presenceOf(ct) == widgets.PresenceRinging))
	when := widget.NewButtonWithIcon("Transfer when free", theme.HistoryIcon(), func() { c.campOn(id, ct); c.changed() })
	when.Importance = widget.HighImportance
	now := widget.NewButtonWithIcon("Transfer now", theme.MailForwardIcon(), func() {
		c.clearOffer()
		c.transferTo(id, ct)
		c.changed()
	})
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() { c.clearOffer(); c.changed() })
	ps.buttons.Objects = []fyne.CanvasObject{when, now, cancel}
	ps.buttons.Refresh()
	ps.bar.Show()
}

// clearOffer forgets the offer and shows the camp-ons' bar, if any.
func (c *Console) clearOffer() {
	c.people.ps.offer = nil
	c.showCamps()
}

// campOn puts call id on hold to wait for a colleague to be free.
func (c *Console) campOn(id telephony.CallID, ct directory.Contact) {
	ps := c.people.ps
	ps.offer = nil
	l := c.lines[id]
	if l == nil || (l.call.State != telephony.StateActive && l.call.State != telephony.StateHeld) {
		c.flash("The call is no longer here to wait for " + ct.Name)
		c.showCamps()
		return
	}
	wait := c.opts.Directory.CampOn
	if wait <= 0 {
		wait = directory.DefaultCampOn
	}
	k := &campOn{call: id, callerName: who(l.call.RemoteName, l.call.RemoteURI), to: ct, target: c.presenceTarget(ct), until: c.now().Add(wait)}
	ps.camps[id] = k
	if l.call.State == telephony.StateActive {
		c.act("put "+k.callerName+" on hold", func(ctx context.Context) error { return c.phone.Hold(ctx, id) })
	}
	c.showCamps()
	c.watchShown()
	if ps.states[k.target] == telephony.PresenceIdle {
		// Free already (the lamp changed while the receptionist chose).
		c.presenceChanged(telephony.PresenceChanged{Target: k.target, Presence: telephony.PresenceIdle})
	}
}

// endCamp forgets camp-on k.
func (c *Console) endCamp(k *campOn) {
	if c.people.ps.camps[k.call] == k {
		delete(c.people.ps.camps, k.call)
	}
	c.showCamps()
}

// cancelCamps ends every camp-on; their callers stay held on the lines.
func (c *Console) cancelCamps() {
	for _, k := range c.people.ps.camps {
		c.endCamp(k)
	}
}

// showCamps shows the camp-ons' bar (unless an offer is asked), or
// hides it when there is none.
func (c *Console) showCamps() {
	ps := c.people.ps
	if ps.offer != nil {
		return
	}
	if len(ps.camps) == 0 {
		ps.bar.Hide()
		return
	}
	var ks []*campOn
	for _, k := range ps.camps {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b *campOn) int { return a.until.Compare(b.until) })
	ps.label.SetText(campWaitWords(ks[0].callerName, ks[0].to.Name, ks[0].until.Format("15:04:05"), len(ks)))
	cancel := widget.NewButtonWithIcon("Stop waiting", theme.CancelIcon(), func() { c.cancelCamps(); c.changed() })
	ps.buttons.Objects = []fyne.CanvasObject{cancel}
	ps.buttons.Refresh()
	ps.bar.Show()
}

// campsChanged follows the lines and the clock for the camp-ons: a
// caller who left no longer waits, and a wait that ran out brings the
// caller back to the receptionist.
func (c *Console) campsChanged() {
	ps := c.people.ps
	if ps.offer != nil {
		if l := c.lines[ps.offer.call]; l == nil || l.call.State == telephony.StateEnded {
			c.clearOffer()
		}
	}
	now := c.now()
	for _, k := range ps.camps {
		l := c.lines[k.call]
		switch {
		case l == nil || l.call.State == telephony.StateEnded:
			c.endCamp(k)
		case !now.Before(k.until):
			c.endCamp(k)
			c.flash(campTimeoutWords(k.to.Name, k.callerName))
			if c.live() == nil {
				c.takeBack(k.call) // rings back: the caller is on the receptionist's line again
			}
		}
	}
}

// transferFailed brings a call whose transfer failed back to the
// receptionist, saying why.
func (c *Console) transferFailed(e telephony.TransferFailed) {
	to := e.Target
	if c.people != nil {
		for _, ct := range c.people.rows {
			if contactTarget(ct) == e.Target || c.presenceTarget(ct) == e.Target {
				to = ct.Name
				break
			}
		}
	}
	name := "the caller"
	if l := c.lines[e.Call]; l != nil {
		name = who(l.call.RemoteName, l.call.RemoteURI)
	}
	c.flash(transferFailedWords(e.Why, to, name))
	if c.live() == nil {
		c.takeBack(e.Call)
	}
}

// resyncPresence reads the watched colleagues' states again (after
// events were lost).
func (c *Console) resyncPresence() {
	if c.people == nil {
		return
	}
	for _, t := range c.people.ps.watched {
		if st, ok := c.phone.Presence(t); ok {
			c.presenceChanged(telephony.PresenceChanged{Target: t, Presence: st})
		}
	}
}
