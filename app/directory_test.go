package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/directory"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// peopleCSV is the contacts file of the People tests.
const peopleCSV = `Name,Extension,SIP URI,Department
Eva Novák,2104,,Accounts
Bob Chen,2105,,Sales
Jürgen Groß,,sip:jurgen@pbx.example,Board
`

// withPeople gives the console a directory read from a contacts file;
// it returns the file's path.
func withPeople(t *testing.T) (harnessOpt, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "people.csv")
	if err := os.WriteFile(path, []byte(peopleCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(o *app.Options) {
		o.Directory = &directory.Options{Files: []string{path}, CachePath: filepath.Join(dir, "cache.json")}
	}, path
}

// newPeopleHarness opens a console with the People pane and waits for
// the directory's first read.
func newPeopleHarness(t *testing.T) (*harness, string) {
	t.Helper()
	opt, path := withPeople(t)
	h := newHarness(t, opt)
	h.eventually("the directory read", func() bool { return len(h.c.People().Rows) == 3 })
	return h, path
}

func (h *harness) rowNames() []string {
	var names []string
	for _, r := range h.c.People().Rows {
		names = append(names, r.Name)
	}
	return names
}

// typeSearch types on the search box, which must have the keyboard (as
// a real window types on what has the keyboard).
func (h *harness) typeSearch(s string) {
	h.t.Helper()
	if !h.c.People().SearchFocused() {
		h.t.Fatalf("the search box does not have the keyboard")
	}
	test.Type(h.focused(), s)
}

// focused returns what has the keyboard.
func (h *harness) focused() fyne.Focusable { return h.w.Canvas().Focused() }

// searchKey presses a key on the search box, which must have the
// keyboard.
func (h *harness) searchKey(name fyne.KeyName) {
	h.t.Helper()
	f := h.focused()
	if f == nil || !h.c.People().SearchFocused() {
		h.t.Fatalf("the search box does not have the keyboard (%T does)", f)
	}
	f.TypedKey(&fyne.KeyEvent{Name: name})
}

// shiftEnter presses Shift+Enter on the search box, as a real window
// reports it: Shift down, Enter, Shift up.
func (h *harness) shiftEnter() {
	h.t.Helper()
	k, ok := h.focused().(desktop.Keyable)
	if !ok {
		h.t.Fatalf("%T takes no key downs", h.focused())
	}
	k.KeyDown(&fyne.KeyEvent{Name: desktop.KeyShiftLeft})
	h.searchKey(fyne.KeyReturn)
	k.KeyUp(&fyne.KeyEvent{Name: desktop.KeyShiftLeft})
}

func (h *harness) waitAction(want string) {
	h.t.Helper()
	h.eventually("the phone asked to "+want, func() bool {
		for _, a := range h.fake.Actions() {
			if a == want {
				return true
			}
		}
		return false
	})
}

// liveCall rings a caller and answers her.
func (h *harness) liveCall() telephony.CallID {
	h.t.Helper()
	id := h.fake.Ring("Alice Martin", aliceURI)
	h.waitLine(id, widgets.LineRinging)
	h.key(fyne.KeyReturn)
	h.waitLine(id, widgets.LineActive)
	return id
}

func TestPeopleSearchAsYouType(t *testing.T) {
	h, _ := newPeopleHarness(t)
	if got, want := h.rowNames(), []string{"Bob Chen", "Eva Novák", "Jürgen Groß"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("rows %q, want %q", got, want)
	}
	h.typeText("/")
	h.typeSearch("jurg")
	if got := h.rowNames(); !reflect.DeepEqual(got, []string{"Jürgen Groß"}) {
		t.Errorf("'jurg' lists %q, want Jürgen Groß (diacritics ignored)", got)
	}
	h.searchKey(fyne.KeyEscape)
	h.typeSearch("sales")
	if got := h.rowNames(); !reflect.DeepEqual(got, []string{"Bob Chen"}) {
		t.Errorf("'sales' lists %q, want Bob Chen (by department)", got)
	}
}

func TestPeopleSlashFocusesSearch(t *testing.T) {
	h, _ := newPeopleHarness(t)
	h.button("Keys").OnTapped()
	h.typeText("/")
	if h.c.People().SearchFocused() {
		t.Fatal("/ behind the Keys dialog focused the search box")
	}
	h.key(fyne.KeyEscape)
	h.eventually("the dialog closed", func() bool { return h.w.Canvas().Overlays().Top() == nil })
	h.typeText("/")
	if !h.c.People().SearchFocused() {
		t.Fatal("/ did not focus the search box")
	}
	if q := h.c.People().Query; q != "" {
		t.Errorf("the / went into the search box: %q", q)
	}
}

func TestPeopleNoDirectoryNoPane(t *testing.T) {
	h := newHarness(t)
	if h.c.People() != nil {
		t.Fatal("a console without a directory has a People pane")
	}
	h.typeText("/")
	if msg := h.c.Snapshot().Message; msg != "No directory is set up" {
		t.Errorf("message %q", msg)
	}
}

func TestPeopleArrowsEnterDials(t *testing.T) {
	h, _ := newPeopleHarness(t)
	h.typeText("/")
	h.searchKey(fyne.KeyDown) // Bob Chen → Eva Novák
	h.searchKey(fyne.KeyDown) // → Jürgen Groß
	h.searchKey(fyne.KeyUp)   // → Eva Novák
	h.searchKey(fyne.KeyReturn)
	h.waitAction("dial 2104")
}

func TestPeopleDialsSIPAddress(t *testing.T) {
	h, _ := newPeopleHarness(t)
	h.typeText("/")
	h.typeSearch("groß")
	h.searchKey(fyne.KeyReturn)
	h.waitAction("dial sip:jurgen@pbx.example") // no extension: the SIP address
}

func TestPeopleEnterTransfersLiveCall(t *testing.T) {
	h, _ := newPeopleHarness(t)
	id := h.liveCall()
	h.typeText("/")
	h.typeSearch("bob")
	h.searchKey(fyne.KeyReturn)
	h.waitAction("transfer " + string(id) + " 2105")
	h.waitLine(id, widgets.LineEnded)
	for _, a := range h.fake.Actions() {
		if strings.HasPrefix(a, "dial") {
			t.Errorf("Enter with a live call dialled: %v", h.fake.Actions())
		}
	}
}

func TestPeopleEnterTransfersHeldCall(t *testing.T) {
	h, _ := newPeopleHarness(t)
	id := h.liveCall()
	h.typeText("h")
	h.waitLine(id, widgets.LineHeld)
	h.typeText("/")
	h.typeSearch("eva")
	h.searchKey(fyne.KeyReturn)
	h.waitAction("transfer " + string(id) + " 2104")
}

func TestPeopleFailedTransferBringsCallerBack(t *testing.T) {
	h, _ := newPeopleHarness(t)
	id := h.liveCall()
	h.typeText("h")
	h.waitLine(id, widgets.LineHeld)
	h.fake.FailNext("transfer", telephony.ErrWrongState)
	h.typeText("/")
	h.typeSearch("bob")
	h.searchKey(fyne.KeyReturn)
	h.waitAction("resume " + string(id))
	h.waitLine(id, widgets.LineActive)
	want := "Could not transfer the call to Bob Chen: the call cannot do that right now. Check its card and try again."
	h.eventually("the reason shown", func() bool { return h.c.Snapshot().Message == want })
}

func TestPeopleShiftEnterAttendedComplete(t *testing.T) {
	h, _ := newPeopleHarness(t)
	id := h.liveCall()
	h.typeText("/")
	h.typeSearch("bob")
	h.shiftEnter()
	h.waitAction("hold " + string(id))
	h.waitAction("dial 2105")
	consult := telephony.CallID("c2")
	h.waitLine(consult, widgets.LineActive)
	h.waitLine(id, widgets.LineHeld)
	h.eventually("Complete offered", func() bool { return visibleButton(h, "Complete") })
	for _, a := range h.fake.Actions() {
		if strings.HasPrefix(a, "transfer") {
			t.Fatalf("Shift+Enter transferred blind: %v", h.fake.Actions())
		}
	}
	h.button("Complete").OnTapped()
	h.waitAction("attended " + string(id) + " " + string(consult))
	h.waitLine(id, widgets.LineEnded)
	h.eventually("Complete gone", func() bool { return !visibleButton(h, "Complete") })
}

func TestPeopleShiftEnterAttendedCancel(t *testing.T) {
	h, _ := newPeopleHarness(t)
	id := h.liveCall()
	h.typeText("/")
	h.typeSearch("eva")
	h.shiftEnter()
	h.waitAction("dial 2104")
	consult := telephony.CallID("c2")
	h.waitLine(consult, widgets.LineActive)
	h.eventually("Cancel offered", func() bool { return visibleButton(h, "Cancel") })
	h.button("Cancel").OnTapped()
	h.waitAction("hangup " + string(consult))
	h.waitAction("resume " + string(id))
	h.waitLine(id, widgets.LineActive)
	h.eventually("Complete gone", func() bool { return !visibleButton(h, "Complete") })
}

func TestPeopleFailedAttendedTransferKeepsCaller(t *testing.T) {
	h, _ := newPeopleHarness(t)
	id := h.liveCall()
	h.typeText("/")
	h.typeSearch("bob")
	h.shiftEnter()
	h.waitLine("c2", widgets.LineActive)
	h.eventually("Complete offered", func() bool { return visibleButton(h, "Complete") })
	h.fake.FailNext("attended", telephony.ErrNoSuchCall)
	h.button("Complete").OnTapped()
	want := "Could not transfer Alice Martin to Bob Chen: the call has ended."
	h.eventually("the reason shown", func() bool { return h.c.Snapshot().Message == want })
	if h.lineState(id) != string(widgets.LineHeld) || !visibleButton(h, "Cancel") {
		t.Fatalf("after a failed Complete the caller is %s and Cancel shown %v; want held, to take back",
			h.lineState(id), visibleButton(h, "Cancel"))
	}
	h.button("Cancel").OnTapped()
	h.waitLine(id, widgets.LineActive)
}

func TestPeopleDragCardOntoContact(t *testing.T) {
	h, _ := newPeopleHarness(t)
	id := h.liveCall()
	rows := rowViews(h)
	if len(rows) != 3 {
		t.Fatalf("%d rows drawn, want 3", len(rows))
	}
	card := h.c.Card(id)
	from, to := centre(card), centre(rows[1]) // Eva Novák
	test.Drag(h.w.Canvas(), from, to.X-from.X, to.Y-from.Y)
	h.waitAction("transfer " + string(id) + " 2104")
	if p := h.c.People(); p.Selected != 1 {
		t.Errorf("the drag over Eva Novák selected row %d, want 1", p.Selected)
	}
	h.waitLine(id, widgets.LineEnded)
}

func TestPeopleDragOffContactsDoesNothing(t *testing.T) {
	h, _ := newPeopleHarness(t)
	id := h.liveCall()
	rows := rowViews(h)
	card := h.c.Card(id)
	last := rows[len(rows)-1]
	from := centre(card)
	to := fyne.CurrentApp().Driver().AbsolutePositionForObject(last).AddXY(last.Size().Width/2, last.Size().Height*3)
	test.Drag(h.w.Canvas(), from, to.X-from.X, to.Y-from.Y)
	h.settle()
	for _, a := range h.fake.Actions() {
		if strings.HasPrefix(a, "transfer") {
			t.Fatalf("a drop below the contacts transferred: %v", h.fake.Actions())
		}
	}
}

func TestPeopleStaleStatus(t *testing.T) {
	h, path := newPeopleHarness(t)
	h.settle()
	if s := h.c.DirectoryStatus(); s != "" {
		t.Fatalf("a fresh directory says %q, want nothing", s)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := h.c.RefreshDirectory(context.Background()); err == nil {
		t.Fatal("the refresh of a removed file did not fail")
	}
	h.eventually("the status says stale", func() bool {
		s := h.c.DirectoryStatus()
		return strings.HasPrefix(s, "Directory as of ") && strings.HasSuffix(s, "(the contacts file cannot be read)")
	})
	if got := len(h.c.People().Rows); got != 3 {
		t.Errorf("a stale directory lists %d people, want the 3 read before", got)
	}
	if err := os.WriteFile(path, []byte(peopleCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.c.RefreshDirectory(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.eventually("the status clears", func() bool { return h.c.DirectoryStatus() == "" })
}

func TestPeopleFailedStatus(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, func(o *app.Options) {
		o.Directory = &directory.Options{Files: []string{filepath.Join(dir, "missing.csv")}, CachePath: filepath.Join(dir, "cache.json")}
	})
	h.eventually("the status says failed", func() bool {
		return h.c.DirectoryStatus() == "No directory: the contacts file cannot be read"
	})
}

func TestPeopleFavouritesPersist(t *testing.T) {
	h, _ := newPeopleHarness(t)
	h.typeText("/")
	h.typeSearch("bob")
	h.button("Favourite").OnTapped()
	if got := h.c.Favourites(); !reflect.DeepEqual(got, []string{"Bob Chen"}) {
		t.Fatalf("favourites %q", got)
	}
	h.button("Bob Chen").OnTapped()
	h.waitAction("dial 2105")

	// A console started again on the same preferences shows them.
	opt, _ := withPeople(t)
	h2 := openConsole(t, h.a, h.fake, "again", opt)
	if got := h2.c.Favourites(); !reflect.DeepEqual(got, []string{"Bob Chen"}) {
		t.Fatalf("favourites after a restart %q", got)
	}
	// The Favourite button on a favourite unpins it.
	h2.eventually("the directory read", func() bool { return len(h2.c.People().Rows) == 3 })
	h2.c.People().SetQuery("bob")
	h2.button("Favourite").OnTapped()
	if got := h2.c.Favourites(); len(got) != 0 {
		t.Fatalf("favourites after unpinning %q", got)
	}
}

// visibleButton reports whether a visible button labelled text is on the
// window.
func visibleButton(h *harness, text string) bool {
	return len(find(h.w.Canvas().Content(), func(o fyne.CanvasObject) bool {
		b, ok := o.(*widget.Button)
		return ok && b.Text == text
	})) > 0
}

// rowViews returns the People pane's drawn rows, top first: the objects
// under it that a double tap activates, other than the search box.
func rowViews(h *harness) []fyne.CanvasObject {
	return find(h.c.People(), func(o fyne.CanvasObject) bool {
		_, dt := o.(fyne.DoubleTappable)
		_, focusable := o.(fyne.Focusable)
		return dt && !focusable
	})
}

func TestPeopleKeysHelp(t *testing.T) {
	says := func(h *harness) bool {
		h.button("Keys").OnTapped()
		defer h.key(fyne.KeyEscape)
		return len(find(h.w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) bool {
			l, ok := o.(*widget.Label)
			return ok && strings.Contains(l.Text, "Shift+Enter")
		})) > 0
	}
	if h, _ := newPeopleHarness(t); !says(h) {
		t.Error("the Keys help does not tell the People pane's keys")
	}
	if h := newHarness(t); says(h) {
		t.Error("the Keys help tells the People pane's keys in a window without one")
	}
}

func TestPeopleSettingsDialog(t *testing.T) {
	var saved []app.Settings
	h := newHarness(t, func(o *app.Options) {
		o.OnSettingsSaved = func(s app.Settings) { saved = append(saved, s) }
	})
	h.c.ShowSettings()
	tabs := find(h.w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) bool {
		_, ok := o.(interface{ SelectIndex(int) })
		return ok
	})
	tabs[0].(interface{ SelectIndex(int) }).SelectIndex(3)
	h.entry("people.csv, team.vcf (comma-separated)").SetText("people.csv")
	url := h.entry("ldaps://ldap.example.com (empty: no LDAP)")
	url.SetText("http://ldap.example.com")
	h.entry("15m0s").SetText("5m")
	test.Tap(h.button("Save"))
	if len(saved) != 0 {
		t.Fatal("invalid directory settings were saved")
	}
	for _, want := range []string{"must start with ldap:// or ldaps://", "the search needs a base DN"} {
		if errs := find(h.w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) bool {
			l, ok := o.(*widget.Label)
			return ok && strings.Contains(l.Text, want)
		}); len(errs) != 1 {
			t.Errorf("the dialog does not say %q", want)
		}
	}
	url.SetText("ldaps://ldap.example.com")
	h.entry("dc=example,dc=com").SetText("dc=example,dc=com")
	test.Tap(h.button("Save"))
	if len(saved) != 1 {
		t.Fatalf("saved %d times", len(saved))
	}
	got := app.LoadSettings(h.a.Preferences())
	if got != saved[0] || got.ContactsFiles != "people.csv" || got.LDAPURL != "ldaps://ldap.example.com" ||
		got.LDAPBaseDN != "dc=example,dc=com" || got.DirectoryRefresh != 5*time.Minute {
		t.Fatalf("preferences hold %+v", got)
	}
	o, err := got.Directory()
	if err != nil || o == nil || !reflect.DeepEqual(o.Files, []string{"people.csv"}) || o.LDAP.URL != "ldaps://ldap.example.com" {
		t.Fatalf("directory options %+v, %v", o, err)
	}
	if o, err := app.DefaultSettings().Directory(); o != nil || err != nil {
		t.Errorf("default settings have a directory: %+v, %v", o, err)
	}
}

func TestPeopleRefreshKeepsSelection(t *testing.T) {
	h, _ := newPeopleHarness(t)
	h.typeText("/")
	h.searchKey(fyne.KeyDown)
	h.searchKey(fyne.KeyDown) // Jürgen Groß
	if err := h.c.RefreshDirectory(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if p := h.c.People(); p.Selected != 2 {
		t.Fatalf("after a refresh row %d is selected, want 2 (Jürgen Groß) as before", p.Selected)
	}
	h.searchKey(fyne.KeyReturn)
	h.waitAction("dial sip:jurgen@pbx.example")
}

func TestPeopleDragOntoContactInScrolledList(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("Name,Extension\n")
	for i := 10; i < 70; i++ {
		fmt.Fprintf(&b, "Person %d,30%d\n", i, i)
	}
	path := filepath.Join(dir, "many.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *app.Options) {
		o.Directory = &directory.Options{Files: []string{path}, CachePath: filepath.Join(dir, "cache.json")}
	})
	h.eventually("the directory read", func() bool { return len(h.c.People().Rows) == 60 })
	id := h.liveCall()
	h.c.People().MoveSelection(50) // scrolls the list down to Person 60
	var target fyne.CanvasObject
	for _, row := range rowViews(h) {
		if len(find(row, func(o fyne.CanvasObject) bool {
			tx, ok := o.(*canvas.Text)
			return ok && tx.Text == "Person 60"
		})) > 0 {
			target = row
		}
	}
	if target == nil {
		t.Fatal("Person 60 is not drawn after scrolling to it")
	}
	from, to := centre(h.c.Card(id)), centre(target)
	test.Drag(h.w.Canvas(), from, to.X-from.X, to.Y-from.Y)
	h.waitAction("transfer " + string(id) + " 3060")
}

func TestPeopleEnterGivesKeysBack(t *testing.T) {
	h, _ := newPeopleHarness(t)
	h.typeText("/")
	h.typeSearch("eva")
	h.searchKey(fyne.KeyReturn)
	h.waitAction("dial 2104")
	if h.focused() != nil {
		t.Fatalf("%T still has the keyboard after Enter on a contact", h.focused())
	}
	// The console's keys work again: H holds the call just placed, once
	// the window has it (the phone's answer reaches it as an event).
	h.waitLine("c1", widgets.LineActive)
	h.typeText("h")
	h.waitAction("hold c1")
}

// TestPeopleShiftDragAttended: a card dropped on a person with Shift held
// starts an attended transfer, as Shift+Enter does: the caller held, the
// colleague called, Complete and Cancel offered, nothing sent blind.
func TestPeopleShiftDragAttended(t *testing.T) {
	h, _ := newPeopleHarness(t)
	h.shiftDrops()
	id := h.liveCall()
	rows := rowViews(h)
	from, to := centre(h.c.Card(id)), centre(rows[1]) // Eva Novák
	test.Drag(h.w.Canvas(), from, to.X-from.X, to.Y-from.Y)
	h.waitAction("hold " + string(id))
	h.waitAction("dial 2104")
	h.waitLine("c2", widgets.LineActive)
	h.eventually("Complete offered", func() bool { return visibleButton(h, "Complete") })
	for _, a := range h.fake.Actions() {
		if strings.HasPrefix(a, "transfer") {
			t.Fatalf("a Shift drop transferred blind: %v", h.fake.Actions())
		}
	}
	h.button("Complete").OnTapped()
	h.waitAction("attended " + string(id) + " c2")
}

// TestPeopleSnapshot: the snapshot (what the real-window tests read from
// the state log) lists the people on screen with their lamps, the one
// selected, and where each is: a drag that ends at the centre a row's
// place gives lands on that person. During an attended transfer it says
// so and where Complete and Cancel are.
func TestPeopleSnapshot(t *testing.T) {
	h, _ := newPeopleHarness(t)
	s := h.c.Snapshot()
	if s.People == nil {
		t.Fatal("no People in the snapshot")
	}
	var names []string
	for _, r := range s.People.Rows {
		names = append(names, r.Name)
		if r.Rect.W <= 0 || r.Rect.H <= 0 {
			t.Errorf("%s: no place (%+v)", r.Name, r.Rect)
		}
	}
	if want := h.rowNames(); !reflect.DeepEqual(names, want) {
		t.Fatalf("snapshot rows %q, want the rows listed %q", names, want)
	}
	if !s.People.Rows[0].Selected || s.People.Rows[1].Selected {
		t.Errorf("selection in the snapshot %+v, want the first row", s.People.Rows)
	}

	id := h.liveCall()
	eva := h.c.Snapshot().People.Rows[1]
	from := centre(h.c.Card(id))
	tx, ty := eva.Rect.Centre()
	test.Drag(h.w.Canvas(), from, tx-from.X, ty-from.Y)
	h.waitAction("transfer " + string(id) + " 2104")
	h.eventually("Eva Novák selected in the snapshot", func() bool {
		rows := h.c.Snapshot().People.Rows
		return len(rows) == 3 && rows[1].Selected && !rows[0].Selected
	})

	h.liveCall()
	h.typeText("/")
	h.typeSearch("bob")
	h.shiftEnter()
	h.eventually("the attended transfer in the snapshot", func() bool {
		p := h.c.Snapshot().People
		_, complete := p.Buttons["Complete"]
		_, cancel := p.Buttons["Cancel"]
		return strings.HasPrefix(p.Consult, "Transfer Alice Martin to Bob Chen") && complete && cancel
	})
	// The places are the laid-out ones from the first snapshot that shows
	// the bar (not at the window's next frame): Complete drawn, the people
	// pushed below the bar.
	p := h.c.Snapshot().People
	if len(p.Rows) != 1 || p.Rows[0].Name != "Bob Chen" || p.Query != "bob" {
		t.Fatalf("after searching bob the snapshot lists %+v (query %q)", p.Rows, p.Query)
	}
	complete := p.Buttons["Complete"]
	if complete.W <= 0 || complete.H <= 0 || p.Rows[0].Rect.Y < complete.Y+complete.H {
		t.Errorf("Complete at %+v and Bob Chen at %+v: not laid out", complete, p.Rows[0].Rect)
	}
}
