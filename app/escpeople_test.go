package app_test

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/widgets"
)

// TestEscInEmptySearchGivesTheKeysBack: the first Esc in the People
// search clears it; the second, in the empty search, gives the keyboard
// back to the lines, so that Enter answers the ringing call instead of
// acting on the first contact.
func TestEscInEmptySearchGivesTheKeysBack(t *testing.T) {
	h, _ := newPeopleHarness(t)
	alice := h.fake.Ring("Alice Martin", aliceURI)
	h.waitLine(alice, widgets.LineRinging)
	h.typeText("/")
	h.typeSearch("bo")
	h.press(fyne.KeyEscape)
	if !h.c.People().SearchFocused() || h.c.People().Query != "" {
		t.Fatalf("the first Esc: search focused %v, query %q; want the search cleared and kept",
			h.c.People().SearchFocused(), h.c.People().Query)
	}
	h.press(fyne.KeyEscape)
	if f := h.focused(); f != nil {
		t.Fatalf("Esc in the empty search left the keyboard with %T", f)
	}
	h.press(fyne.KeyReturn)
	h.waitLine(alice, widgets.LineActive)
	// Only the answer acted on a call (the People pane's presence
	// watches are no calls' business).
	var acted []string
	for _, a := range h.fake.Actions() {
		if !strings.HasPrefix(a, "watch ") {
			acted = append(acted, a)
		}
	}
	if len(acted) != 1 || acted[0] != "answer "+string(alice) {
		t.Errorf("actions on calls %q, want only the answer (all: %q)", acted, h.fake.Actions())
	}
}

// TestSettingsEscFromAPeopleField: Esc in a field of the settings'
// People tab closes the dialog, as in the other tabs, and reaches
// neither the calls nor the saved settings.
func TestSettingsEscFromAPeopleField(t *testing.T) {
	for _, placeholder := range []string{"dc=example,dc=com", "people.csv, team.vcf (comma-separated)"} {
		t.Run(placeholder, func(t *testing.T) {
			h := newHarness(t)
			alice := h.fake.Ring("Alice Martin", aliceURI)
			h.waitLine(alice, widgets.LineRinging)
			h.c.ShowSettings()
			h.tabNamed("People")
			f := h.field(placeholder)
			h.w.Canvas().Focus(f)
			h.typeKeys("x")
			if e, _ := app.EntryOf(f); !strings.Contains(e.Text, "x") {
				t.Fatalf("the field did not get the keys: %q", e.Text)
			}
			h.press(fyne.KeyEscape)
			if h.dialogOpen() {
				t.Fatal("Esc in a People field did not close the Settings dialog")
			}
			h.settle()
			if s := h.c.Snapshot(); s.Confirm != "" {
				t.Errorf("Esc reached the calls: confirm %q", s.Confirm)
			}
			if a := h.fake.Actions(); len(a) != 0 {
				t.Errorf("keys acted on the calls: %q", a)
			}
			if got := app.LoadSettings(h.a.Preferences()); got != app.DefaultSettings() {
				t.Errorf("Esc saved %+v", got)
			}
		})
	}
}

// tabNamed shows the settings dialog's tab named name.
func (h *harness) tabNamed(name string) {
	h.t.Helper()
	for _, o := range find(h.w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) bool {
		_, ok := o.(*container.AppTabs)
		return ok
	}) {
		tabs := o.(*container.AppTabs)
		for i, it := range tabs.Items {
			if it.Text == name {
				tabs.SelectIndex(i)
				return
			}
		}
	}
	h.t.Fatalf("no tab %q in the dialog", name)
}
