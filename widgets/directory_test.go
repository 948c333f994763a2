package widgets

import (
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// dirPeople is what a search might find.
var dirPeople = []DirectoryRow{
	{ID: "eva", Name: "Eva Novák", Extension: "2104", Department: "Accounts"},
	{ID: "ivan", Name: "Ivanova Petra", Extension: "2300", Department: "Support"},
	{ID: "nov", Name: "Novotný Jan", Extension: "2400", Department: "Sales"},
}

// dirLog records what a directory pane reports.
type dirLog struct {
	searches  []string
	activated []DirectoryRow
}

// newDirectory shows a pane in a window; its searches keep the rows whose
// name contains the query, as an app would do with the directory.
func newDirectory(t *testing.T) (*DirectoryPane, fyne.Window, *dirLog) {
	newApp(t)
	log := &dirLog{}
	var d *DirectoryPane
	d = NewDirectoryPane(func(q string) {
		log.searches = append(log.searches, q)
		var rows []DirectoryRow
		for _, r := range dirPeople {
			if strings.Contains(strings.ToLower(r.Name), strings.ToLower(q)) {
				rows = append(rows, r)
			}
		}
		d.SetRows(rows)
	})
	d.OnActivate = func(r DirectoryRow) { log.activated = append(log.activated, r) }
	w := test.NewTempWindow(t, d)
	w.Resize(fyne.NewSize(360, 400))
	d.SetRows(dirPeople)
	return d, w, log
}

// key sends a key to what has the keyboard in w.
func key(w fyne.Window, name fyne.KeyName) {
	w.Canvas().Focused().TypedKey(&fyne.KeyEvent{Name: name})
}

// shownRows is the text of the rows the list draws, in order.
func shownRows(d *DirectoryPane) []string {
	var out []string
	for _, o := range test.LaidOutObjects(d.list) {
		if v, ok := o.(*directoryRowView); ok && v.Visible() && v.id >= 0 && v.id < len(d.Rows) {
			out = append(out, v.name.Text+" "+v.ext.Text+" "+v.department.Text)
		}
	}
	return out
}

func TestDirectoryPane_TypingSearches(t *testing.T) {
	d, w, log := newDirectory(t)
	d.FocusSearch()
	if !d.SearchFocused() {
		t.Fatal("FocusSearch did not focus the search box")
	}
	test.Type(w.Canvas().Focused(), "nov")
	if !reflect.DeepEqual(log.searches, []string{"n", "no", "nov"}) || d.Query != "nov" {
		t.Errorf("searches %q, query %q", log.searches, d.Query)
	}
	want := []string{"Eva Novák 2104 Accounts", "Ivanova Petra 2300 Support", "Novotný Jan 2400 Sales"}
	if got := shownRows(d); !reflect.DeepEqual(got, want) {
		t.Errorf("shown %q, want %q", got, want)
	}
	test.Type(w.Canvas().Focused(), "o")
	if got := shownRows(d); !reflect.DeepEqual(got, []string{"Novotný Jan 2400 Sales"}) || d.Selected != 0 {
		t.Errorf("after 'novo': shown %q, selected %d", got, d.Selected)
	}
	key(w, fyne.KeyBackspace)
	if d.Query != "nov" || log.searches[len(log.searches)-1] != "nov" {
		t.Errorf("backspace: query %q, searches %q", d.Query, log.searches)
	}
	// Escape clears the search, which lists everybody again.
	key(w, fyne.KeyEscape)
	if d.Query != "" || log.searches[len(log.searches)-1] != "" || len(d.Rows) != 3 {
		t.Errorf("escape: query %q, searches %q, %d rows", d.Query, log.searches, len(d.Rows))
	}
	n := len(log.searches)
	key(w, fyne.KeyEscape)
	if len(log.searches) != n {
		t.Error("escape in an empty box searched again")
	}
}

func TestDirectoryPane_ArrowsAndEnter(t *testing.T) {
	d, w, log := newDirectory(t)
	d.FocusSearch()
	if d.Selected != 0 {
		t.Fatalf("selected %d after rows are set, want the first", d.Selected)
	}
	key(w, fyne.KeyReturn)
	key(w, fyne.KeyDown)
	key(w, fyne.KeyDown)
	key(w, fyne.KeyDown) // stays on the last
	if d.Selected != 2 {
		t.Errorf("after 3 downs selected %d, want 2", d.Selected)
	}
	key(w, fyne.KeyUp)
	key(w, fyne.KeyEnter)
	key(w, fyne.KeyPageUp)
	key(w, fyne.KeyUp) // stays on the first
	if d.Selected != 0 {
		t.Errorf("after page up selected %d", d.Selected)
	}
	key(w, fyne.KeyPageDown)
	key(w, fyne.KeyReturn)
	var got []string
	for _, r := range log.activated {
		got = append(got, r.ID)
	}
	if want := []string{"eva", "ivan", "nov"}; !reflect.DeepEqual(got, want) {
		t.Errorf("activated %q, want %q", got, want)
	}
	if !d.SearchFocused() {
		t.Error("the keys took the focus from the search box")
	}
	// No rows: Enter does nothing.
	test.Type(w.Canvas().Focused(), "zzz")
	key(w, fyne.KeyReturn)
	key(w, fyne.KeyDown)
	if len(log.activated) != 3 || d.Selected != -1 {
		t.Errorf("with no rows: activated %d, selected %d", len(log.activated), d.Selected)
	}
}

func TestDirectoryPane_TapAndDoubleTap(t *testing.T) {
	d, _, log := newDirectory(t)
	var views []*directoryRowView
	for _, o := range test.LaidOutObjects(d.list) {
		if v, ok := o.(*directoryRowView); ok && v.id >= 0 {
			views = append(views, v)
		}
	}
	if len(views) != 3 {
		t.Fatalf("%d rows drawn", len(views))
	}
	test.DoubleTap(views[2])
	if d.Selected != 2 || len(log.activated) != 1 || log.activated[0].ID != "nov" {
		t.Errorf("double tap: selected %d, activated %+v", d.Selected, log.activated)
	}
}

func TestDirectoryPane_Presence(t *testing.T) {
	d, _, _ := newDirectory(t)
	th := fyne.CurrentApp().Settings().Theme()
	lampOf := func(id string) *canvas.Rectangle {
		for _, o := range test.LaidOutObjects(d.list) {
			if rv, ok := o.(*directoryRowView); ok && rv.row.ID == id {
				return rv.lamp
			}
		}
		t.Fatalf("no row %s drawn", id)
		return nil
	}
	variant := fyne.CurrentApp().Settings().ThemeVariant()
	for _, tc := range []struct {
		p    Presence
		want fyne.ThemeColorName
	}{
		{PresenceUnknown, theme.ColorNameDisabled},
		{PresenceIdle, theme.ColorNameSuccess},
		{PresenceRinging, theme.ColorNameWarning},
		{PresenceBusy, theme.ColorNameError},
	} {
		d.SetPresence("ivan", tc.p)
		if got, want := lampOf("ivan").FillColor, th.Color(tc.want, variant); got != want {
			t.Errorf("presence %d: lamp %v, want %s %v", tc.p, got, tc.want, want)
		}
		if d.Rows[1].Presence != tc.p {
			t.Errorf("presence %d not in the row's state", tc.p)
		}
	}
	if got, want := lampOf("eva").FillColor, th.Color(theme.ColorNameDisabled, variant); got != want {
		t.Errorf("other row's lamp changed: %v", got)
	}
}

func TestDirectoryPane_Markup(t *testing.T) {
	d, w, _ := newDirectory(t)
	d.FocusSearch()
	test.Type(w.Canvas().Focused(), "nov")
	d.SetPresence("eva", PresenceIdle)
	d.SetPresence("ivan", PresenceRinging)
	d.SetPresence("nov", PresenceBusy)
	key(w, fyne.KeyDown)
	test.AssertRendersToMarkup(t, "directory/search.xml", w.Canvas())
	test.Type(w.Canvas().Focused(), "zzz")
	test.AssertRendersToMarkup(t, "directory/none.xml", w.Canvas())
	if !d.empty.Visible() || d.empty.Text != "Nobody matches \u201cnovzzz\u201d" {
		t.Errorf("no rows: %q shown %v", d.empty.Text, d.empty.Visible())
	}
	key(w, fyne.KeyEscape)
	if d.empty.Visible() {
		t.Error("the empty search's note stays after Escape")
	}
}

// TestDirectoryPane_StatesMarkup: the pane's states as markup goldens
// (issue 16): reading the directory, a directory with nobody in it, no
// directory, a stale directory listed with why, and every presence word.
// The render cache is made fresh first (freshRenderCache), and
// TestGoldensWithStaleRenderCache runs this with a stale one.
func TestDirectoryPane_StatesMarkup(t *testing.T) {
	freshRenderCache()
	d, w, _ := newDirectory(t)
	d.SetRows(nil)
	d.SetState("", "Reading the directory…")
	test.AssertRendersToMarkup(t, "directory/loading.xml", w.Canvas())
	d.SetState("", "Nobody in the directory")
	test.AssertRendersToMarkup(t, "directory/empty.xml", w.Canvas())
	d.SetState("", "No directory: the directory server cannot be reached")
	test.AssertRendersToMarkup(t, "directory/failed.xml", w.Canvas())

	d.SetRows(append(dirPeople, DirectoryRow{ID: "ota", Name: "Ota Král", Extension: "2500", Department: "Front desk"}))
	d.SetPresence("eva", PresenceIdle)
	d.SetPresence("ivan", PresenceRinging)
	d.SetPresence("nov", PresenceBusy)
	d.SetState("Directory as of 09:12 (the directory server cannot be reached)", "Reading the directory…")
	test.AssertRendersToMarkup(t, "directory/stale.xml", w.Canvas())
	if d.empty.Visible() {
		t.Error("the empty note shows over listed rows")
	}
	d.SetState("", "")
	test.AssertRendersToMarkup(t, "directory/presence.xml", w.Canvas())
}
