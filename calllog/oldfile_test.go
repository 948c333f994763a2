package calllog_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard/switchboard/calllog"
)

// TestOpensAFileTheFirstVersionWrote: a log written before the schema
// handling moved to internal/sqlitefile (a plain schema_version table at
// version 1) opens as it is, its entries kept and not migrated again.
func TestOpensAFileTheFirstVersionWrote(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now().Add(-time.Hour).UnixNano()
	if _, err := db.Exec(`CREATE TABLE schema_version (version INTEGER NOT NULL);
		CREATE TABLE calls (id INTEGER PRIMARY KEY, direction INTEGER NOT NULL, name TEXT NOT NULL,
			uri TEXT NOT NULL, party_key TEXT NOT NULL, started INTEGER NOT NULL, answered INTEGER NOT NULL,
			ended INTEGER NOT NULL, outcome INTEGER NOT NULL, orbit INTEGER NOT NULL, back_from INTEGER NOT NULL,
			party TEXT NOT NULL, parked_at INTEGER NOT NULL, outcome_at INTEGER NOT NULL, handled INTEGER NOT NULL,
			search TEXT NOT NULL, search_digits TEXT NOT NULL);
		CREATE INDEX calls_started ON calls (started DESC, id DESC);
		CREATE INDEX calls_callback ON calls (party_key) WHERE handled = 0;
		INSERT INTO schema_version (version) VALUES (1);
		INSERT INTO calls VALUES (7, 0, 'Ann', 'sip:ann@x', 'ann@x', ?, 0, 0, 0, 0, 0, '', 0, 0, 0, 'ann', '');`,
		started); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	l, err := calllog.Open(path, calllog.Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer l.Close()
	got, err := l.Recent(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != 7 || got[0].Name != "Ann" {
		t.Fatalf("entries %+v, want Ann's, ID 7", got)
	}
	if e := l.Add(calllog.Entry{Name: "Bo", URI: "sip:bo@x", Started: time.Now()}); e.ID != 8 {
		t.Errorf("next ID %d, want 8", e.ID)
	}
}
