package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/directory"
)

// TestPeoplePaneSaysItsState: the People pane says what the directory
// is, not only the status bar (issue 16): a line over the people while
// a stale directory is listed, why it lists nobody when no directory
// could be read, and "Nobody in the directory" for an empty one.
func TestPeoplePaneSaysItsState(t *testing.T) {
	h, path := newPeopleHarness(t)
	if p := h.c.People(); p.Status != "" || p.EmptyText != "Nobody in the directory" {
		t.Fatalf("a fresh directory: status %q, empty text %q", p.Status, p.EmptyText)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := h.c.RefreshDirectory(context.Background()); err == nil {
		t.Fatal("the refresh of a removed file did not fail")
	}
	h.eventually("the pane says stale", func() bool {
		s := h.c.People().Status
		return strings.HasPrefix(s, "Directory as of ") && strings.HasSuffix(s, "(the contacts file cannot be read)")
	})
	if got := len(h.c.People().Rows); got != 3 {
		t.Errorf("a stale directory lists %d people, want the 3 read before", got)
	}

	dir := t.TempDir()
	failed := newHarness(t, func(o *app.Options) {
		o.Directory = &directory.Options{Files: []string{filepath.Join(dir, "missing.csv")}, CachePath: filepath.Join(dir, "cache.json")}
	})
	failed.eventually("the pane says why nobody is listed", func() bool {
		return failed.c.People().EmptyText == "No directory: the contacts file cannot be read"
	})

	empty := filepath.Join(dir, "empty.csv")
	if err := os.WriteFile(empty, []byte("name,extension\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	none := newHarness(t, func(o *app.Options) {
		o.Directory = &directory.Options{Files: []string{empty}, CachePath: filepath.Join(dir, "cache2.json")}
	})
	none.eventually("the pane says nobody is in it", func() bool {
		p := none.c.People()
		return p.EmptyText == "Nobody in the directory" && p.Status == "" && len(p.Rows) == 0
	})
}
