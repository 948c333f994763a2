// Package store keeps the park service's calls across restarts of its
// process: every leg's dialog, media and park state, written durably
// before the service confirms a step to anyone (before the 200 of a park,
// before the 200 of a retrieve), and read back at start so that a
// restarted service takes every parked and bridged call back
// (PARK-PROTOCOL.md "Restart and failure").
//
// # Model
//
// A [Call] is what the service holds as one unit: a parked caller (its
// one [Leg] and its orbit), or a bridged call (the two legs relayed to
// each other, no orbit). Every step of a call is one atomic write of the
// whole call: a park writes the parked leg together with its orbit, a
// retrieve writes the two bridged legs and the orbit's release in the
// same transaction, a hang-up deletes the call. [Store.PutLeg] updates
// one leg of a stored call (a CSeq or SDP version after a re-INVITE, the
// music sender's RTP position) without touching the rest.
//
// States are the park package's: [State] is stored as the name that
// package gives it and handed back verbatim, so the set of states stays
// open and a state added there needs no migration here.
//
// # Durability
//
// The embedded implementation, [SQLite], is one SQLite database (pure Go,
// modernc.org/sqlite) in WAL mode in the service's state directory. With
// [SyncFull], the default, every write returns only after its WAL frames
// are on stable storage (fsync): a call the service confirmed survives a
// crash of the process and a loss of power. With [SyncNormal] the WAL is
// synced only at checkpoints: a crash of the process still loses nothing
// (the WAL is in the kernel's page cache), but a power loss or kernel
// panic may roll back the last writes — the database is never corrupted
// either way. A parked caller whose park was rolled back would be one the
// service confirmed and then forgot, so parkd uses SyncFull. Measured on
// the development machine (a shared, heavily loaded 2-vCPU VM, ext4 on a
// virtual disk; docs/BENCHMARKS.md "Park store"): a park write takes
// ≈ 1.6 ms with SyncFull (≈ 600 parks/s on one writer) and ≈ 0.6 ms with
// SyncNormal (≈ 1,700/s). The fsync is most of the cost, and 600/s is far
// above what a reception's park service sees. Switching SQLite to
// fdatasync gained nothing there. Writes from concurrent goroutines are
// serialised on the one write connection; group commit would raise the
// SyncFull rate if a busy deployment ever needed it.
//
// One process owns a store: [Open] takes an exclusive lock on a lock file
// in the directory (flock on Unix, an unshared handle on Windows), and a
// second Open, from another parkd or a second console's embedded service,
// fails with an error that matches [ErrInUse] and names the lock file.
// The kernel drops the lock when its holder dies, kill -9 included, so a
// restarted service is never locked out by the one it replaces.
//
// # A shared store (not built)
//
// A standby service on a second host needs the calls in a database both
// hosts reach. [Store] is small so that such a database can implement it:
// the same records as rows, PutCall as one transaction. Two things the
// embedded store gets from its lock file the shared one must do itself:
// only the active host writes, and a host that lost that role must not
// overwrite the new one's state. [Snapshot.Generation] is the means: the
// host taking over claims the next generation in its Load, and every write
// of a shared implementation would carry its generation and be refused
// (fenced) once a newer one is claimed. The generation also gives the
// service a value that is new at every start for X-Park-Instance.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Store is where the park service keeps its calls. Every method is safe
// for concurrent use; each write is atomic and, once it returns nil,
// durable as the implementation documents.
type Store interface {
	// PutCall writes c whole in one transaction: the call (its orbit,
	// when it has one) and exactly the legs in c.Legs. Legs the call had
	// before and c.Legs lacks are deleted; a leg stored under another
	// call moves to c. A call that would take an orbit another call
	// holds fails with ErrOrbitTaken and changes nothing.
	PutCall(ctx context.Context, c Call) error
	// DeleteCall deletes the call id and its legs. A call that is not
	// stored is not an error: a hang-up may be seen twice.
	DeleteCall(ctx context.Context, id string) error
	// PutLeg writes one leg of a stored call (l.Call); ErrNoCall when
	// that call is not stored.
	PutLeg(ctx context.Context, l Leg) error
	// DeleteLeg deletes one leg; one that is not stored is not an error.
	DeleteLeg(ctx context.Context, id string) error
	// Load reads every stored call and claims the next generation. The
	// service calls it once at start, before it serves anyone.
	Load(ctx context.Context) (Snapshot, error)
	// Close releases the store. Later calls fail with ErrClosed.
	Close() error
}

// Errors of a Store, matched with errors.Is.
var (
	// ErrInUse is an Open of a store another process (or another Open
	// in this one) holds; the error's *InUseError names the lock file.
	ErrInUse = errors.New("park store is in use by another process")
	// ErrClosed is a call on a closed store.
	ErrClosed = errors.New("park store is closed")
	// ErrNoCall is a PutLeg whose call is not stored.
	ErrNoCall = errors.New("no such call in the park store")
	// ErrOrbitTaken is a PutCall onto an orbit another stored call holds.
	ErrOrbitTaken = errors.New("orbit is held by another call in the park store")
	// ErrInvalid is a record that cannot be stored as it is (no ID, no
	// state, a leg twice, a partner outside the call).
	ErrInvalid = errors.New("invalid park store record")
	// ErrNewerSchema is a store written by a newer parkd than this one:
	// it is left untouched rather than misread.
	ErrNewerSchema = errors.New("park store was written by a newer version")
	// ErrCorrupt is a store file SQLite does not accept as a sound
	// database (not a database, or a failed integrity check).
	ErrCorrupt = errors.New("park store is corrupt")
)

// InUseError is ErrInUse with the lock file and, where the holder wrote
// it, the holder's process ID.
type InUseError struct {
	Path string // the lock file
	PID  int    // the holder's process ID; 0 when unknown
}

// Error says which lock file is held, and by whom when known.
func (e *InUseError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("park store %s is in use by process %d", e.Path, e.PID)
	}
	return fmt.Sprintf("park store %s is in use by another process", e.Path)
}

// Is makes an *InUseError match ErrInUse.
func (e *InUseError) Is(target error) bool { return target == ErrInUse }

// SchemaError is ErrNewerSchema with the versions involved.
type SchemaError struct {
	Found int // the store's schema version
	Known int // the newest version this code knows
}

// Error names both versions.
func (e *SchemaError) Error() string {
	return fmt.Sprintf("park store schema version %d is newer than this parkd's %d", e.Found, e.Known)
}

// Is makes a *SchemaError match ErrNewerSchema.
func (e *SchemaError) Is(target error) bool { return target == ErrNewerSchema }

// State is a call's or a leg's state under the name the park package
// gives it: its callState's String ("parking", "parked", "ringing",
// "retrieving") for a call on an orbit, and a name of its choosing (say
// "bridged") for a call that left its orbit into a bridge. The store
// keeps it verbatim and requires only that it is not empty; the park
// package maps it to and from its own typed state.
type State string

// Role is which side of a dialog the service is.
type Role uint8

// Roles of the service in a leg's dialog.
const (
	// RoleUAS: the peer called the service (a parking caller, a retriever).
	RoleUAS Role = iota + 1
	// RoleUAC: the service called the peer (a ring-back).
	RoleUAC
)

// String is the role's stored name.
func (r Role) String() string {
	switch r {
	case RoleUAS:
		return "uas"
	case RoleUAC:
		return "uac"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

func parseRole(s string) (Role, error) {
	switch s {
	case "uas":
		return RoleUAS, nil
	case "uac":
		return RoleUAC, nil
	}
	return 0, fmt.Errorf("%w: unknown role %q", ErrCorrupt, s)
}

// Snapshot is what Load read.
type Snapshot struct {
	// Generation is the one Load claimed: 1 at the first start on a new
	// store, one more at every start after.
	Generation uint64
	// Calls are every stored call, those on orbits first by orbit, then
	// the rest by ID; each call's legs by ID.
	Calls []Call
}

// Call is one parked caller (one leg, Orbit set) or one bridged call
// (two legs, each the other's Partner; no orbit).
type Call struct {
	ID    string // the service's key for the call; unique in the store
	State State  // the park package's state of the call

	Orbit  int    // the orbit the call is on; 0: none (bridged)
	Token  string // the park's token (empty: none given)
	Parker string // whom to ring back (URI; may be empty)
	For    string // the park's `for` (AOR of the intended colleague)
	Note   string // the park's `note`

	CallerName string // the caller's display name
	CallerURI  string // the caller's URI

	ParkedAt   time.Time // when the park was confirmed
	ReturnedAt time.Time // when an unanswered ring-back last returned it; zero: never
	// RingbackAt is when the next ring-back is due (the park timer's
	// deadline, in wall-clock time so a restart can run it on); zero: none.
	RingbackAt time.Time
	Ringbacks  int      // ring-backs so far
	Ring       Ringback // the ring-back in progress, if any
	Retriever  string   // who retrieved or answered it, for the lamps

	Legs []Leg
}

// Ringback is a ring-back in progress: whom the service rings, since when.
type Ringback struct {
	Target   string    // URI rung; empty: not ringing back
	Since    time.Time // when this target's ring began
	Fallback bool      // Target is the fallback, not the parker
}

// Leg is one SIP dialog of the service with its RTP leg.
type Leg struct {
	ID      string // the service's dialog ID (Call-ID and both tags)
	Call    string // the Call this leg is part of
	State   State  // the park package's state of the leg
	Role    Role   // UAS: the peer called; UAC: the service called
	Partner string // the leg this one is bridged to; empty: none
	Dialog  Dialog
	Media   Media
}

// Dialog is what the service needs to serve and send in-dialog requests
// (RFC 3261 §12) of a leg after a restart.
type Dialog struct {
	CallID    string
	LocalTag  string
	RemoteTag string
	// LocalURI and RemoteURI are the dialog's local and remote
	// name-addrs as in its From/To headers (display name included).
	LocalURI  string
	RemoteURI string
	// RemoteTarget is the peer's Contact URI, where in-dialog requests go.
	RemoteTarget string
	// LocalContact is the Contact the service gave the peer.
	LocalContact string
	RouteSet     []string // Record-Route URIs in the order requests use them
	LocalCSeq    uint32   // the CSeq of the service's last request in the dialog
	RemoteCSeq   uint32   // the CSeq of the peer's last request
	Transport    string   // "UDP", "TCP", "TLS", …
	Source       string   // host:port the peer's SIP came from
}

// Media is a leg's RTP: where it flows, in which formats, and where the
// service's own sender (music on hold) is in its stream.
type Media struct {
	Local   netip.AddrPort // the service's RTP address for the leg
	Remote  netip.AddrPort // where the peer's SDP says it receives
	Latched netip.AddrPort // the peer's latched RTP source; invalid: none
	// LatchedSSRC is the SSRC of the latched stream.
	LatchedSSRC uint32

	Codec       uint8 // the G.711 law: 0 PCMU, 8 PCMA
	SendPT      uint8 // payload type of Codec in RTP to the peer
	RecvPT      uint8 // payload type of Codec in RTP from the peer
	SendEventPT uint8 // telephone-event type to the peer; 0: none
	RecvEventPT uint8 // telephone-event type from the peer; 0: none
	Mute        bool  // the peer does not want media from us (it holds)

	SSRC      uint32 // the service's sender's SSRC
	Seq       uint16 // the next sequence number it sends
	Timestamp uint32 // the next RTP timestamp it sends
	// PositionAt is when Seq and Timestamp were read (wall clock): the
	// sender went on at one packet per 20 ms after it, so a restart
	// after a crash continues from beyond where it can have got to.
	// Zero: unknown.
	PositionAt time.Time

	SDPSession uint64 // o= session ID of the service's SDP
	SDPVersion uint64 // o= version of its last SDP in the dialog
	SDP        []byte // its last SDP (offer or answer), repeated by a later offer
}

// check says what makes c unstorable, if anything; it fills each leg's
// Call with c.ID where it is empty.
func (c *Call) check() error {
	if c.ID == "" {
		return fmt.Errorf("%w: call without ID", ErrInvalid)
	}
	if c.State == "" {
		return fmt.Errorf("%w: call %s without state", ErrInvalid, c.ID)
	}
	if c.Orbit < 0 {
		return fmt.Errorf("%w: call %s on orbit %d", ErrInvalid, c.ID, c.Orbit)
	}
	ids := make(map[string]bool, len(c.Legs))
	for i := range c.Legs {
		l := &c.Legs[i]
		if l.Call == "" {
			l.Call = c.ID
		}
		if l.Call != c.ID {
			return fmt.Errorf("%w: leg %s of call %s names call %s", ErrInvalid, l.ID, c.ID, l.Call)
		}
		if err := l.check(); err != nil {
			return err
		}
		if ids[l.ID] {
			return fmt.Errorf("%w: leg %s twice in call %s", ErrInvalid, l.ID, c.ID)
		}
		ids[l.ID] = true
	}
	for _, l := range c.Legs {
		if l.Partner != "" && !ids[l.Partner] {
			return fmt.Errorf("%w: leg %s bridged to %s, not a leg of call %s", ErrInvalid, l.ID, l.Partner, c.ID)
		}
	}
	return nil
}

func (l *Leg) check() error {
	switch {
	case l.ID == "":
		return fmt.Errorf("%w: leg without ID", ErrInvalid)
	case l.Call == "":
		return fmt.Errorf("%w: leg %s without call", ErrInvalid, l.ID)
	case l.State == "":
		return fmt.Errorf("%w: leg %s without state", ErrInvalid, l.ID)
	case l.Role != RoleUAS && l.Role != RoleUAC:
		return fmt.Errorf("%w: leg %s with role %v", ErrInvalid, l.ID, l.Role)
	case l.Partner == l.ID:
		return fmt.Errorf("%w: leg %s bridged to itself", ErrInvalid, l.ID)
	}
	return nil
}
