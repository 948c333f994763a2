// Package sqlitefile opens a SQLite database file the way this project
// keeps one: WAL journal (checked, not just asked for), a busy timeout,
// a chosen synchronous level, optionally a quick integrity check, and a
// schema_version table that append-only migrations bring up to date.
// The packages that use it (calllog, the park store) keep their own
// tables, errors and connection policy.
package sqlitefile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite" // also registers the "sqlite" database/sql driver
)

// Sync is how durable a write is when its transaction commits.
type Sync uint8

// Sync levels.
const (
	// SyncFull: on stable storage (PRAGMA synchronous=FULL).
	SyncFull Sync = iota
	// SyncNormal: survives a crash of the process; a power loss may
	// undo the last commits (PRAGMA synchronous=NORMAL).
	SyncNormal
)

func (s Sync) pragma() string {
	if s == SyncNormal {
		return "NORMAL"
	}
	return "FULL"
}

// DefaultBusyTimeout is Options.BusyTimeout when zero.
const DefaultBusyTimeout = 5 * time.Second

// Options say how a file is opened.
type Options struct {
	Sync Sync
	// BusyTimeout is how long a statement waits for SQLite's own lock
	// (a checkpoint, a reader); DefaultBusyTimeout when zero.
	BusyTimeout time.Duration
	// ForeignKeys turns on PRAGMA foreign_keys on every connection.
	ForeignKeys bool
	// Immediate makes every transaction BEGIN IMMEDIATE, so a writer
	// takes the write lock up front instead of failing to upgrade.
	Immediate bool
	// QuickCheck runs PRAGMA quick_check at Open; a failure is
	// ErrCorrupt.
	QuickCheck bool
}

var (
	// ErrCorrupt is a file SQLite does not accept as a sound database:
	// not a database, or a failed quick check. See also IsCorrupt.
	ErrCorrupt = errors.New("sqlite file is corrupt")
	// ErrNewerSchema is a file whose schema version is newer than the
	// migrations given; its error is a *SchemaError.
	ErrNewerSchema = errors.New("sqlite file has a newer schema")
)

// SchemaError is ErrNewerSchema with the versions involved.
type SchemaError struct {
	Found int // the file's schema version
	Known int // the newest version the migrations reach
}

// Error names both versions.
func (e *SchemaError) Error() string {
	return fmt.Sprintf("schema version %d is newer than this program's %d", e.Found, e.Known)
}

// Is makes a *SchemaError match ErrNewerSchema.
func (e *SchemaError) Is(target error) bool { return target == ErrNewerSchema }

// IsCorrupt reports whether err is ErrCorrupt or SQLite's own "corrupt"
// or "not a database".
func IsCorrupt(err error) bool {
	if errors.Is(err, ErrCorrupt) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 11, 26: // SQLITE_CORRUPT, SQLITE_NOTADB
			return true
		}
	}
	return false
}

// DSN is the modernc.org/sqlite name of the database at path: a file:
// URI (so a path with '?' or '#' is not cut) with the pragmas every
// connection runs.
func DSN(path string, o Options) string {
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = DefaultBusyTimeout
	}
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter: file:/C:/…
	}
	p = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
	q := []string{
		"_pragma=busy_timeout(" + strconv.FormatInt(o.BusyTimeout.Milliseconds(), 10) + ")",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(" + o.Sync.pragma() + ")",
	}
	if o.ForeignKeys {
		q = append(q, "_pragma=foreign_keys(1)")
	}
	if o.Immediate {
		q = append(q, "_txlock=immediate")
	}
	return "file:" + p + "?" + strings.Join(q, "&")
}

// Open opens the database at path (SQLite creates the file, not its
// directory) and checks that it is in WAL mode and, with QuickCheck,
// sound. The caller sets the pool's limits and closes it.
func Open(ctx context.Context, path string, o Options) (_ *sql.DB, err error) {
	path, err = filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", DSN(path, o))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = db.Close()
		}
	}()
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return nil, fmt.Errorf("%s: journal mode is %q, not WAL (a file system without shared memory?)", path, mode)
	}
	if o.QuickCheck {
		var check string
		if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil {
			return nil, fmt.Errorf("check %s: %w", path, err)
		}
		if check != "ok" {
			return nil, fmt.Errorf("%w: %s: %s", ErrCorrupt, path, check)
		}
	}
	return db, nil
}

// Migrate brings db's schema to version len(migrations) in one
// transaction: migrations[i] turns version i into i+1 (it may hold
// several statements). Only ever append to migrations: a released one
// is never edited. A file newer than that is refused with a
// *SchemaError and left untouched.
func Migrate(ctx context.Context, db *sql.DB, migrations []string) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("schema version table: %w", err)
	}
	var v int
	switch err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v); {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return fmt.Errorf("schema version: %w", err)
		}
	case err != nil:
		return fmt.Errorf("schema version: %w", err)
	}
	if v > len(migrations) {
		return &SchemaError{Found: v, Known: len(migrations)}
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migration to version %d: %w", i+1, err)
		}
	}
	if v < len(migrations) {
		if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(migrations)); err != nil {
			return fmt.Errorf("schema version: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration: %w", err)
	}
	return nil
}

// Nanos is t as the INTEGER column keeps it: Unix nanoseconds, and 0
// for the zero time (which UnixNano cannot represent).
func Nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// FromNanos is Nanos undone: 0 is the zero time.
func FromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
