package calllog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/sqlitefile"
)

// Defaults of Options.
const (
	DefaultRetention = 90 * 24 * time.Hour
	DefaultQueue     = 1024
	// pruneEvery is how often the writer drops entries older than the
	// retention, besides at Open.
	pruneEvery = 24 * time.Hour
	// maxBatch bounds the writes one transaction carries.
	maxBatch = 256
)

// ErrClosed is returned by reads of a closed log.
var ErrClosed = errors.New("calllog: closed")

// Options configure a Log.
type Options struct {
	// Retention is how long entries are kept, counted from their start
	// (DefaultRetention when zero; negative: for ever).
	Retention time.Duration
	// Queue is how many writes may wait for the writer (DefaultQueue
	// when zero); a write beyond it is dropped and logged.
	Queue int
	// Clock is the time (time.Now when nil), for the retention.
	Clock func() time.Time
	// Logger receives diagnostics (slog.Default() when nil).
	Logger *slog.Logger
}

// Log is an open call log. Its methods may be called from any
// goroutine. Writes (Add, Update, MarkHandled) are queued for the
// writer goroutine and return at once; Flush waits for them.
type Log struct {
	db   *sql.DB
	opts Options
	log  *slog.Logger

	nextID  atomic.Int64
	dropped atomic.Int64

	mu     sync.Mutex // orders sends on ops with Close
	closed bool
	ops    chan op
	done   chan struct{}
	// pruneEvery is how often the writer prunes (pruneEvery; tests
	// shorten it).
	pruneEvery time.Duration
}

// op is one job of the writer: exactly one field is set.
type op struct {
	put     *Entry
	handled string        // a party key whose call-back entries are handled
	flush   chan struct{} // closed once everything before it is written
	hold    chan struct{} // the writer waits for it to close (tests)
}

// DefaultPath is where the console keeps its call log:
// $XDG_DATA_HOME/switchboard/calls.db, ~/.local/share/switchboard on
// Linux and the BSDs without it, the user's configuration directory
// (Application Support, AppData) elsewhere.
func DefaultPath() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "switchboard", "calls.db"), nil
	}
	if runtime.GOOS != "windows" && runtime.GOOS != "darwin" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("calllog: the data directory: %w", err)
		}
		return filepath.Join(home, ".local", "share", "switchboard", "calls.db"), nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("calllog: the data directory: %w", err)
	}
	return filepath.Join(d, "Switchboard", "calls.db"), nil
}

// Open opens (creating it and its directory where needed) the call log
// at path, brings its tables to this version, drops the entries older
// than the retention and starts the writer. Close ends it.
func Open(path string, opts Options) (*Log, error) {
	l, err := open(path, opts)
	if err != nil {
		return nil, err
	}
	go l.writer()
	return l, nil
}

// open is Open without the writer.
func open(path string, opts Options) (*Log, error) {
	if opts.Retention == 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("calllog: %w", err)
	}
	ctx := context.Background()
	db, err := sqlitefile.Open(ctx, path, sqlitefile.Options{Sync: sqlitefile.SyncNormal})
	if err != nil {
		return nil, fmt.Errorf("calllog: %w", err)
	}
	l := &Log{db: db, opts: opts, log: opts.Logger, ops: make(chan op, opts.Queue), done: make(chan struct{}),
		pruneEvery: pruneEvery}
	if err := sqlitefile.Migrate(ctx, db, migrations); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("calllog: %s: %w", path, err)
	}
	var max sql.NullInt64
	if err := db.QueryRow(`SELECT max(id) FROM calls`).Scan(&max); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("calllog: %s: %w", path, err)
	}
	l.nextID.Store(max.Int64)
	if err := l.prune(); err != nil {
		l.log.Warn("call log: pruning old entries", "error", err)
	}
	return l, nil
}

// migrations turn a log of schema version i into version i+1. Only
// ever append: a released migration is never edited.
var migrations = []string{
	// 1: the calls.
	`CREATE TABLE calls (
		id INTEGER PRIMARY KEY,
		direction INTEGER NOT NULL,
		name TEXT NOT NULL,
		uri TEXT NOT NULL,
		party_key TEXT NOT NULL,
		started INTEGER NOT NULL,
		answered INTEGER NOT NULL,
		ended INTEGER NOT NULL,
		outcome INTEGER NOT NULL,
		orbit INTEGER NOT NULL,
		back_from INTEGER NOT NULL,
		party TEXT NOT NULL,
		parked_at INTEGER NOT NULL,
		outcome_at INTEGER NOT NULL,
		handled INTEGER NOT NULL,
		search TEXT NOT NULL,
		search_digits TEXT NOT NULL
	);
	CREATE INDEX calls_started ON calls (started DESC, id DESC);
	CREATE INDEX calls_callback ON calls (party_key) WHERE handled = 0;`,
}

// prune drops the entries older than the retention.
func (l *Log) prune() error {
	if l.opts.Retention < 0 {
		return nil
	}
	cutoff := l.opts.Clock().Add(-l.opts.Retention)
	res, err := l.db.Exec(`DELETE FROM calls WHERE started < ?`, cutoff.UnixNano())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		l.log.Info("call log: dropped old entries", "count", n, "before", cutoff)
	}
	return nil
}

// Add queues a new entry and returns it with its ID.
func (l *Log) Add(e Entry) Entry {
	e.ID = l.nextID.Add(1)
	l.send(op{put: &e})
	return e
}

// Update queues the new state of an entry Add returned.
func (l *Log) Update(e Entry) {
	if e.ID == 0 {
		return
	}
	l.send(op{put: &e})
}

// MarkHandled queues marking handled every Missed, GaveUp and LostInRestart entry of
// the party at uri: the receptionist called it back.
func (l *Log) MarkHandled(uri string) {
	l.send(op{handled: PartyKey(uri)})
}

// Dropped is how many writes were dropped because the queue was full or
// the log closed.
func (l *Log) Dropped() int64 { return l.dropped.Load() }

// send queues o without blocking; a full queue or a closed log drops it.
func (l *Log) send(o op) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.dropped.Add(1)
		l.log.Warn("call log: write after close dropped")
		return
	}
	select {
	case l.ops <- o:
	default:
		l.dropped.Add(1)
		l.log.Warn("call log: the writer is behind, a write was dropped", "queue", cap(l.ops))
	}
}

// Flush waits until the writes queued before it are written, or ctx
// ends.
func (l *Log) Flush(ctx context.Context) error {
	done := make(chan struct{})
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	// A flush may wait for room: it is not the window's to call.
	select {
	case l.ops <- op{flush: done}:
		l.mu.Unlock()
	default:
		l.mu.Unlock()
		select {
		case l.ops <- op{flush: done}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued, ends the writer and closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return nil
	}
	l.closed = true
	close(l.ops)
	l.mu.Unlock()
	<-l.done
	return l.db.Close()
}

// writer owns the writes: it batches what is queued into one
// transaction, and prunes daily. It ends when Close closes ops.
func (l *Log) writer() {
	defer close(l.done)
	prune := time.NewTicker(l.pruneEvery)
	defer prune.Stop()
	for {
		select {
		case o, ok := <-l.ops:
			if !ok {
				return
			}
			if o.hold != nil {
				<-o.hold
				continue
			}
			batch := []op{o}
		more:
			for len(batch) < maxBatch {
				select {
				case o, ok := <-l.ops:
					if !ok {
						break more
					}
					batch = append(batch, o)
				default:
					break more
				}
			}
			if err := l.write(batch); err != nil {
				l.log.Warn("call log: write failed", "error", err, "entries", len(batch))
			}
			for _, o := range batch {
				if o.flush != nil {
					close(o.flush)
				}
			}
		case <-prune.C:
			if err := l.prune(); err != nil {
				l.log.Warn("call log: pruning old entries", "error", err)
			}
		}
	}
}

const upsert = `INSERT INTO calls (id, direction, name, uri, party_key, started, answered, ended, outcome,
	orbit, back_from, party, parked_at, outcome_at, handled, search, search_digits)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO UPDATE SET direction = excluded.direction, name = excluded.name, uri = excluded.uri,
	party_key = excluded.party_key, started = excluded.started, answered = excluded.answered,
	ended = excluded.ended, outcome = excluded.outcome, orbit = excluded.orbit, back_from = excluded.back_from,
	party = excluded.party, parked_at = excluded.parked_at, outcome_at = excluded.outcome_at,
	handled = max(calls.handled, excluded.handled), search = excluded.search, search_digits = excluded.search_digits`

// write writes one batch in one transaction.
func (l *Log) write(batch []op) error {
	tx, err := l.db.Begin()
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	put, err := tx.Prepare(upsert)
	if err != nil {
		return err
	}
	defer put.Close()
	for _, o := range batch {
		switch {
		case o.put != nil:
			e := o.put
			_, err = put.Exec(e.ID, int(e.Direction), e.Name, e.URI, PartyKey(e.URI),
				sqlitefile.Nanos(e.Started), sqlitefile.Nanos(e.Answered), sqlitefile.Nanos(e.Ended),
				int(e.Outcome), e.Orbit, e.BackFrom, e.Party,
				sqlitefile.Nanos(e.ParkedAt), sqlitefile.Nanos(e.OutcomeAt),
				e.Handled, searchText(*e), searchDigits(*e))
		case o.handled != "":
			_, err = tx.Exec(`UPDATE calls SET handled = 1 WHERE party_key = ? AND handled = 0 AND outcome IN (?, ?, ?)`,
				o.handled, int(Missed), int(GaveUp), int(LostInRestart))
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}

const columns = `id, direction, name, uri, started, answered, ended, outcome, orbit, back_from, party, parked_at, outcome_at, handled`

// Recent returns the newest limit entries, newest first.
func (l *Log) Recent(ctx context.Context, limit int) ([]Entry, error) {
	return l.query(ctx, `SELECT `+columns+` FROM calls ORDER BY started DESC, id DESC LIMIT ?`, limit)
}

// Search returns the newest limit entries whose name, address or
// number contains q, newest first. Case and diacritics do not matter
// ("diaz" finds "Díaz"); a q of digits (spaces, dashes, dots, brackets
// and a plus aside) finds numbers written with or without those. An
// empty q is Recent.
func (l *Log) Search(ctx context.Context, q string, limit int) ([]Entry, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return l.Recent(ctx, limit)
	}
	text := "%" + escapeLike(fold(q)) + "%"
	if d := digits(q); d != "" && strings.Trim(q, "0123456789 +-.()") == "" {
		return l.query(ctx, `SELECT `+columns+` FROM calls WHERE search LIKE ? ESCAPE '\' OR search_digits LIKE ?
			ORDER BY started DESC, id DESC LIMIT ?`, text, "%"+d+"%", limit)
	}
	return l.query(ctx, `SELECT `+columns+` FROM calls WHERE search LIKE ? ESCAPE '\'
		ORDER BY started DESC, id DESC LIMIT ?`, text, limit)
}

// escapeLike escapes LIKE's wildcards in s.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (l *Log) query(ctx context.Context, q string, args ...any) ([]Entry, error) {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("calllog: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var dir, outcome int
		var started, answered, ended, parked, at int64
		if err := rows.Scan(&e.ID, &dir, &e.Name, &e.URI, &started, &answered, &ended, &outcome, &e.Orbit,
			&e.BackFrom, &e.Party, &parked, &at, &e.Handled); err != nil {
			return nil, fmt.Errorf("calllog: %w", err)
		}
		e.Direction, e.Outcome = Direction(dir), Outcome(outcome)
		e.Started, e.Answered, e.Ended = sqlitefile.FromNanos(started), sqlitefile.FromNanos(answered), sqlitefile.FromNanos(ended)
		e.ParkedAt, e.OutcomeAt = sqlitefile.FromNanos(parked), sqlitefile.FromNanos(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("calllog: %w", err)
	}
	return out, nil
}
