package park

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/emiago/sipgo"
	"github.com/switchboard/switchboard/telephony/park/store"
)

// sleepyCaller is a parked caller on s's first orbit whose dialog is one
// rebuilt from d, as a restored caller's is.
func sleepyCaller(t testing.TB, s *Service, d store.Dialog) *parkedCall {
	t.Helper()
	id := d.CallID + "__" + d.LocalTag + "__" + d.RemoteTag
	dss, err := s.rebuildDialog(store.Leg{ID: id, Role: store.RoleUAS, Dialog: d}, s.duaFor(d.Transport))
	if err != nil {
		t.Fatal(err)
	}
	l := s.newLeg(offer{})
	l.id = id
	l.uas.Store(dss)
	c := callIn(s, stateParked)
	c.leg = l
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lot.take(c.orbit, c); err != nil {
		t.Fatal(err)
	}
	return c
}

var sleepyDialog = store.Dialog{
	CallID: "3848276298220188511@192.0.2.7", LocalTag: "park-4f2a", RemoteTag: "1928301774",
	LocalURI: "<sip:701@192.0.2.1>", RemoteURI: `"Alice" <sip:alice@192.0.2.7>`,
	RemoteTarget: "sip:alice@192.0.2.7:5062;transport=udp", RouteSet: []string{"<sip:proxy.example;lr>", "<sip:192.0.2.9;lr>"},
	LocalCSeq: 17, RemoteCSeq: 4, Transport: "UDP", Source: "192.0.2.7:5062",
}

// TestSleepingCallerWakesAsItWas: a parked UDP caller's dialog sleeps
// (the leg keeps its record alone) and wakes as the same dialog: the
// same record, the next request's CSeq above the last, the peer's
// requests checked against its last CSeq.
func TestSleepingCallerWakesAsItWas(t *testing.T) {
	s := newStateService(t, nil)
	c := sleepyCaller(t, s, sleepyDialog)
	l := c.leg
	before, _ := dialogRecord(l)
	s.sleep(c)
	if !l.asleep() || l.uas.Load() != nil {
		t.Fatal("a parked UDP caller's dialog did not sleep")
	}
	if got, role := dialogRecord(l); !reflect.DeepEqual(got, before) || role != store.RoleUAS {
		t.Fatalf("asleep, the record is %+v (%v), want %+v", got, role, before)
	}
	d := l.dialog()
	if d == nil || l.asleep() || l.uas.Load() != d || l.dialog() != d {
		t.Fatal("dialog() did not wake the caller into one dialog")
	}
	if got, _ := dialogRecord(l); !reflect.DeepEqual(got, before) {
		t.Fatalf("woken, the record is %+v, want %+v", got, before)
	}
	if d.ID != l.id || d.CSEQ() != sleepyDialog.LocalCSeq {
		t.Fatalf("woken dialog %q with CSeq %d, want %q and %d", d.ID, d.CSEQ(), l.id, sleepyDialog.LocalCSeq)
	}
	s.sleep(c) // woken for a probe, asleep again after it
	if !l.asleep() {
		t.Fatal("a woken caller did not sleep again")
	}
}

// TestOnlyParkedUDPCallersSleep: a TCP caller (its requests go down its
// own connection), a call claimed by a retrieve and an ended leg keep
// their dialogs.
func TestOnlyParkedUDPCallersSleep(t *testing.T) {
	tcp := sleepyDialog
	tcp.Transport = "TCP"
	for name, set := range map[string]func(s *Service, c *parkedCall){
		"tcp":     nil,
		"claimed": func(s *Service, c *parkedCall) { c.state = stateRetrieving },
		"ended":   func(s *Service, c *parkedCall) { c.leg.markEnded() },
	} {
		t.Run(name, func(t *testing.T) {
			s := newStateService(t, nil)
			d := sleepyDialog
			if set == nil {
				d = tcp
			}
			c := sleepyCaller(t, s, d)
			if set != nil {
				set(s, c)
			}
			s.sleep(c)
			if c.leg.asleep() || c.leg.uas.Load() == nil {
				t.Fatal("slept")
			}
		})
	}
}

// TestPackDialogSharesOneBlock: a sleeping caller's record holds its
// strings in one allocation, equal to the record it was made from.
func TestPackDialogSharesOneBlock(t *testing.T) {
	p := packDialog(sleepyDialog)
	if !reflect.DeepEqual(*p, sleepyDialog) {
		t.Fatalf("packed %+v, want %+v", *p, sleepyDialog)
	}
	start := uintptr(unsafe.Pointer(unsafe.StringData(p.CallID)))
	end := uintptr(unsafe.Pointer(unsafe.StringData(p.RouteSet[1]))) + uintptr(len(p.RouteSet[1]))
	total := 0
	for _, f := range []string{p.CallID, p.LocalTag, p.RemoteTag, p.LocalURI, p.RemoteURI, p.RemoteTarget,
		p.LocalContact, p.Transport, p.Source, p.RouteSet[0], p.RouteSet[1]} {
		total += len(f)
	}
	if int(end-start) != total {
		t.Fatalf("the strings span %d bytes from the first, want %d in one block", end-start, total)
	}
}

// TestSleepingCallerWakesOnce: callers of dialog() at once (a probe, the
// caller's BYE, a retrieve) all get the one dialog it wakes into.
func TestSleepingCallerWakesOnce(t *testing.T) {
	s := newStateService(t, nil)
	c := sleepyCaller(t, s, sleepyDialog)
	s.sleep(c)
	got := make(chan *sipgo.DialogServerSession, 8)
	for range cap(got) {
		go func() { got <- c.leg.dialog() }()
	}
	first := <-got
	for range cap(got) - 1 {
		if d := <-got; d != first || d == nil {
			t.Fatalf("woke into %p and %p", first, d)
		}
	}
}

// BenchmarkSleepWake is what sleeping costs a parked caller per probe:
// the dialog woken for the probe's OPTIONS, then put back to sleep.
func BenchmarkSleepWake(b *testing.B) {
	s := newStateService(b, nil)
	c := sleepyCaller(b, s, sleepyDialog)
	s.sleep(c)
	b.ReportAllocs()
	for b.Loop() {
		if c.leg.dialog() == nil {
			b.Fatal("no dialog")
		}
		s.sleep(c)
	}
	if !c.leg.asleep() {
		b.Fatal("awake")
	}
}
