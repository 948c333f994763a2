package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/switchboard/switchboard/internal/sqlitefile"
)

// TestOpensAStoreOfSchema1: a store the first schema wrote (no sender
// position time) opens, is migrated, and gives its calls back with
// PositionAt zero (unknown).
func TestOpensAStoreOfSchema1(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := sqlitefile.Open(ctx, filepath.Join(dir, DBName), sqlitefile.Options{ForeignKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlitefile.Migrate(ctx, db, migrations[:1]); err != nil {
		t.Fatal(err)
	}
	c := parkedCall(1, 1)
	l := &c.Legs[0]
	args, err := legArgs(l)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO calls VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, callArgs(&c)...); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO legs VALUES (`+placeholders(len(args)-1)+`)`, args[:len(args)-1]...); err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	snap, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Calls) != 1 || len(snap.Calls[0].Legs) != 1 {
		t.Fatalf("loaded %+v, want the one call with its one leg", snap.Calls)
	}
	got := snap.Calls[0].Legs[0].Media
	if !got.PositionAt.IsZero() || got.Seq != l.Media.Seq || got.SSRC != l.Media.SSRC {
		t.Fatalf("leg media after the migration: %+v, want the stored position with PositionAt zero", got)
	}
}

func placeholders(n int) string {
	s := "?"
	for range n - 1 {
		s += ",?"
	}
	return s
}
