package sqlitefile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var twoSteps = []string{
	`CREATE TABLE a (x INTEGER NOT NULL); INSERT INTO a VALUES (1);`,
	`ALTER TABLE a ADD COLUMN y INTEGER NOT NULL DEFAULT 2;`,
}

func version(t *testing.T, path string) int {
	t.Helper()
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow(`SELECT version FROM schema_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMigrateStepByStep: a new file gets every migration once, an older
// one only those it lacks, and the pragmas asked for are in force.
func TestMigrateStepByStep(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a?b#c%d.db") // DSN escaping
	db, err := Open(ctx, path, Options{Sync: SyncNormal, ForeignKeys: true, Immediate: true, QuickCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	var sync, fk int
	if err := db.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if sync != 1 || fk != 1 {
		t.Errorf("synchronous %d foreign_keys %d, want 1 1", sync, fk)
	}
	if err := Migrate(ctx, db, twoSteps[:1]); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db, twoSteps); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db, twoSteps); err != nil {
		t.Fatal(err)
	}
	var n, y int
	if err := db.QueryRow(`SELECT count(*), max(y) FROM a`).Scan(&n, &y); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	if n != 1 || y != 2 {
		t.Errorf("rows %d y %d, want 1 2", n, y)
	}
	if v := version(t, path); v != 2 {
		t.Errorf("version %d, want 2", v)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the file is not where asked: %v", err)
	}
}

// TestNewerSchemaRefusedUntouched: a file past the migrations is a
// *SchemaError and keeps its version.
func TestNewerSchemaRefusedUntouched(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db, twoSteps); err != nil {
		t.Fatal(err)
	}
	err = Migrate(ctx, db, twoSteps[:1])
	_ = db.Close()
	var se *SchemaError
	if !errors.Is(err, ErrNewerSchema) || !errors.As(err, &se) || se.Found != 2 || se.Known != 1 {
		t.Fatalf("Migrate of a newer file: %v, want ErrNewerSchema 2 > 1", err)
	}
	if v := version(t, path); v != 2 {
		t.Errorf("version %d after the refusal, want 2", v)
	}
}

// TestJunkIsCorrupt: a file that is not a database fails Open as
// corrupt, and IsCorrupt says so.
func TestJunkIsCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(path, []byte("this is not a database, not at all, no; padding padding padding padding padding padding padding"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), path, Options{QuickCheck: true})
	if err == nil {
		_ = db.Close()
		t.Fatal("opened a junk file")
	}
	if !IsCorrupt(err) {
		t.Errorf("Open of a junk file: %v, want it corrupt", err)
	}
	if IsCorrupt(errors.New("other")) {
		t.Error("any error is corrupt")
	}
}

// TestNanosKeepsTheZeroTime: the zero time is 0 and back, others their
// instant.
func TestNanosKeepsTheZeroTime(t *testing.T) {
	if n := Nanos(time.Time{}); n != 0 {
		t.Errorf("Nanos(zero) = %d", n)
	}
	if !FromNanos(0).IsZero() {
		t.Error("FromNanos(0) is not the zero time")
	}
	at := time.Date(2026, 12, 5, 13, 0, 0, 7, time.UTC)
	if got := FromNanos(Nanos(at)); !got.Equal(at) {
		t.Errorf("round trip %v, want %v", got, at)
	}
}
