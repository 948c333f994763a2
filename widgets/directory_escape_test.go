package widgets

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// TestDirectoryPane_EscapeInEmptySearch: Escape clears a search first;
// only in the empty box does it call OnEscape (the owner gives the
// keyboard back).
func TestDirectoryPane_EscapeInEmptySearch(t *testing.T) {
	d, w, _ := newDirectory(t)
	escapes := 0
	d.OnEscape = func() { escapes++ }
	d.FocusSearch()
	test.Type(w.Canvas().Focused(), "nov")
	key(w, fyne.KeyEscape)
	if d.Query != "" || escapes != 0 {
		t.Fatalf("Escape in a search: query %q, OnEscape called %d times; want cleared, not called", d.Query, escapes)
	}
	key(w, fyne.KeyEscape)
	if escapes != 1 {
		t.Fatalf("Escape in the empty search called OnEscape %d times, want 1", escapes)
	}
}
