// Package keptparks keeps what a console parked, and is still parked,
// across the console's restarts (sip.Config.KeptParks): a SQLite file in
// the console's state directory (-state-dir), through internal/sqlitefile
// as the call log and the park store keep theirs. Each console (its
// address of record) on each park service has its own rows, so that
// consoles sharing a directory never see each other's tokens.
package keptparks

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/switchboard/switchboard/internal/sqlitefile"
	"github.com/switchboard/switchboard/telephony/sip"
)

// FileName is the file's name in the state directory.
const FileName = "parked-by-me.db"

// SQLite is the parks one console kept for one park service.
type SQLite struct {
	db      *sql.DB
	console string
	service string
}

var _ sip.KeptParks = (*SQLite)(nil)

// Open opens (or makes) FileName in dir for the console whose address of
// record is console, parking on the park service named service (its
// address, or its park URI template).
func Open(dir, console, service string) (*SQLite, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keptparks: %w", err)
	}
	path := filepath.Join(dir, FileName)
	ctx := context.Background()
	db, err := sqlitefile.Open(ctx, path, sqlitefile.Options{Sync: sqlitefile.SyncFull, Immediate: true})
	if err != nil {
		return nil, fmt.Errorf("keptparks: %w", err)
	}
	if err := sqlitefile.Migrate(ctx, db, migrations); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("keptparks: %s: %w", path, err)
	}
	return &SQLite{db: db, console: console, service: service}, nil
}

// migrations turn a file of schema version i into version i+1. Only ever
// append: a released migration is never edited.
var migrations = []string{
	// 1: the parks.
	`CREATE TABLE parks (
		console TEXT NOT NULL,
		service TEXT NOT NULL,
		orbit INTEGER NOT NULL,
		token TEXT NOT NULL,
		caller_name TEXT NOT NULL,
		caller_uri TEXT NOT NULL,
		for_aor TEXT NOT NULL,
		for_name TEXT NOT NULL,
		note TEXT NOT NULL,
		parked_at INTEGER NOT NULL,
		PRIMARY KEY (console, service, orbit)
	)`,
}

// Parks returns the parks kept, by orbit.
func (s *SQLite) Parks(ctx context.Context) ([]sip.KeptPark, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT orbit, token, caller_name, caller_uri, for_aor, for_name, note, parked_at
		FROM parks WHERE console = ? AND service = ? ORDER BY orbit`, s.console, s.service)
	if err != nil {
		return nil, fmt.Errorf("keptparks: %w", err)
	}
	defer rows.Close()
	var out []sip.KeptPark
	for rows.Next() {
		var k sip.KeptPark
		var at int64
		if err := rows.Scan(&k.Orbit, &k.Token, &k.CallerName, &k.CallerURI, &k.For.For, &k.For.Name, &k.For.Note, &at); err != nil {
			return nil, fmt.Errorf("keptparks: %w", err)
		}
		k.ParkedAt = sqlitefile.FromNanos(at)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("keptparks: %w", err)
	}
	return out, nil
}

// Keep replaces the parks kept with parks, in one transaction.
func (s *SQLite) Keep(ctx context.Context, parks []sip.KeptPark) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("keptparks: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, `DELETE FROM parks WHERE console = ? AND service = ?`, s.console, s.service); err != nil {
		return fmt.Errorf("keptparks: %w", err)
	}
	for _, k := range parks {
		if _, err := tx.ExecContext(ctx, `INSERT INTO parks (console, service, orbit, token, caller_name, caller_uri, for_aor, for_name, note, parked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.console, s.service, k.Orbit, k.Token, k.CallerName, k.CallerURI,
			k.For.For, k.For.Name, k.For.Note, sqlitefile.Nanos(k.ParkedAt)); err != nil {
			return fmt.Errorf("keptparks: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("keptparks: %w", err)
	}
	return nil
}

// Close closes the file.
func (s *SQLite) Close() error { return s.db.Close() }
