package calllog_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/calllog"
	"github.com/switchboard/switchboard/internal/sqlitefile"
)

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func open(t testing.TB, path string, opts calllog.Options) *calllog.Log {
	t.Helper()
	l, err := calllog.Open(path, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func flush(t testing.TB, l *calllog.Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

func fixed(now time.Time) func() time.Time { return func() time.Time { return now } }

// TestReopenKeepsEverything: what was written before Close is there,
// field for field, after reopening the file; the IDs go on from there.
func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "calls.db")
	l, err := calllog.Open(path, calllog.Options{Clock: fixed(t0)})
	if err != nil {
		t.Fatal(err)
	}
	parked := l.Add(calllog.Entry{Direction: calllog.Inbound, Name: "Alice Martin", URI: "sip:+442079460018@10.0.0.7",
		Started: t0, Answered: t0.Add(5 * time.Second), Outcome: calllog.Answered})
	parked.Outcome, parked.Orbit, parked.ParkedAt, parked.OutcomeAt = calllog.Parked, 703, t0.Add(time.Minute), t0.Add(time.Minute)
	l.Update(parked)
	parked.Outcome, parked.Party, parked.Ended, parked.OutcomeAt = calllog.RetrievedBy, "sip:reception2@10.0.0.9", t0.Add(time.Minute), t0.Add(3*time.Minute)
	l.Update(parked)
	missed := l.Add(calllog.Entry{Name: "Bob Chen", URI: "sip:bob@10.0.0.2", Started: t0.Add(2 * time.Minute),
		Ended: t0.Add(2*time.Minute + 20*time.Second), Outcome: calllog.Missed})
	if err := l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	l = open(t, path, calllog.Options{Clock: fixed(t0)})
	got, err := l.Recent(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d entries after reopening, want 2: %+v", len(got), got)
	}
	if !equal(got[0], missed) || !equal(got[1], parked) {
		t.Errorf("after reopening:\n%+v\n%+v\nwant\n%+v\n%+v", got[0], got[1], missed, parked)
	}
	if e := l.Add(calllog.Entry{Name: "Carol", URI: "sip:carol@x", Started: t0}); e.ID <= missed.ID {
		t.Errorf("new ID %d after %d", e.ID, missed.ID)
	}
}

func equal(a, b calllog.Entry) bool {
	return a.ID == b.ID && a.Direction == b.Direction && a.Name == b.Name && a.URI == b.URI &&
		a.Started.Equal(b.Started) && a.Answered.Equal(b.Answered) && a.Ended.Equal(b.Ended) &&
		a.Outcome == b.Outcome && a.Orbit == b.Orbit && a.BackFrom == b.BackFrom && a.Party == b.Party &&
		a.ParkedAt.Equal(b.ParkedAt) && a.OutcomeAt.Equal(b.OutcomeAt) && a.Handled == b.Handled
}

func names(es []calllog.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

// TestSearch: by name or number, a substring, regardless of case and
// diacritics, numbers with or without their punctuation, newest first;
// LIKE's wildcards are taken literally.
func TestSearch(t *testing.T) {
	l := open(t, filepath.Join(t.TempDir(), "calls.db"), calllog.Options{Clock: fixed(t0)})
	for i, e := range []calllog.Entry{
		{Name: "Carol Díaz", URI: "sip:+15550173@10.0.0.7"},
		{Name: "Alice Martin", URI: "sip:+442079460018@10.0.0.7"},
		{Name: "Zoë 100%", URI: "sip:zoe@example.com"},
		{Name: "", URI: "sip:+15550142@pbx", Direction: calllog.Outbound},
		{Name: "Bob Chen", URI: "sip:bob@10.0.0.2", Outcome: calllog.Transferred, Party: "sip:sales@10.0.0.4"},
	} {
		e.Started = t0.Add(time.Duration(i) * time.Minute)
		l.Add(e)
	}
	flush(t, l)
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"diaz", []string{"Carol Díaz"}},
		{"DÍAZ", []string{"Carol Díaz"}},
		{"zoe", []string{"Zoë 100%"}},
		{"martin", []string{"Alice Martin"}},
		{"555", []string{"", "Carol Díaz"}},
		{"+1 555-0142", []string{""}},
		{"(20) 7946", []string{"Alice Martin"}},
		{"10.0.0.7", []string{"Alice Martin", "Carol Díaz"}},
		{"sales", []string{"Bob Chen"}},
		{"100%", []string{"Zoë 100%"}},
		{"%", []string{"Zoë 100%"}},
		{"_", nil},
		{"nobody", nil},
		{"  ", []string{"Bob Chen", "", "Zoë 100%", "Alice Martin", "Carol Díaz"}},
	} {
		got, err := l.Search(context.Background(), c.q, 10)
		if err != nil {
			t.Fatalf("search %q: %v", c.q, err)
		}
		if fmt.Sprint(names(got)) != fmt.Sprint(c.want) {
			t.Errorf("search %q: %q, want %q", c.q, names(got), c.want)
		}
	}
}

// TestRetention: entries older than the retention are gone after Open;
// the others stay; a negative retention keeps everything.
func TestRetention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.db")
	l, err := calllog.Open(path, calllog.Options{Clock: fixed(t0), Retention: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, age := range []time.Duration{100 * 24 * time.Hour, 91 * 24 * time.Hour, 89 * 24 * time.Hour, time.Hour} {
		l.Add(calllog.Entry{Name: fmt.Sprint(age), URI: "sip:x@y", Started: t0.Add(-age)})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = calllog.Open(path, calllog.Options{Clock: fixed(t0), Retention: -1})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := l.Recent(context.Background(), 10); len(got) != 4 {
		t.Errorf("kept for ever: %d entries, want 4", len(got))
	}
	_ = l.Close()

	l = open(t, path, calllog.Options{Clock: fixed(t0)})
	got, err := l.Recent(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1h0m0s", "2136h0m0s"}; fmt.Sprint(names(got)) != fmt.Sprint(want) {
		t.Errorf("after the default 90 days: %q, want %q", names(got), want)
	}
}

// TestMarkHandled: calling a party back handles its missed and gave-up
// entries, whatever the port or parameters of its address, and no one
// else's; an answered call is never marked.
func TestMarkHandled(t *testing.T) {
	l := open(t, filepath.Join(t.TempDir(), "calls.db"), calllog.Options{Clock: fixed(t0)})
	missed := l.Add(calllog.Entry{Name: "Alice", URI: "sip:+4420@10.0.0.7:5060", Started: t0, Outcome: calllog.Missed})
	gaveUp := l.Add(calllog.Entry{Name: "Alice", URI: "sip:+4420@10.0.0.8;transport=tcp", Started: t0.Add(time.Second), Outcome: calllog.GaveUp})
	answered := l.Add(calllog.Entry{Name: "Alice", URI: "sip:+4420@10.0.0.7", Started: t0.Add(2 * time.Second), Outcome: calllog.Answered})
	other := l.Add(calllog.Entry{Name: "Bob", URI: "sip:bob@10.0.0.7", Started: t0.Add(3 * time.Second), Outcome: calllog.Missed})
	l.MarkHandled("sip:+4420@pbx")
	// A later update of the entry, written from a copy that does not
	// know, does not take the mark back.
	l.Update(gaveUp)
	flush(t, l)
	got, err := l.Recent(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	handled := map[int64]bool{}
	for _, e := range got {
		handled[e.ID] = e.Handled
	}
	want := map[int64]bool{missed.ID: true, gaveUp.ID: true, answered.ID: false, other.ID: false}
	if fmt.Sprint(handled) != fmt.Sprint(want) {
		t.Errorf("handled %v, want %v", handled, want)
	}
}

// TestClosedLog: Close writes what was queued; writes after it are
// dropped and counted, reads refused; a second Close is harmless.
func TestClosedLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.db")
	l, err := calllog.Open(path, calllog.Options{Clock: fixed(t0)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		l.Add(calllog.Entry{Name: fmt.Sprint(i), URI: "sip:x@y", Started: t0})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	l.Add(calllog.Entry{Name: "late", URI: "sip:x@y", Started: t0})
	if n := l.Dropped(); n != 1 {
		t.Errorf("%d writes dropped, want the 1 after close", n)
	}
	if _, err := l.Recent(context.Background(), 1); !errors.Is(err, calllog.ErrClosed) {
		t.Errorf("read after close: %v", err)
	}
	if err := l.Flush(context.Background()); !errors.Is(err, calllog.ErrClosed) {
		t.Errorf("flush after close: %v", err)
	}
	l = open(t, path, calllog.Options{Clock: fixed(t0)})
	if got, _ := l.Recent(context.Background(), 1000); len(got) != 500 {
		t.Errorf("%d entries after close, want the 500 queued", len(got))
	}
}

// TestNewerSchemaRefused: a file written by a newer version is not
// touched.
func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (99)`); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	l, err := calllog.Open(path, calllog.Options{})
	if err == nil {
		_ = l.Close()
		t.Fatal("opened a file of schema 99")
	}
	if !errors.Is(err, sqlitefile.ErrNewerSchema) {
		t.Errorf("Open of a newer file: %v, want sqlitefile.ErrNewerSchema", err)
	}
}

// TestOpenFails: a path that cannot be a file is an error, not a panic.
func TestOpenFails(t *testing.T) {
	if l, err := calllog.Open(t.TempDir(), calllog.Options{}); err == nil {
		_ = l.Close()
		t.Fatal("opened a directory as the log")
	}
}

// TestDefaultPath: XDG_DATA_HOME wins.
func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/data/home")
	if p, err := calllog.DefaultPath(); err != nil || p != "/data/home/switchboard/calls.db" {
		t.Errorf("DefaultPath = %q, %v", p, err)
	}
}

// TestMatchesAgreesWithSearch: Matches finds what Search finds.
func TestMatchesAgreesWithSearch(t *testing.T) {
	e := calllog.Entry{Name: "Carol Díaz", URI: "sip:+15550173@10.0.0.7", Party: "sip:sales@pbx"}
	for q, want := range map[string]bool{"DIAZ": true, "555 0173": true, "sales": true, "10.0.0.7": true, "": true, "bob": false, "9999": false} {
		if calllog.Matches(e, q) != want {
			t.Errorf("Matches(%q) = %v", q, !want)
		}
	}
}

// TestFullQueueDrops: when the writer is behind by the whole queue, a
// write is dropped and counted, never waited for; what was queued is
// written once the writer goes on.
func TestFullQueueDrops(t *testing.T) {
	l := open(t, filepath.Join(t.TempDir(), "calls.db"), calllog.Options{Clock: fixed(t0), Queue: 4})
	release := l.HoldWriter()
	// The hold may still sit in the queue: fill it up to the brim.
	for i := 0; l.Dropped() == 0; i++ {
		if i > 5 {
			t.Fatal("no write dropped with the writer held and the queue full")
		}
		l.Add(calllog.Entry{Name: fmt.Sprint(i), URI: "sip:x@y", Started: t0})
	}
	release()
	flush(t, l)
	got, err := l.Recent(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got); n < 3 || n > 4 {
		t.Errorf("%d entries written, want the 3 or 4 the queue held", n)
	}
}

// TestPrunedWhileOpen: the writer drops entries that grew older than the
// retention while the log was open.
func TestPrunedWhileOpen(t *testing.T) {
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	l, err := calllog.OpenPruningEvery(filepath.Join(t.TempDir(), "calls.db"), calllog.Options{Clock: clock, Retention: time.Hour}, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	l.Add(calllog.Entry{Name: "old", URI: "sip:x@y", Started: t0})
	l.Add(calllog.Entry{Name: "new", URI: "sip:x@y", Started: t0.Add(90 * time.Minute)})
	flush(t, l)
	mu.Lock()
	now = t0.Add(2 * time.Hour)
	mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := l.Recent(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(names(got)) == "[new]" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never pruned: %q", names(got))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
