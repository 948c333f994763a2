package park

import (
	"strings"

	"github.com/emiago/sipgo"
	"github.com/switchboard/switchboard/telephony/park/store"
)

// Sleeping callers. A parked caller's SIP dialog is used every probe
// interval (2 min by default) and at its end: a retrieve's re-INVITE, a
// BYE. In between, sipgo's dialog (its INVITE with every header parsed,
// its 2xx, its context) is ~1.8 KiB that a caller parked for minutes
// keeps for nothing, the biggest holder of a parked call's memory
// (issue 17; docs/BENCHMARKS.md). So once a UDP caller's probe is
// answered it sleeps: the leg keeps only the record the store keeps of
// its dialog (~0.4 KiB, its strings in one allocation) and drops the
// dialog; dialog() rebuilds it from the record (rebuildDialog, as a
// restart does) when something needs it, and it stays awake until the
// next answered probe puts it back to sleep. A TCP caller does not sleep:
// its requests go down its own connection, which a rebuilt dialog would
// not pick.

// dialog returns l's dialog as UAS (a caller's, or a restored leg's),
// rebuilt from its record when the caller sleeps; nil for a leg the
// service called, or when a sleeping caller's record cannot be rebuilt
// (sleep tries that before it drops the dialog, so it is not expected).
func (l *sipLeg) dialog() *sipgo.DialogServerSession {
	if d := l.uas.Load(); d != nil {
		return d
	}
	l.dmu.Lock()
	defer l.dmu.Unlock()
	if d := l.uas.Load(); d != nil || l.kept == nil {
		return d
	}
	d, err := l.s.rebuildDialog(store.Leg{ID: l.id, Role: store.RoleUAS, Dialog: *l.kept}, l.s.duaFor(l.kept.Transport))
	if err != nil {
		l.s.log.Error("park: a sleeping caller's dialog could not be rebuilt", "dialog", l.id, "error", err)
		return nil
	}
	l.uas.Store(d)
	l.kept = nil
	return d
}

// sleep drops the dialog of c's caller for the record the store keeps of
// it, when c is parked or rings back (not claimed: a retrieve's
// re-INVITE and its ACK use one dialog object) and its caller came over
// UDP. It runs after an answered probe, which is long after the park's
// ACK and leaves the dialog's CSeq where the store has it.
func (s *Service) sleep(c *parkedCall) {
	l := c.leg
	old := l.uas.Load()
	if old == nil || !strings.EqualFold(old.InviteRequest.Transport(), "UDP") {
		return // asleep already, or not UDP
	}
	rec, role := dialogRecord(l)
	if role != store.RoleUAS {
		return
	}
	kept := packDialog(rec)
	// Only what can wake sleeps: the park's own dialog is tried first.
	// One rebuilt from a record (woken for a probe; its INVITE keeps no
	// Via: rebuildDialog) gives back that record, but for its CSeq.
	if old.InviteRequest.Via() != nil {
		if _, err := s.rebuildDialog(store.Leg{ID: l.id, Role: store.RoleUAS, Dialog: *kept}, s.duaFor(kept.Transport)); err != nil {
			s.log.Warn("park: a parked caller's dialog cannot sleep; it keeps its own", "orbit", c.orbit, "error", err)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lot.holds(c.orbit, c) || !c.allows(evProbed) || l.isEnded() {
		return
	}
	l.dmu.Lock()
	if l.uas.CompareAndSwap(old, nil) {
		l.kept = kept
	}
	l.dmu.Unlock()
}

// asleep says whether l's caller sleeps (holds no dialog, only its
// record).
func (l *sipLeg) asleep() bool {
	l.dmu.Lock()
	defer l.dmu.Unlock()
	return l.kept != nil
}

// packDialog is a copy of d whose strings share one allocation: a
// sleeping caller keeps its record for as long as it is parked, and one
// block instead of ten small ones is less for the heap to hold and to
// scan, and fewer long-lived objects left among freed ones.
func packDialog(d store.Dialog) *store.Dialog {
	fields := []*string{&d.CallID, &d.LocalTag, &d.RemoteTag, &d.LocalURI, &d.RemoteURI,
		&d.RemoteTarget, &d.LocalContact, &d.Transport, &d.Source}
	n := 0
	for _, f := range fields {
		n += len(*f)
	}
	for _, r := range d.RouteSet {
		n += len(r)
	}
	var b strings.Builder
	b.Grow(n)
	for _, f := range fields {
		b.WriteString(*f)
	}
	for _, r := range d.RouteSet {
		b.WriteString(r)
	}
	all := b.String()
	take := func(s string) string {
		out := all[:len(s)]
		all = all[len(s):]
		return out
	}
	for _, f := range fields {
		*f = take(*f)
	}
	if d.RouteSet != nil {
		routes := make([]string, len(d.RouteSet))
		for i, r := range d.RouteSet {
			routes[i] = take(r)
		}
		d.RouteSet = routes
	}
	return &d
}
