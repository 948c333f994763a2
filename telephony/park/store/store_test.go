package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// at is a wall-clock time as the store gives it back (time.Unix, no
// monotonic reading), so records compare with reflect.DeepEqual.
func at(sec int64) time.Time { return time.Unix(1_790_000_000+sec, 123_456_789) }

// parkedCall is call i on orbit 700+i with every field of the call and
// its leg set; v varies the values (the crash test's cycle).
func parkedCall(i, v int) Call {
	id := fmt.Sprintf("call-%d", i)
	return Call{
		ID: id, State: "parked", Orbit: 700 + i,
		Token:  fmt.Sprintf("tok-%d-%d-0123456789abcdef", i, v),
		Parker: "sip:reception@pbx.example", For: "sip:ines@pbx.example", Note: fmt.Sprintf("re: invoice %d/%d", i, v),
		CallerName: "Inês Costa", CallerURI: fmt.Sprintf("sip:+35121%06d@carrier.example", i),
		ParkedAt: at(int64(v)), ReturnedAt: at(int64(v) + 120), RingbackAt: at(int64(v) + 240), Ringbacks: v%3 + 1,
		Ring:      Ringback{Target: "sip:fallback@pbx.example", Since: at(int64(v) + 125), Fallback: true},
		Retriever: "sip:ana@pbx.example",
		Legs:      []Leg{callerLeg(id, i, v, "parked", "")},
	}
}

// bridgedCall is call i retrieved: its caller's leg bridged to the
// retriever's, off its orbit.
func bridgedCall(i, v int) Call {
	c := parkedCall(i, v)
	c.State, c.Orbit = "bridged", 0
	a := callerLeg(c.ID, i, v, "bridged", fmt.Sprintf("leg-%d-b", i))
	b := callerLeg(c.ID, i, v, "bridged", a.ID)
	b.ID, b.Role = fmt.Sprintf("leg-%d-b", i), RoleUAC
	b.Dialog.CallID = fmt.Sprintf("%d-retriever@console.example", i)
	b.Media.Remote = netip.MustParseAddrPort(fmt.Sprintf("[2001:db8::%x]:40000", i+1))
	c.Legs = []Leg{a, b}
	return c
}

func callerLeg(call string, i, v int, state State, partner string) Leg {
	return Leg{
		ID: fmt.Sprintf("leg-%d-a", i), Call: call, State: state, Role: RoleUAS, Partner: partner,
		Dialog: Dialog{
			CallID: fmt.Sprintf("%d-%d-a84b4c76e66710@caller.example", i, v), LocalTag: "park-" + fmt.Sprint(v), RemoteTag: "1928301774",
			LocalURI: `<sip:park-701@park.example>`, RemoteURI: `"Inês Costa" <sip:ines@carrier.example>`,
			RemoteTarget: "sip:ines@192.0.2.7:5062;transport=tcp", LocalContact: "<sip:park@192.0.2.1:5070>",
			RouteSet:  []string{"<sip:p1.example;lr>", "<sip:p2.example;lr;ftag=x,y>"},
			LocalCSeq: uint32(10*v + 1), RemoteCSeq: 4_000_000_000, Transport: "TCP", Source: "192.0.2.7:5062",
		},
		Media: Media{
			Local: netip.MustParseAddrPort("192.0.2.1:30000"), Remote: netip.MustParseAddrPort("192.0.2.7:16384"),
			Latched: netip.MustParseAddrPort("198.51.100.9:16390"), LatchedSSRC: 0xdeadbeef,
			Codec: 8, SendPT: 8, RecvPT: 8, SendEventPT: 101, RecvEventPT: 96, Mute: true,
			SSRC: 0xfeedface, Seq: uint16(65000 + v), Timestamp: 0xfffffff0, SDPSession: 1<<63 | uint64(v), SDPVersion: uint64(v + 2),
			PositionAt: at(int64(v) + 300),
			SDP: []byte("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 8 101\r\na=sendonly\r\n" +
				strings.Repeat("a=x-pad:0123456789abcdef\r\n", v%4)),
		},
	}
}

// zeroFields lists the fields of v (recursively) that hold their zero value.
func zeroFields(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() || v.Type() == reflect.TypeFor[netip.AddrPort]() {
			if v.IsZero() {
				return []string{path}
			}
			return nil
		}
		var out []string
		for i := range v.NumField() {
			out = append(out, zeroFields(v.Field(i), path+"."+v.Type().Field(i).Name)...)
		}
		return out
	case reflect.Slice:
		if v.Len() == 0 {
			return []string{path}
		}
		if v.Type().Elem().Kind() == reflect.Struct {
			var out []string
			for i := range v.Len() {
				out = append(out, zeroFields(v.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
			}
			return out
		}
		return nil
	default:
		if v.IsZero() {
			return []string{path}
		}
		return nil
	}
}

func openTemp(t *testing.T) (*SQLite, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, dir
}

func load(t *testing.T, s *SQLite) Snapshot {
	t.Helper()
	snap, err := s.Load(context.Background())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return snap
}

func sameCalls(t *testing.T, got, want []Call) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stored calls differ\n got: %+v\nwant: %+v", got, want)
	}
}

// The samples set every field, so the round trip below proves that each
// one has its column; a field added to a record without one fails here.
func TestSamplesSetEveryField(t *testing.T) {
	// A parked call has no partner, a bridged one no orbit: a field
	// fails only when both samples leave it zero.
	parked := zeroFields(reflect.ValueOf(parkedCall(1, 1)), "Call")
	var both []string
	for _, f := range zeroFields(reflect.ValueOf(bridgedCall(1, 1)), "Call") {
		if slices.Contains(parked, f) {
			both = append(both, f)
		}
	}
	if len(both) > 0 {
		t.Fatalf("samples leave fields zero, so the round trip does not prove them: %v", both)
	}
}

func TestRoundTripAcrossReopen(t *testing.T) {
	s, dir := openTemp(t)
	ctx := context.Background()
	want := []Call{parkedCall(1, 5), parkedCall(2, 6), bridgedCall(3, 7)}
	for _, c := range want {
		if err := s.PutCall(ctx, c); err != nil {
			t.Fatalf("PutCall %s: %v", c.ID, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	sameCalls(t, load(t, s2).Calls, want)
}

func TestZeroValuesRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	c := Call{ID: "z", State: "parked", Legs: []Leg{{ID: "z-a", State: "parked", Role: RoleUAC}}}
	if err := s.PutCall(context.Background(), c); err != nil {
		t.Fatalf("PutCall: %v", err)
	}
	c.Legs[0].Call = "z"
	sameCalls(t, load(t, s).Calls, []Call{c})
}

func TestLoadClaimsNextGeneration(t *testing.T) {
	s, dir := openTemp(t)
	for want := uint64(1); want <= 2; want++ {
		if g := load(t, s).Generation; g != want {
			t.Fatalf("generation %d, want %d", g, want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if g := load(t, s2).Generation; g != 3 {
		t.Fatalf("generation after reopen %d, want 3", g)
	}
}

// A retrieve is one PutCall: the two bridged legs in, the orbit out.
func TestRetrieveReplacesParkAtomically(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if err := s.PutCall(ctx, parkedCall(1, 0)); err != nil {
		t.Fatal(err)
	}
	b := bridgedCall(1, 1)
	if err := s.PutCall(ctx, b); err != nil {
		t.Fatalf("retrieve: %v", err)
	}
	sameCalls(t, load(t, s).Calls, []Call{b})
	// The orbit is free for the next park.
	next := parkedCall(2, 0)
	next.Orbit = 701
	if err := s.PutCall(ctx, next); err != nil {
		t.Fatalf("park on the freed orbit: %v", err)
	}
	// And a call that shrinks loses the legs it no longer lists.
	back := parkedCall(1, 2)
	back.Orbit = 702
	if err := s.PutCall(ctx, back); err != nil {
		t.Fatal(err)
	}
	sameCalls(t, load(t, s).Calls, []Call{next, back})
}

func TestOrbitTakenRefusedAndNothingWritten(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	a := parkedCall(1, 0)
	if err := s.PutCall(ctx, a); err != nil {
		t.Fatal(err)
	}
	b := parkedCall(2, 0)
	b.Orbit = a.Orbit
	err := s.PutCall(ctx, b)
	if !errors.Is(err, ErrOrbitTaken) {
		t.Fatalf("second call on orbit %d: %v, want ErrOrbitTaken", a.Orbit, err)
	}
	if !strings.Contains(err.Error(), a.ID) {
		t.Errorf("error %q does not name the holder %s", err, a.ID)
	}
	sameCalls(t, load(t, s).Calls, []Call{a})
}

func TestPutLeg(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	b := bridgedCall(1, 0)
	if err := s.PutCall(ctx, b); err != nil {
		t.Fatal(err)
	}
	l := b.Legs[0]
	l.Dialog.LocalCSeq++
	l.Media.SDPVersion++
	l.Media.Seq, l.Media.Timestamp = 7, 160
	if err := s.PutLeg(ctx, l); err != nil {
		t.Fatalf("PutLeg: %v", err)
	}
	b.Legs[0] = l
	sameCalls(t, load(t, s).Calls, []Call{b})

	t.Run("unknown call", func(t *testing.T) {
		o := l
		o.ID, o.Call, o.Partner = "orphan", "no-such-call", ""
		if err := s.PutLeg(ctx, o); !errors.Is(err, ErrNoCall) {
			t.Fatalf("PutLeg of an unstored call: %v, want ErrNoCall", err)
		}
	})
	t.Run("partner outside the call", func(t *testing.T) {
		if err := s.PutCall(ctx, parkedCall(2, 0)); err != nil {
			t.Fatal(err)
		}
		o := l
		o.Partner = "leg-2-a" // call-2's leg
		if err := s.PutLeg(ctx, o); !errors.Is(err, ErrInvalid) {
			t.Fatalf("PutLeg bridged to another call's leg: %v, want ErrInvalid", err)
		}
		o.Partner = "no-such-leg"
		if err := s.PutLeg(ctx, o); !errors.Is(err, ErrInvalid) {
			t.Fatalf("PutLeg bridged to no leg: %v, want ErrInvalid", err)
		}
	})
	sameCalls(t, load(t, s).Calls, []Call{parkedCall(2, 0), b}) // orbits first
}

func TestDeletes(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	a, b := parkedCall(1, 0), bridgedCall(2, 0)
	for _, c := range []Call{a, b} {
		if err := s.PutCall(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteLeg(ctx, b.Legs[1].ID); err != nil {
		t.Fatalf("DeleteLeg: %v", err)
	}
	b.Legs = b.Legs[:1]
	sameCalls(t, load(t, s).Calls, []Call{a, b})
	for range 2 { // a hang-up seen twice is not an error
		if err := s.DeleteCall(ctx, b.ID); err != nil {
			t.Fatalf("DeleteCall: %v", err)
		}
		if err := s.DeleteLeg(ctx, b.Legs[0].ID); err != nil {
			t.Fatalf("DeleteLeg of a deleted leg: %v", err)
		}
	}
	sameCalls(t, load(t, s).Calls, []Call{a})
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM legs WHERE call = ?`, b.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("legs of the deleted call left behind: %d (%v)", n, err)
	}
}

func TestInvalidRecordsRefused(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	mod := func(f func(*Call)) Call { c := bridgedCall(1, 0); f(&c); return c }
	for name, c := range map[string]Call{
		"no call ID":        mod(func(c *Call) { c.ID = "" }),
		"no call state":     mod(func(c *Call) { c.State = "" }),
		"negative orbit":    mod(func(c *Call) { c.Orbit = -1 }),
		"no leg ID":         mod(func(c *Call) { c.Legs[1].ID = "" }),
		"no leg state":      mod(func(c *Call) { c.Legs[0].State = "" }),
		"no role":           mod(func(c *Call) { c.Legs[0].Role = 0 }),
		"leg twice":         mod(func(c *Call) { c.Legs[1].ID = c.Legs[0].ID }),
		"leg of other call": mod(func(c *Call) { c.Legs[0].Call = "other" }),
		"partner outside":   mod(func(c *Call) { c.Legs[0].Partner = "elsewhere" }),
		"bridged to itself": mod(func(c *Call) { c.Legs[0].Partner = c.Legs[0].ID }),
	} {
		if err := s.PutCall(ctx, c); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if calls := load(t, s).Calls; len(calls) != 0 {
		t.Fatalf("refused records were stored: %+v", calls)
	}
	if err := s.PutLeg(ctx, Leg{ID: "x", Call: "y", State: "parked"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutLeg without role: %v, want ErrInvalid", err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			c := parkedCall(i, i)
			if i%2 == 1 {
				c = bridgedCall(i, i)
			}
			errs <- s.PutCall(ctx, c)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("PutCall: %v", err)
		}
	}
	if n := len(load(t, s).Calls); n != 40 {
		t.Fatalf("%d calls stored, want 40", n)
	}
}

func TestSecondOpenInUse(t *testing.T) {
	s, dir := openTemp(t)
	_, err := Open(dir)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: %v, want ErrInUse", err)
	}
	var iu *InUseError
	if !errors.As(err, &iu) {
		t.Fatalf("second Open: %T, want *InUseError", err)
	}
	lock := filepath.Join(dir, LockName)
	if iu.Path != lock || !strings.Contains(err.Error(), lock) {
		t.Errorf("error %q names %q, want the lock file %q", err, iu.Path, lock)
	}
	if iu.PID != os.Getpid() {
		t.Errorf("holder PID %d, want %d", iu.PID, os.Getpid())
	}
	// The refused Open left the holder's store working.
	if err := s.PutCall(context.Background(), parkedCall(1, 0)); err != nil {
		t.Fatalf("holder's write after a refused Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatalf("Open after the holder closed: %v", err)
	}
	defer s2.Close()
	sameCalls(t, load(t, s2).Calls, []Call{parkedCall(1, 0)})
}

func TestOpenCreatesPrivateDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "parkd")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("state directory mode %v, want 0700", fi.Mode().Perm())
	}
	if fi, err := os.Stat(filepath.Join(dir, LockName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v, %v; want mode 0600", fi, err)
	}
}

func TestOpenFailures(t *testing.T) {
	t.Run("directory is a file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if s, err := Open(f); err == nil {
			s.Close()
			t.Fatal("Open of a plain file as directory succeeded")
		} else if errors.Is(err, ErrInUse) {
			t.Fatalf("Open of a plain file: %v, not an in-use error", err)
		}
	})
	t.Run("not a database", func(t *testing.T) {
		dir := t.TempDir()
		junk := []byte(strings.Repeat("this is not an SQLite database. ", 200))
		if err := os.WriteFile(filepath.Join(dir, DBName), junk, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir)
		if !errors.Is(err, ErrCorrupt) {
			if s != nil {
				s.Close()
			}
			t.Fatalf("Open of a junk file: %v, want ErrCorrupt", err)
		}
		// The failed Open released its lock.
		f, err := lockFile(filepath.Join(dir, LockName))
		if err != nil {
			t.Fatalf("lock after a failed Open: %v", err)
		}
		f.Close()
	})
	t.Run("newer schema", func(t *testing.T) {
		s, dir := openTemp(t)
		if _, err := s.db.Exec(`UPDATE schema_version SET version = 99`); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := Open(dir)
		var se *SchemaError
		if !errors.Is(err, ErrNewerSchema) || !errors.As(err, &se) || se.Found != 99 || se.Known != len(migrations) {
			t.Fatalf("Open of a newer store: %v, want ErrNewerSchema 99 > %d", err, len(migrations))
		}
	})
}

func TestClosedStoreRefuses(t *testing.T) {
	s, _ := openTemp(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := context.Background()
	for name, err := range map[string]error{
		"PutCall":    s.PutCall(ctx, parkedCall(1, 0)),
		"PutLeg":     s.PutLeg(ctx, parkedCall(1, 0).Legs[0]),
		"DeleteCall": s.DeleteCall(ctx, "x"),
		"DeleteLeg":  s.DeleteLeg(ctx, "x"),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if _, err := s.Load(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Load after Close: %v, want ErrClosed", err)
	}
}

func TestPragmasAndSchemaVersion(t *testing.T) {
	for _, tc := range []struct {
		sync Sync
		want int
	}{{SyncFull, 2}, {SyncNormal, 1}} {
		s, err := OpenWith(filepath.Join(t.TempDir(), "s"), Options{Sync: tc.sync})
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		var syncLevel, fk, version int
		for q, dst := range map[string]any{
			`PRAGMA journal_mode`:                &mode,
			`PRAGMA synchronous`:                 &syncLevel,
			`PRAGMA foreign_keys`:                &fk,
			`SELECT version FROM schema_version`: &version,
		} {
			if err := s.db.QueryRow(q).Scan(dst); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if mode != "wal" || syncLevel != tc.want || fk != 1 || version != len(migrations) {
			t.Errorf("sync %v: journal %q synchronous %d foreign_keys %d schema %d; want wal %d 1 %d",
				tc.sync, mode, syncLevel, fk, version, tc.want, len(migrations))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A path with URI metacharacters is still the path.
func TestPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "odd?dir#50%")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutCall(context.Background(), parkedCall(1, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, DBName)); err != nil {
		t.Fatalf("database not at its path: %v", err)
	}
}

func TestCanceledWriteChangesNothing(t *testing.T) {
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.PutCall(ctx, parkedCall(1, 0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("PutCall with a canceled context: %v, want context.Canceled", err)
	}
	if calls := load(t, s).Calls; len(calls) != 0 {
		t.Fatalf("a canceled write was stored: %+v", calls)
	}
}
