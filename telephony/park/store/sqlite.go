package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/sqlitefile"
)

// File names in a store's directory.
const (
	DBName   = "park.db"   // the SQLite database (with its -wal and -shm)
	LockName = "park.lock" // the lock file that keeps a second process out
)

// Sync is how durable a SQLite store's writes are when they return.
type Sync = sqlitefile.Sync

// Sync levels; see the package doc for the trade-off.
const (
	// SyncFull: each write is on stable storage when it returns
	// (PRAGMA synchronous=FULL). The default.
	SyncFull = sqlitefile.SyncFull
	// SyncNormal: each write survives a crash of the process; a power
	// loss may undo the last ones (PRAGMA synchronous=NORMAL).
	SyncNormal = sqlitefile.SyncNormal
)

// Options tune a SQLite store; the zero value is parkd's setting.
type Options struct {
	Sync Sync
	// BusyTimeout is how long a statement waits for SQLite's own lock
	// (a checkpoint, a reader); 5 s when zero.
	BusyTimeout time.Duration
}

// SQLite is the embedded Store: one SQLite database in WAL mode in a
// directory the process holds locked. It writes through one connection
// with prepared statements; concurrent writers queue on it.
type SQLite struct {
	dir  string
	lock *os.File
	db   *sql.DB

	mu     sync.RWMutex // write-held only by Close
	closed bool

	upsertCall, orbitHolder, deleteLegsOf, upsertLeg *sql.Stmt
	deleteCall, deleteLeg, callExists, legCall       *sql.Stmt
	claimGeneration                                  *sql.Stmt
}

var _ Store = (*SQLite)(nil)

// Open opens (creating it, 0700, when absent) the store in dir with
// parkd's options. A store another process holds fails with an
// *InUseError (ErrInUse); one written by a newer parkd with ErrNewerSchema;
// a damaged file with ErrCorrupt.
func Open(dir string) (*SQLite, error) { return OpenWith(dir, Options{}) }

// OpenWith is Open with o.
func OpenWith(dir string, o Options) (st *SQLite, err error) {
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("park store: state directory: %w", err)
	}
	lock, err := lockFile(filepath.Join(dir, LockName))
	if err != nil {
		return nil, err
	}
	writePID(lock)
	s := &SQLite{dir: dir, lock: lock}
	defer func() {
		if err != nil {
			s.release()
		}
	}()
	ctx := context.Background()
	s.db, err = sqlitefile.Open(ctx, s.path(), sqlitefile.Options{
		Sync: o.Sync, BusyTimeout: o.BusyTimeout, ForeignKeys: true, Immediate: true, QuickCheck: true,
	})
	if err != nil {
		return nil, classify(fmt.Errorf("park store: %w", err))
	}
	// One connection: writes are serialised anyway, and every statement
	// below is prepared on it once.
	s.db.SetMaxOpenConns(1)
	s.db.SetMaxIdleConns(1)
	s.db.SetConnMaxLifetime(0)
	s.db.SetConnMaxIdleTime(0)

	if err := migrate(ctx, s.db); err != nil {
		return nil, classify(err)
	}
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *SQLite) path() string { return filepath.Join(s.dir, DBName) }

// Path is the database file.
func (s *SQLite) Path() string { return s.path() }

// writePID records the holder in the lock file, for the InUseError of
// whoever is refused; best effort.
func writePID(f *os.File) {
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
}

// readPID is the holder's PID from its lock file; 0 when unknown.
func readPID(f *os.File) int {
	var b [32]byte
	n, _ := f.ReadAt(b[:], 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// classify marks SQLite's "not a database" and "corrupt", and a failed
// quick check, as ErrCorrupt.
func classify(err error) error {
	if sqlitefile.IsCorrupt(err) {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}

var legColumns = []string{
	"id", "call", "state", "role", "partner",
	"sip_call_id", "local_tag", "remote_tag", "local_uri", "remote_uri", "remote_target",
	"local_contact", "route_set", "local_cseq", "remote_cseq", "transport", "source",
	"rtp_local", "rtp_remote", "rtp_latched", "latched_ssrc",
	"codec", "send_pt", "recv_pt", "send_event_pt", "recv_event_pt", "mute",
	"ssrc", "seq", "ts", "sdp_session", "sdp_version", "sdp", "position_at",
}

var callColumns = []string{
	"id", "state", "orbit", "token", "parker", "for_uri", "note", "caller_name", "caller_uri",
	"parked_at", "returned_at", "ringback_at", "ringbacks", "ring_target", "ring_since",
	"ring_fallback", "retriever",
}

// upsert is an INSERT of cols into table that updates every column of
// an existing row with the same id (never a REPLACE, which would delete
// a call's legs through the cascade).
func upsert(table string, cols []string) string {
	set := make([]string, 0, len(cols)-1)
	for _, c := range cols[1:] {
		set = append(set, c+" = excluded."+c)
	}
	return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ") ON CONFLICT (id) DO UPDATE SET " +
		strings.Join(set, ", ")
}

func (s *SQLite) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.upsertCall, upsert("calls", callColumns)},
		{&s.orbitHolder, `SELECT id FROM calls WHERE orbit = ? AND id <> ?`},
		{&s.deleteLegsOf, `DELETE FROM legs WHERE call = ?`},
		{&s.upsertLeg, upsert("legs", legColumns)},
		{&s.deleteCall, `DELETE FROM calls WHERE id = ?`},
		{&s.deleteLeg, `DELETE FROM legs WHERE id = ?`},
		{&s.callExists, `SELECT count(*) FROM calls WHERE id = ?`},
		{&s.legCall, `SELECT call FROM legs WHERE id = ?`},
		{&s.claimGeneration, `UPDATE meta SET value = value + 1 WHERE key = 'generation' RETURNING value`},
	} {
		st, err := s.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("park store: prepare %q: %w", p.sql, err)
		}
		*p.stmt = st
	}
	return nil
}

// write runs f in one immediate transaction and commits it; f's error
// rolls it back.
func (s *SQLite) write(ctx context.Context, what string, f func(tx *sql.Tx) error) (err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return classify(fmt.Errorf("park store: %s: begin: %w", what, err))
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return classify(err)
	}
	if err := tx.Commit(); err != nil {
		return classify(fmt.Errorf("park store: %s: commit: %w", what, err))
	}
	return nil
}

// PutCall writes c whole; see Store.
func (s *SQLite) PutCall(ctx context.Context, c Call) error {
	c.Legs = append([]Leg(nil), c.Legs...) // check fills in Call
	if err := c.check(); err != nil {
		return err
	}
	return s.write(ctx, "put call "+c.ID, func(tx *sql.Tx) error {
		if c.Orbit != 0 {
			var holder string
			err := tx.StmtContext(ctx, s.orbitHolder).QueryRowContext(ctx, c.Orbit, c.ID).Scan(&holder)
			if err == nil {
				return fmt.Errorf("%w: orbit %d is call %s's, not %s's", ErrOrbitTaken, c.Orbit, holder, c.ID)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("park store: orbit %d: %w", c.Orbit, err)
			}
		}
		if _, err := tx.StmtContext(ctx, s.upsertCall).ExecContext(ctx, callArgs(&c)...); err != nil {
			return fmt.Errorf("park store: put call %s: %w", c.ID, err)
		}
		if _, err := tx.StmtContext(ctx, s.deleteLegsOf).ExecContext(ctx, c.ID); err != nil {
			return fmt.Errorf("park store: put call %s: old legs: %w", c.ID, err)
		}
		up := tx.StmtContext(ctx, s.upsertLeg)
		for i := range c.Legs {
			args, err := legArgs(&c.Legs[i])
			if err != nil {
				return err
			}
			if _, err := up.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("park store: put leg %s: %w", c.Legs[i].ID, err)
			}
		}
		return nil
	})
}

// DeleteCall deletes the call id and its legs; see Store.
func (s *SQLite) DeleteCall(ctx context.Context, id string) error {
	return s.write(ctx, "delete call "+id, func(tx *sql.Tx) error {
		if _, err := tx.StmtContext(ctx, s.deleteLegsOf).ExecContext(ctx, id); err != nil {
			return fmt.Errorf("park store: delete legs of %s: %w", id, err)
		}
		if _, err := tx.StmtContext(ctx, s.deleteCall).ExecContext(ctx, id); err != nil {
			return fmt.Errorf("park store: delete call %s: %w", id, err)
		}
		return nil
	})
}

// PutLeg writes one leg of a stored call; see Store.
func (s *SQLite) PutLeg(ctx context.Context, l Leg) error {
	if err := l.check(); err != nil {
		return err
	}
	args, err := legArgs(&l)
	if err != nil {
		return err
	}
	return s.write(ctx, "put leg "+l.ID, func(tx *sql.Tx) error {
		var n int
		if err := tx.StmtContext(ctx, s.callExists).QueryRowContext(ctx, l.Call).Scan(&n); err != nil {
			return fmt.Errorf("park store: put leg %s: call %s: %w", l.ID, l.Call, err)
		}
		if n == 0 {
			return fmt.Errorf("%w: leg %s names call %s", ErrNoCall, l.ID, l.Call)
		}
		if l.Partner != "" {
			var call string
			err := tx.StmtContext(ctx, s.legCall).QueryRowContext(ctx, l.Partner).Scan(&call)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && call != l.Call) {
				return fmt.Errorf("%w: leg %s bridged to %s, not a leg of call %s", ErrInvalid, l.ID, l.Partner, l.Call)
			}
			if err != nil {
				return fmt.Errorf("park store: put leg %s: partner %s: %w", l.ID, l.Partner, err)
			}
		}
		if _, err := tx.StmtContext(ctx, s.upsertLeg).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("park store: put leg %s: %w", l.ID, err)
		}
		return nil
	})
}

// DeleteLeg deletes one leg; see Store.
func (s *SQLite) DeleteLeg(ctx context.Context, id string) error {
	return s.write(ctx, "delete leg "+id, func(tx *sql.Tx) error {
		if _, err := tx.StmtContext(ctx, s.deleteLeg).ExecContext(ctx, id); err != nil {
			return fmt.Errorf("park store: delete leg %s: %w", id, err)
		}
		return nil
	})
}

// Load reads every call and claims the next generation; see Store.
func (s *SQLite) Load(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	err := s.write(ctx, "load", func(tx *sql.Tx) error {
		var g int64
		if err := tx.StmtContext(ctx, s.claimGeneration).QueryRowContext(ctx).Scan(&g); err != nil {
			return fmt.Errorf("park store: claim generation: %w", err)
		}
		snap.Generation = uint64(g)
		calls, err := loadCalls(ctx, tx)
		if err != nil {
			return err
		}
		byID := make(map[string]int, len(calls))
		for i := range calls {
			byID[calls[i].ID] = i
		}
		legs, err := loadLegs(ctx, tx)
		if err != nil {
			return err
		}
		for _, l := range legs {
			i, ok := byID[l.Call]
			if !ok {
				// The foreign key makes this impossible in a sound store.
				return fmt.Errorf("%w: leg %s of missing call %s", ErrCorrupt, l.ID, l.Call)
			}
			calls[i].Legs = append(calls[i].Legs, l)
		}
		snap.Calls = calls
		return nil
	})
	if err != nil {
		return Snapshot{}, err
	}
	return snap, nil
}

// Close closes the database (checkpointing its WAL) and releases the
// lock; a second Close does nothing.
func (s *SQLite) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.release()
}

// release closes what Open opened, the lock last: no other process may
// open the database while this one still has it open.
func (s *SQLite) release() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.upsertCall, s.orbitHolder, s.deleteLegsOf, s.upsertLeg,
		s.deleteCall, s.deleteLeg, s.callExists, s.legCall, s.claimGeneration} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.db != nil {
		if err := s.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("park store: close %s: %w", s.path(), err))
		}
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
	}
	return errors.Join(errs...)
}

func addrText(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func parseAddr(col, s string) (netip.AddrPort, error) {
	if s == "" {
		return netip.AddrPort{}, nil
	}
	a, err := netip.ParseAddrPort(s)
	if err != nil {
		return a, fmt.Errorf("%w: %s %q: %w", ErrCorrupt, col, s, err)
	}
	return a, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func callArgs(c *Call) []any {
	var orbit any // NULL off an orbit: UNIQUE allows any number of those
	if c.Orbit != 0 {
		orbit = int64(c.Orbit)
	}
	return []any{
		c.ID, string(c.State), orbit, c.Token, c.Parker, c.For, c.Note, c.CallerName, c.CallerURI,
		sqlitefile.Nanos(c.ParkedAt), sqlitefile.Nanos(c.ReturnedAt), sqlitefile.Nanos(c.RingbackAt), int64(c.Ringbacks),
		c.Ring.Target, sqlitefile.Nanos(c.Ring.Since), boolInt(c.Ring.Fallback), c.Retriever,
	}
}

func legArgs(l *Leg) ([]any, error) {
	routes := l.Dialog.RouteSet
	if routes == nil {
		routes = []string{}
	}
	rs, err := json.Marshal(routes)
	if err != nil {
		return nil, fmt.Errorf("park store: leg %s route set: %w", l.ID, err)
	}
	sdp := l.Media.SDP
	if sdp == nil {
		sdp = []byte{}
	}
	d, m := &l.Dialog, &l.Media
	return []any{
		l.ID, l.Call, string(l.State), l.Role.String(), l.Partner,
		d.CallID, d.LocalTag, d.RemoteTag, d.LocalURI, d.RemoteURI, d.RemoteTarget,
		d.LocalContact, string(rs), int64(d.LocalCSeq), int64(d.RemoteCSeq), d.Transport, d.Source,
		addrText(m.Local), addrText(m.Remote), addrText(m.Latched), int64(m.LatchedSSRC),
		int64(m.Codec), int64(m.SendPT), int64(m.RecvPT), int64(m.SendEventPT), int64(m.RecvEventPT), boolInt(m.Mute),
		int64(m.SSRC), int64(m.Seq), int64(m.Timestamp),
		int64(m.SDPSession), int64(m.SDPVersion), sdp, // uint64 bits kept as they are
		sqlitefile.Nanos(m.PositionAt),
	}, nil
}

func loadCalls(ctx context.Context, tx *sql.Tx) ([]Call, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+strings.Join(callColumns, ", ")+
		` FROM calls ORDER BY orbit IS NULL, orbit, id`)
	if err != nil {
		return nil, fmt.Errorf("park store: load calls: %w", err)
	}
	defer rows.Close()
	var out []Call
	for rows.Next() {
		var c Call
		var state string
		var orbit sql.NullInt64
		var parked, returned, due, since, ringbacks, fallback int64
		if err := rows.Scan(&c.ID, &state, &orbit, &c.Token, &c.Parker, &c.For, &c.Note,
			&c.CallerName, &c.CallerURI, &parked, &returned, &due, &ringbacks,
			&c.Ring.Target, &since, &fallback, &c.Retriever); err != nil {
			return nil, fmt.Errorf("park store: load calls: %w", err)
		}
		c.State, c.Orbit = State(state), int(orbit.Int64)
		c.ParkedAt, c.ReturnedAt, c.RingbackAt = sqlitefile.FromNanos(parked), sqlitefile.FromNanos(returned), sqlitefile.FromNanos(due)
		c.Ringbacks, c.Ring.Since, c.Ring.Fallback = int(ringbacks), sqlitefile.FromNanos(since), fallback != 0
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("park store: load calls: %w", err)
	}
	return out, nil
}

func loadLegs(ctx context.Context, tx *sql.Tx) ([]Leg, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+strings.Join(legColumns, ", ")+` FROM legs ORDER BY call, id`)
	if err != nil {
		return nil, fmt.Errorf("park store: load legs: %w", err)
	}
	defer rows.Close()
	var out []Leg
	for rows.Next() {
		var l Leg
		d, m := &l.Dialog, &l.Media
		var state, role, routes, local, remote, latched string
		var lcseq, rcseq, lssrc, codec, spt, rpt, sev, rev, mute, ssrc, seq, ts, sess, ver, posAt int64
		if err := rows.Scan(&l.ID, &l.Call, &state, &role, &l.Partner,
			&d.CallID, &d.LocalTag, &d.RemoteTag, &d.LocalURI, &d.RemoteURI, &d.RemoteTarget,
			&d.LocalContact, &routes, &lcseq, &rcseq, &d.Transport, &d.Source,
			&local, &remote, &latched, &lssrc, &codec, &spt, &rpt, &sev, &rev, &mute,
			&ssrc, &seq, &ts, &sess, &ver, &m.SDP, &posAt); err != nil {
			return nil, fmt.Errorf("park store: load legs: %w", err)
		}
		l.State = State(state)
		if l.Role, err = parseRole(role); err != nil {
			return nil, fmt.Errorf("leg %s: %w", l.ID, err)
		}
		if err := json.Unmarshal([]byte(routes), &d.RouteSet); err != nil {
			return nil, fmt.Errorf("%w: leg %s route set: %w", ErrCorrupt, l.ID, err)
		}
		if len(d.RouteSet) == 0 {
			d.RouteSet = nil
		}
		if len(m.SDP) == 0 {
			m.SDP = nil
		}
		d.LocalCSeq, d.RemoteCSeq = uint32(lcseq), uint32(rcseq)
		if m.Local, err = parseAddr("rtp_local", local); err != nil {
			return nil, err
		}
		if m.Remote, err = parseAddr("rtp_remote", remote); err != nil {
			return nil, err
		}
		if m.Latched, err = parseAddr("rtp_latched", latched); err != nil {
			return nil, err
		}
		m.LatchedSSRC, m.Codec, m.SendPT, m.RecvPT = uint32(lssrc), uint8(codec), uint8(spt), uint8(rpt)
		m.SendEventPT, m.RecvEventPT, m.Mute = uint8(sev), uint8(rev), mute != 0
		m.SSRC, m.Seq, m.Timestamp = uint32(ssrc), uint16(seq), uint32(ts)
		m.SDPSession, m.SDPVersion = uint64(sess), uint64(ver)
		m.PositionAt = sqlitefile.FromNanos(posAt)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("park store: load legs: %w", err)
	}
	return out, nil
}
