package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/directory"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// The People pane: the directory (package directory) beside the lines
// and the orbits. It sits at the right of the orbit grid, in a split that
// gives it a quarter of the grid's side, so the lines (the queue of
// waiting calls) keep their third of the window; dragging the split
// narrows it to nothing. The search runs on Fyne's goroutine: it costs
// ~0.3 ms for 5,000 contacts (docs/BENCHMARKS.md), less than a frame.

// favouritesKey is where the favourite contacts are kept in the
// preferences, as JSON.
const favouritesKey = "directory.favourites"

// maxRows is the most contacts the pane lists for one search.
const maxRows = 200

// people is the console's directory pane and what it acts on. Its fields
// belong to Fyne's goroutine, except dir (safe for concurrent use).
type people struct {
	dir      *directory.Directory
	pane     *widgets.DirectoryPane
	rows     map[string]directory.Contact // the contacts listed, by row ID
	favs     []directory.Contact
	favBox   *fyne.Container
	pin      *widget.Button
	consult  *consultation
	consultB *fyne.Container // the attended transfer's bar: Complete, Cancel
	consultL *widget.Label
	adopted  map[*widgets.LineCard]bool // the cards that drop on the pane
	ps       *presenceState             // the lamps and camp-ons (presence.go)
	// top (the heading, the bars, the favourites) over the list in box:
	// laid out again when a bar comes or goes (bars).
	top, box *fyne.Container
	bars     [2]bool // the bars shown at the last layout: consultB, ps.bar
}

// consultation is an attended transfer under way: the caller held, the
// console talking to the colleague.
type consultation struct {
	caller, consult telephony.CallID
	callerName      string
	to              directory.Contact
	seen            map[telephony.CallID]bool // its calls seen on the lines
}

// rowID is a contact's row ID: its identity, else its name.
func rowID(ct directory.Contact) string {
	if k := ct.Key(); k != "" {
		return k
	}
	return "name:" + ct.Name
}

// contactTarget is what is dialled to reach a contact: the SIP address,
// else the extension.
func contactTarget(ct directory.Contact) string {
	if ct.URI != "" {
		return ct.URI
	}
	return ct.Extension
}

// withPeople returns the right side of the window: the orbits, and the
// People pane beside them when a directory is configured.
func (c *Console) withPeople(orbits fyne.CanvasObject) fyne.CanvasObject {
	if c.opts.Directory == nil {
		return orbits
	}
	p := &people{rows: map[string]directory.Contact{}, adopted: map[*widgets.LineCard]bool{}}
	c.people = p
	dir, err := directory.New(*c.opts.Directory, c.log, func(st directory.Status) {
		c.do(func() {
			c.directoryUpdated(st)
			c.changed()
		})
	})
	if err != nil {
		c.log.Warn("directory settings", "error", err)
	}
	p.dir = dir
	p.pane = widgets.NewDirectoryPane(c.search)
	p.pane.OnActivate = func(row widgets.DirectoryRow) { c.activateRow(row, p.pane.ShiftHeld()) }
	p.pane.SetState(paneWords(directory.Status{}, c.now()))
	p.ps = newPresenceState()
	p.pane.OnShown = func(int, int) { c.watchShown() }
	// Esc in the empty search gives the keys back to the lines.
	p.pane.OnEscape = func() { c.win.Canvas().Unfocus() }
	p.pin = widget.NewButtonWithIcon("Favourite", theme.ContentAddIcon(), c.toggleFavourite)
	p.pin.Importance = widget.LowImportance
	p.favBox = container.NewHBox()
	p.consultL = widget.NewLabel("")
	p.consultL.Wrapping = fyne.TextWrapWord
	complete := widget.NewButtonWithIcon("Complete", theme.ConfirmIcon(), c.completeConsult)
	complete.Importance = widget.HighImportance
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), c.cancelConsult)
	p.consultB = container.NewVBox(p.consultL, container.NewHBox(complete, cancel))
	p.consultB.Hide()
	p.favs = loadFavourites(c.prefs)
	c.showFavourites()

	head := container.NewBorder(nil, nil, nil, p.pin, heading("People"))
	p.top = container.NewVBox(head, p.consultB, p.ps.bar, container.NewHScroll(p.favBox))
	p.box = container.NewBorder(p.top, nil, nil, nil, p.pane)
	split := container.NewHSplit(orbits, p.box)
	split.Offset = 0.72
	c.search("")
	return split
}

// startPeople starts the directory's refresher; it ends with the console.
func (c *Console) startPeople() {
	if c.people == nil {
		return
	}
	r := c.people.dir.Start(c.ctx)
	c.spawn(r.Wait)
}

// search lists the contacts matching q (the pane's OnSearch).
func (c *Console) search(q string) {
	p := c.people
	found := p.dir.Search(q, maxRows)
	rows := make([]widgets.DirectoryRow, len(found))
	clear(p.rows)
	for i, ct := range found {
		id := rowID(ct)
		p.rows[id] = ct
		ext := ct.Extension
		if ext == "" {
			ext = displayNumber(ct.URI)
		}
		rows[i] = widgets.DirectoryRow{ID: id, Name: ct.Name, Extension: ext, Department: ct.Department, Presence: c.presenceOf(ct)}
	}
	p.pane.SetRows(rows)
}

// directoryUpdated shows a refreshed directory: the search again, and
// the status bar's word on it.
func (c *Console) directoryUpdated(st directory.Status) {
	if c.people == nil {
		return
	}
	// The refresh keeps the receptionist's choice where it is still
	// listed.
	pane := c.people.pane
	chosen := ""
	if pane.Selected >= 0 && pane.Selected < len(pane.Rows) {
		chosen = pane.Rows[pane.Selected].ID
	}
	c.search(pane.Query)
	for i, r := range pane.Rows {
		if r.ID == chosen && i != pane.Selected {
			pane.MoveSelection(i - pane.Selected)
			break
		}
	}
	c.status.setDirectory(st.State == directory.StateFailed, directoryWords(st, c.now()))
	pane.SetState(paneWords(st, c.now()))
}

// paneWords is what the People pane says of the directory: a line while
// a stale one is listed, and what it says when it lists nobody without
// a search (reading, no directory and why, nobody in it).
func paneWords(st directory.Status, now time.Time) (status, empty string) {
	switch st.State {
	case directory.StateEmpty:
		return "", "Reading the directory…"
	case directory.StateStale:
		return directoryWords(st, now), "Nobody in the directory"
	case directory.StateFailed:
		return "", directoryWords(st, now)
	}
	return "", "Nobody in the directory"
}

// directoryWords is what the status bar says of the directory: nothing
// when it is fresh (or not read yet).
func directoryWords(st directory.Status, now time.Time) string {
	switch st.State {
	case directory.StateStale:
		since := st.Since.Format("15:04")
		if st.Since.YearDay() != now.YearDay() || st.Since.Year() != now.Year() {
			since = st.Since.Format("2 Jan 15:04")
		}
		return "Directory as of " + since + " (" + reasonWords(st.Reason) + ")"
	case directory.StateFailed:
		return "No directory: " + reasonWords(st.Reason)
	}
	return ""
}

// reasonWords says why the directory could not be read, in plain words.
func reasonWords(r directory.Reason) string {
	switch r {
	case directory.ReasonConfig:
		return "its settings are wrong"
	case directory.ReasonUnreachable:
		return "the directory server cannot be reached"
	case directory.ReasonTimeout:
		return "the directory server did not answer in time"
	case directory.ReasonTLS:
		return "the directory server's certificate is not trusted"
	case directory.ReasonBadCredentials:
		return "the directory refused the login"
	case directory.ReasonBadFilter:
		return "the directory filter is wrong"
	case directory.ReasonSearch:
		return "the directory server refused the search"
	case directory.ReasonFile:
		return "the contacts file cannot be read"
	case directory.ReasonCache, directory.ReasonNoCache:
		return "no saved copy of the directory"
	}
	return "it could not be read"
}

// focusPeople gives the search box the keyboard (the "/" key).
func (c *Console) focusPeople() {
	if c.people == nil {
		c.flash("No directory is set up")
		return
	}
	c.people.pane.FocusSearch()
}

// activateRow acts on a contact: with no call up it dials the contact;
// with a live (else held) call it transfers that call to the contact,
// blind, or attended when attended is set.
func (c *Console) activateRow(row widgets.DirectoryRow, attended bool) {
	ct, ok := c.people.rows[row.ID]
	if !ok {
		return
	}
	// The console's keys work again at once: Enter answers the next
	// caller instead of acting on the contact a second time.
	c.win.Canvas().Unfocus()
	c.actOnContact(ct, attended)
	c.changed()
}

// actOnContact is activateRow for a contact.
func (c *Console) actOnContact(ct directory.Contact, attended bool) {
	target := contactTarget(ct)
	if target == "" {
		c.flash(ct.Name + " has no number in the directory")
		return
	}
	l := c.live()
	if l == nil {
		l = c.held()
	}
	switch {
	case l == nil:
		c.dialContact(ct)
	case attended:
		c.startConsult(l, ct)
	default:
		c.transferOrOffer(l.call.ID, ct)
	}
}

// transferOrOffer transfers call id to a contact, blind; a colleague
// whose lamp says busy is offered "transfer when free" first.
func (c *Console) transferOrOffer(id telephony.CallID, ct directory.Contact) {
	if c.busy(ct) {
		c.offerCampOn(id, ct)
		return
	}
	c.transferTo(id, ct)
}

// dialContact calls a contact (click-to-dial).
func (c *Console) dialContact(ct directory.Contact) {
	target := contactTarget(ct)
	c.actOn(action{what: "call " + ct.Name, target: target}, func(ctx context.Context) error {
		_, err := c.phone.Dial(ctx, target)
		return err
	}, nil)
}

// transferTo transfers call id blind to a contact. A failure says why
// and takes a held caller back.
func (c *Console) transferTo(id telephony.CallID, ct directory.Contact) {
	target := contactTarget(ct)
	a := action{what: "transfer the call to " + ct.Name, target: target}
	c.actOn(a, func(ctx context.Context) error { return c.phone.BlindTransfer(ctx, id, target) }, func(msg string) {
		if msg != "" {
			c.takeBack(id)
		}
	})
}

// takeBack resumes call id if it is held, after a failed transfer.
func (c *Console) takeBack(id telephony.CallID) {
	if l := c.lines[id]; l != nil && l.call.State == telephony.StateHeld {
		c.act("take the call off hold", func(ctx context.Context) error { return c.phone.Resume(ctx, id) })
	}
}

// startConsult starts an attended transfer of the caller on l to a
// contact: the caller is held and the colleague called; the People pane
// then offers Complete and Cancel.
func (c *Console) startConsult(l *line, ct directory.Contact) {
	p := c.people
	if p.consult != nil {
		c.flash("Finish the transfer to " + p.consult.to.Name + " first")
		return
	}
	caller, name := l.call.ID, who(l.call.RemoteName, l.call.RemoteURI)
	target := contactTarget(ct)
	wasLive := l.call.State == telephony.StateActive
	a := action{what: "call " + ct.Name + " for " + name, target: target}
	var consult telephony.CallID
	c.actOn(a, func(ctx context.Context) error {
		if wasLive {
			if err := c.phone.Hold(ctx, caller); err != nil {
				return fmt.Errorf("hold the caller: %w", err)
			}
		}
		id, err := c.phone.Dial(ctx, target)
		consult = id
		return err
	}, func(msg string) {
		if msg != "" {
			c.takeBack(caller)
			return
		}
		p.consult = &consultation{caller: caller, consult: consult, callerName: name, to: ct, seen: map[telephony.CallID]bool{}}
		p.consultL.SetText("Transfer " + name + " to " + ct.Name + ": Complete connects them, Cancel takes " + name + " back")
		p.consultB.Show()
	})
}

// completeConsult connects the held caller with the colleague (the
// attended transfer's Complete). A failure says why; the caller stays
// held for the receptionist to take back or try again.
func (c *Console) completeConsult() {
	p := c.people
	k := p.consult
	if k == nil {
		return
	}
	a := action{what: "transfer " + k.callerName + " to " + k.to.Name}
	c.actOn(a, func(ctx context.Context) error { return c.phone.AttendedTransfer(ctx, k.caller, k.consult) }, func(msg string) {
		if msg == "" {
			c.endConsult(k)
		}
	})
	c.changed()
}

// cancelConsult hangs up on the colleague and takes the caller back (the
// attended transfer's Cancel).
func (c *Console) cancelConsult() {
	k := c.people.consult
	if k == nil {
		return
	}
	c.endConsult(k)
	c.act("take "+k.callerName+" back", func(ctx context.Context) error {
		// The colleague may have hung up already: the caller comes back
		// either way.
		_ = c.phone.Hangup(ctx, k.consult)
		return c.phone.Resume(ctx, k.caller)
	})
	c.changed()
}

// endConsult forgets the attended transfer k and hides its bar.
func (c *Console) endConsult(k *consultation) {
	p := c.people
	if p.consult != k {
		return
	}
	p.consult = nil
	p.consultB.Hide()
}

// consultCallChanged ends the attended transfer when one of its calls
// ends: the caller hung up, or the colleague did (the caller then stays
// held, with the bar gone, for the receptionist to take back).
func (c *Console) consultCallChanged() {
	if c.people == nil || c.people.consult == nil {
		return
	}
	k := c.people.consult
	for _, id := range []telephony.CallID{k.caller, k.consult} {
		// The consultation call's card may come after the dial returned.
		l := c.lines[id]
		if l != nil && l.call.State != telephony.StateEnded {
			k.seen[id] = true
			continue
		}
		if l != nil || k.seen[id] {
			c.endConsult(k)
			return
		}
	}
}

// peopleChanged follows the lines for the People pane: every card drops
// on it, and an attended transfer ends with its calls.
func (c *Console) peopleChanged() {
	if c.people == nil {
		return
	}
	c.adoptCards()
	c.consultCallChanged()
	c.campsChanged()
	c.layoutBars()
}

// layoutBars lays the pane out again when the attended transfer's bar or
// the camp-on bar came or went, so that what they push down moves at
// once: a drop (RowAt) and the snapshot's places (what a driver of the
// real window clicks) are right from this change on, not from the
// window's next frame, which lays out only what grew or shrank since.
func (c *Console) layoutBars() {
	p := c.people
	shown := [2]bool{p.consultB.Visible(), p.ps.bar.Visible()}
	if shown == p.bars {
		return
	}
	p.bars = shown
	p.box.Refresh() // sizes the top to its new height
	p.top.Refresh() // places the bars in it, whatever its height
}

// adoptCards makes the People pane a drop target of every card.
func (c *Console) adoptCards() {
	for _, l := range c.order {
		if !c.people.adopted[l.card] {
			c.people.adopted[l.card] = true
			l.card.DropTargets = append(l.card.DropTargets, peopleDrop{c})
		}
	}
	for card := range c.people.adopted {
		if l := c.lines[telephony.CallID(card.ID)]; l == nil || l.card != card {
			delete(c.people.adopted, card)
		}
	}
}

// peopleDrop is the People pane as a drop target of the line cards: a
// card dropped on a contact transfers its call to the contact, blind;
// with Shift held at the drop, attended (as Shift+Enter).
type peopleDrop struct{ c *Console }

// CardMoved selects the contact under the pointer: the one a drop there
// transfers to.
func (d peopleDrop) CardMoved(_ *widgets.LineCard, pos fyne.Position) {
	pane := d.c.people.pane
	if i, ok := pane.RowAt(pos); ok && i != pane.Selected {
		pane.MoveSelection(i - pane.Selected)
	}
}

// CardDropped transfers the card's call to the contact under pos: blind,
// or attended with Shift held.
func (d peopleDrop) CardDropped(card *widgets.LineCard, pos fyne.Position) {
	c := d.c
	i, ok := c.people.pane.RowAt(pos)
	if !ok {
		return
	}
	ct, ok := c.people.rows[c.people.pane.Rows[i].ID]
	if !ok {
		return
	}
	l := c.lines[telephony.CallID(card.ID)]
	if l == nil || (l.call.State != telephony.StateActive && l.call.State != telephony.StateHeld) {
		c.flash("Only a live or held call can be transferred")
		c.changed()
		return
	}
	switch {
	case contactTarget(ct) == "":
		c.flash(ct.Name + " has no number in the directory")
	case c.grid.HeldModifiers()&fyne.KeyModifierShift != 0:
		c.startConsult(l, ct)
	default:
		c.transferOrOffer(l.call.ID, ct)
	}
	c.changed()
}

// toggleFavourite pins the selected contact to the favourites row, or
// unpins it; the favourites are kept in the preferences.
func (c *Console) toggleFavourite() {
	p := c.people
	if p.pane.Selected < 0 || p.pane.Selected >= len(p.pane.Rows) {
		c.flash("Select a person to add to the favourites")
		return
	}
	ct, ok := p.rows[p.pane.Rows[p.pane.Selected].ID]
	if !ok {
		return
	}
	id := rowID(ct)
	kept := p.favs[:0:0]
	for _, f := range p.favs {
		if rowID(f) != id {
			kept = append(kept, f)
		}
	}
	if len(kept) == len(p.favs) {
		kept = append(kept, ct)
	}
	p.favs = kept
	saveFavourites(c.prefs, p.favs)
	c.showFavourites()
	c.watchShown()
	c.changed()
}

// showFavourites lays out the favourites row: one button per contact,
// acting on it as Enter does.
func (c *Console) showFavourites() {
	p := c.people
	objs := make([]fyne.CanvasObject, 0, len(p.favs))
	for _, f := range p.favs {
		text := f.Name
		if w := widgets.PresenceWord(c.presenceOf(f)); w != "" {
			text += " (" + w + ")"
		}
		b := widget.NewButtonWithIcon(text, widgets.PhoneIcon(), func() {
			c.actOnContact(f, false)
			c.changed()
		})
		objs = append(objs, b)
	}
	p.favBox.Objects = objs
	p.favBox.Refresh()
}

func loadFavourites(prefs fyne.Preferences) []directory.Contact {
	var favs []directory.Contact
	if s := prefs.String(favouritesKey); s != "" {
		_ = json.Unmarshal([]byte(s), &favs) // a damaged list is an empty one
	}
	return favs
}

func saveFavourites(prefs fyne.Preferences, favs []directory.Contact) {
	b, err := json.Marshal(favs)
	if err != nil {
		return
	}
	prefs.SetString(favouritesKey, string(b))
}

// favouriteNames names the favourites in order (for the tests).
func (p *people) favouriteNames() []string {
	names := make([]string, len(p.favs))
	for i, f := range p.favs {
		names[i] = strings.TrimSpace(f.Name)
	}
	return names
}

// LDAPPasswordEnv holds the LDAP bind password when no password file is
// set.
const LDAPPasswordEnv = "SWITCHBOARD_LDAP_PASSWORD"

// Directory returns the People pane's directory options of s, nil when s
// names no contacts file and no LDAP setting. The error says what is
// wrong with the LDAP settings (directory.Options.Validate's words); a
// contacts file that cannot be read now is no error here: the status
// bar says so, and it is read again at each refresh.
func (s Settings) Directory() (*directory.Options, error) {
	var files []string
	for _, f := range strings.Split(s.ContactsFiles, ",") {
		if f = strings.TrimSpace(f); f != "" {
			files = append(files, f)
		}
	}
	l := directory.LDAPOptions{
		URL: strings.TrimSpace(s.LDAPURL), StartTLS: s.LDAPStartTLS, CAFile: strings.TrimSpace(s.LDAPCAFile),
		BindDN: strings.TrimSpace(s.LDAPBindDN), BaseDN: strings.TrimSpace(s.LDAPBaseDN), Filter: strings.TrimSpace(s.LDAPFilter),
	}
	ldapSet := l.URL != "" || l.StartTLS || l.CAFile != "" || l.BindDN != "" || l.BaseDN != "" || l.Filter != "" ||
		s.LDAPPasswordFile != ""
	if len(files) == 0 && !ldapSet {
		return nil, nil
	}
	var errs []error
	if s.DirectoryRefresh < 0 {
		errs = append(errs, fmt.Errorf("directory refresh %v: must not be negative", s.DirectoryRefresh))
	}
	if p := strings.TrimSpace(s.LDAPPasswordFile); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("LDAP password file: %w", err))
		}
		l.Password = strings.TrimRight(string(b), "\r\n")
	} else if l.URL != "" {
		l.Password = os.Getenv(LDAPPasswordEnv)
	}
	o := &directory.Options{Files: files, LDAP: l, Refresh: s.DirectoryRefresh,
		PresenceServer: strings.TrimSpace(s.PresenceServer), CampOn: s.CampOn}
	if err := o.Validate(); err != nil {
		var parts []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			parts = j.Unwrap()
		} else {
			parts = []error{err}
		}
		for _, e := range parts {
			var de *directory.Error
			if errors.As(e, &de) && de.Op == "contacts file" {
				continue
			}
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return o, errors.Join(errs...)
	}
	return o, nil
}

// peopleFields are the settings dialog's People tab: the directory's
// contacts files and LDAP settings.
type peopleFields struct {
	contacts, url, ca, bindDN, passwordFile, baseDN, filter, refresh *escEntry
	startTLS                                                         *widget.Check
	presence, campOn                                                 *escEntry
}

// build makes the People tab with the settings of cur; Esc in a field
// calls esc (the dialog closes), as in the other tabs.
func (p *peopleFields) build(cur Settings, esc func()) fyne.CanvasObject {
	entry := func(text, placeholder string) *escEntry {
		e := newEscEntry()
		e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip) // as widget.NewEntry's: long text does not widen the dialog
		e.SetText(text)
		e.SetPlaceHolder(placeholder)
		e.onEsc = esc
		return e
	}
	p.contacts = entry(cur.ContactsFiles, "people.csv, team.vcf (comma-separated)")
	p.url = entry(cur.LDAPURL, "ldaps://ldap.example.com (empty: no LDAP)")
	p.startTLS = widget.NewCheck("StartTLS (for ldap://)", nil)
	p.startTLS.SetChecked(cur.LDAPStartTLS)
	p.ca = entry(cur.LDAPCAFile, "CA PEM file (empty: the system's CAs)")
	p.bindDN = entry(cur.LDAPBindDN, "cn=reader,dc=example,dc=com (empty: anonymous)")
	p.passwordFile = entry(cur.LDAPPasswordFile, "file holding the password (or set "+LDAPPasswordEnv+")")
	p.baseDN = entry(cur.LDAPBaseDN, "dc=example,dc=com")
	p.filter = entry(cur.LDAPFilter, "(default: people in OpenLDAP or Active Directory)")
	refresh := ""
	if cur.DirectoryRefresh > 0 {
		refresh = cur.DirectoryRefresh.String()
	}
	p.refresh = entry(refresh, directory.DefaultRefresh.String())
	p.presence = entry(cur.PresenceServer, "pbx.example.com:5060 (empty: the PBX of the park lamps)")
	campOn := ""
	if cur.CampOn > 0 {
		campOn = cur.CampOn.String()
	}
	p.campOn = entry(campOn, directory.DefaultCampOn.String())
	return container.NewVBox(
		widget.NewForm(widget.NewFormItem("Contacts files", p.contacts)),
		widget.NewSeparator(),
		widget.NewLabelWithStyle("LDAP directory", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		widget.NewForm(
			widget.NewFormItem("Server URL", p.url),
			widget.NewFormItem("", p.startTLS),
			widget.NewFormItem("CA file", p.ca),
			widget.NewFormItem("Bind DN", p.bindDN),
			widget.NewFormItem("Password file", p.passwordFile),
			widget.NewFormItem("Base DN", p.baseDN),
			widget.NewFormItem("Filter", p.filter),
			widget.NewFormItem("Read again every", p.refresh),
		),
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Busy lamps and camp-on", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		widget.NewForm(
			widget.NewFormItem("Presence server", p.presence),
			widget.NewFormItem("Wait for a busy colleague", p.campOn),
		),
	)
}

// read puts the tab's settings in s; the error says what is wrong with
// the refresh interval (Settings.Validate checks the rest).
func (p *peopleFields) read(s *Settings) error {
	trim := func(e *escEntry) string { return strings.TrimSpace(e.Text) }
	s.ContactsFiles, s.LDAPURL, s.LDAPCAFile = trim(p.contacts), trim(p.url), trim(p.ca)
	s.LDAPBindDN, s.LDAPPasswordFile, s.LDAPBaseDN, s.LDAPFilter = trim(p.bindDN), trim(p.passwordFile), trim(p.baseDN), trim(p.filter)
	s.LDAPStartTLS = p.startTLS.Checked
	s.DirectoryRefresh = 0
	if r := trim(p.refresh); r != "" {
		d, err := time.ParseDuration(r)
		if err != nil || d <= 0 {
			return fmt.Errorf("directory refresh %q: not a duration like 15m", r)
		}
		s.DirectoryRefresh = d
	}
	s.PresenceServer, s.CampOn = trim(p.presence), 0
	if r := trim(p.campOn); r != "" {
		d, err := time.ParseDuration(r)
		if err != nil || d <= 0 {
			return fmt.Errorf("camp-on wait %q: not a duration like 60s", r)
		}
		s.CampOn = d
	}
	return nil
}
