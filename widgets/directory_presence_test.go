package widgets

import (
	"strconv"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// TestDirectoryPane_ShownRows: OnShown names the rows on screen, a
// bounded part of a long list, and follows a scroll; ShownRows agrees.
func TestDirectoryPane_ShownRows(t *testing.T) {
	newApp(t)
	d := NewDirectoryPane(func(string) {})
	var reports [][2]int
	d.OnShown = func(first, last int) { reports = append(reports, [2]int{first, last}) }
	w := test.NewTempWindow(t, d)
	w.Resize(fyne.NewSize(360, 400))
	rows := make([]DirectoryRow, 200)
	for i := range rows {
		rows[i] = DirectoryRow{ID: strconv.Itoa(i), Name: "Person " + strconv.Itoa(i), Extension: strconv.Itoa(2000 + i)}
	}
	d.SetRows(rows)
	if len(reports) == 0 {
		t.Fatal("no OnShown after SetRows")
	}
	first, last := d.ShownRows()
	if got := reports[len(reports)-1]; got != [2]int{first, last} || first != 0 || last < 3 || last > 20 {
		t.Fatalf("shown %v (ShownRows %d..%d), want the first rows a 400-high window shows", reports, first, last)
	}
	d.MoveSelection(150) // scrolls to row 150
	first, last = d.ShownRows()
	if first == 0 || first > 150 || last < 150 || last-first > 20 {
		t.Fatalf("after scrolling to 150: shown %d..%d", first, last)
	}
	if got := reports[len(reports)-1]; got != [2]int{first, last} {
		t.Fatalf("last OnShown %v, ShownRows %d..%d", got, first, last)
	}
	d.SetRows(nil)
	if got := reports[len(reports)-1]; got[1] >= got[0] {
		t.Fatalf("no rows: OnShown %v", got)
	}
}

// TestDirectoryPane_PresenceInWords: each lamp says its state in a
// word beside its colour; an unknown one says nothing.
func TestDirectoryPane_PresenceInWords(t *testing.T) {
	d, _, _ := newDirectory(t)
	for _, tc := range []struct {
		p    Presence
		want string
	}{{PresenceIdle, "free"}, {PresenceRinging, "ringing"}, {PresenceBusy, "on a call"}, {PresenceUnknown, ""}} {
		d.SetPresence("eva", tc.p)
		var got *directoryRowView
		for _, o := range test.LaidOutObjects(d.list) {
			if v, ok := o.(*directoryRowView); ok && v.Visible() && v.row.ID == "eva" {
				got = v
			}
		}
		if got == nil || got.state.Text != tc.want {
			t.Fatalf("%v: row %+v", tc.p, got)
		}
	}
}
