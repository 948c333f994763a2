package park

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard/switchboard/telephony/park/store"
)

// Keeping calls across restarts (issue 15, PARK-PROTOCOL.md "Restart and
// failure"). With Options.Store set, every step of a call is written to
// the store before the service confirms it to anyone, and Close stops the
// service without hanging anybody up: the next service started on the
// same store and addresses takes every call back (restore.go). Without a
// store, Close hangs every leg up as it always did.

// storeWriteTimeout bounds one write to the store; a store that cannot
// write in that time fails the step (a park is refused) rather than
// holding a SIP transaction.
const storeWriteTimeout = 5 * time.Second

// keeps says whether s keeps its calls across a restart.
func (s *Service) keeps() bool { return s.opts.Store != nil }

// keeper is the service's side of its store: writes are serialised on
// mu (SQLite serialises them anyway), so a write built from the calls'
// state under mu is never overtaken by an older one, and a hang-up's
// delete is never undone by a save that read the call before it ended.
type keeper struct {
	mu   sync.Mutex
	off  bool                // Close stopped the writes
	legs map[*sipLeg]keptLeg // the stored legs, by leg
}

// keptLeg is where a leg is stored: its call and whether it is that
// call's caller (whose end ends the stored call).
type keptLeg struct {
	call   string
	caller bool
}

// persist runs write against the store unless s has none or has stopped
// writing (Close): a step after Close is one the next start must not see,
// since the calls stay as they were when the service stopped. Close
// returns only once the write in flight is done.
func (s *Service) persist(what string, write func(ctx context.Context, st store.Store) error) error {
	if s.opts.Store == nil {
		return nil
	}
	s.keep.mu.Lock()
	defer s.keep.mu.Unlock()
	return s.persistLocked(what, write)
}

// persistLocked is persist with s.keep.mu held.
func (s *Service) persistLocked(what string, write func(ctx context.Context, st store.Store) error) error {
	if s.keep.off {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeWriteTimeout)
	defer cancel()
	if err := write(ctx, s.opts.Store); err != nil {
		s.log.Error("park store write failed", "what", what, "error", err)
		return fmt.Errorf("park store: %s: %w", what, err)
	}
	return nil
}

// stopWriting makes every later persist a no-op, once the write in
// flight is done.
func (s *Service) stopWriting() {
	s.keep.mu.Lock()
	s.keep.off = true
	s.keep.mu.Unlock()
}

// callID is the store's key of the call whose caller's dialog is l.
func callID(l *sipLeg) string { return "call:" + l.id }

// saveCall writes c as it is now: on its orbit with its caller's leg,
// and with, when set, the leg retrieving it (written before that leg's
// 200). A call that left its orbit or whose caller ended is not written:
// settleBridged or the hang-up's delete has the last word.
func (s *Service) saveCall(c *parkedCall, retriever *sipLeg) error {
	if s.opts.Store == nil {
		return nil
	}
	s.keep.mu.Lock()
	defer s.keep.mu.Unlock()
	s.mu.Lock()
	if !s.lot.holds(c.orbit, c) || c.state == stateDone {
		s.mu.Unlock()
		return nil
	}
	rec := store.Call{
		ID: callID(c.leg), State: store.State(c.state.String()), Orbit: c.orbit, Token: c.token,
		Parker: c.parker, For: c.forURI, Note: c.note, CallerName: c.callerName, CallerURI: c.callerURI,
		ParkedAt: c.parkedAt, ReturnedAt: c.returnedAt, Ringbacks: c.ringbacks, Retriever: c.retriever,
		Ring: store.Ringback{Target: c.ring.target, Since: c.ring.since, Fallback: c.ring.fallback},
	}
	if c.state == stateParked {
		from := c.parkedAt
		if c.returnedAt.After(from) {
			from = c.returnedAt
		}
		rec.RingbackAt = from.Add(s.opts.ParkTime)
	}
	s.mu.Unlock()
	if c.leg.isEnded() {
		return nil
	}
	rec.Legs = []store.Leg{s.legRecord(c.leg, "caller", nil)}
	if retriever != nil {
		if retriever.isEnded() {
			retriever = nil
		} else {
			rec.Legs = append(rec.Legs, s.legRecord(retriever, "retrieving", c.leg))
		}
	}
	if err := s.persistLocked("park of orbit "+strconv.Itoa(c.orbit), func(ctx context.Context, st store.Store) error {
		return st.PutCall(ctx, rec)
	}); err != nil {
		return err
	}
	s.keptLocked(c.leg, rec.ID, true)
	if retriever != nil {
		s.keptLocked(retriever, rec.ID, false)
	}
	return nil
}

// settleBridged takes c off its orbit into its bridge with other and
// writes that bridge, off any orbit, unless a leg has ended (the
// hang-up's delete has the last word). Both happen under the store's
// lock: a park that takes the orbit next writes after the store has c
// off it; otherwise its write could find the orbit still held there and
// its caller would be refused with a 500.
func (s *Service) settleBridged(c *parkedCall, other *sipLeg) {
	s.keep.mu.Lock()
	defer s.keep.mu.Unlock()
	s.settle(c)
	if s.opts.afterSettle != nil {
		s.opts.afterSettle(c.orbit)
	}
	caller := c.leg
	if s.opts.Store == nil || caller.isEnded() || other.isEnded() {
		return
	}
	rec := store.Call{ID: callID(caller), State: stateBridged, CallerName: c.callerName, CallerURI: c.callerURI,
		Parker: c.parker, For: c.forURI, Note: c.note, ParkedAt: c.parkedAt, Retriever: c.retriever,
		Legs: []store.Leg{s.legRecord(caller, stateBridged, other), s.legRecord(other, stateBridged, caller)}}
	if err := s.persistLocked("bridge", func(ctx context.Context, st store.Store) error {
		return st.PutCall(ctx, rec)
	}); err != nil {
		return
	}
	s.keptLocked(caller, rec.ID, true)
	s.keptLocked(other, rec.ID, false)
}

// stateBridged is the stored state of a call that left its orbit into a
// bridge (and of its legs).
const stateBridged = "bridged"

func (s *Service) keptLocked(l *sipLeg, call string, caller bool) {
	if s.keep.legs == nil {
		s.keep.legs = make(map[*sipLeg]keptLeg)
	}
	s.keep.legs[l] = keptLeg{call: call, caller: caller}
}

// forget deletes what the store has of l, which ended: the whole call
// when l is its caller, the leg alone otherwise (a retriever whose
// retrieve failed; the far side of a bridge, whose caller's end follows).
func (s *Service) forget(l *sipLeg) {
	if s.opts.Store == nil {
		return
	}
	s.keep.mu.Lock()
	defer s.keep.mu.Unlock()
	k, ok := s.keep.legs[l]
	if !ok {
		return
	}
	delete(s.keep.legs, l)
	_ = s.persistLocked("hang-up", func(ctx context.Context, st store.Store) error {
		if k.caller {
			return st.DeleteCall(ctx, k.call)
		}
		return st.DeleteLeg(ctx, l.id)
	})
}

// saveMediaPositions writes where each kept leg's own RTP sender is in
// its stream, so that a restart continues it (Close with a store).
func (s *Service) saveMediaPositions() {
	if s.opts.Store == nil {
		return
	}
	s.keep.mu.Lock()
	defer s.keep.mu.Unlock()
	for l := range s.keep.legs {
		s.saveLegLocked(l)
	}
}

// legRecord is l as the store keeps it, in state, bridged to partner
// when set.
func (s *Service) legRecord(l *sipLeg, state store.State, partner *sipLeg) store.Leg {
	rec := store.Leg{ID: l.id, State: state}
	if partner != nil {
		rec.Partner = partner.id
	}
	rec.Dialog, rec.Role = dialogRecord(l)
	l.mu.Lock()
	p := l.sdp
	rec.Media.SDPSession, rec.Media.SDPVersion = l.sess, l.ver
	l.mu.Unlock()
	if p.lines != nil || p.formats != nil {
		rec.Media.SDP = buildSDP(p)
	}
	rec.Media.Local = s.media.local
	s.media.position(l.media, &rec.Media)
	return rec
}

// dialogRecord is what l's SIP dialog is, as the store keeps it, and
// whether the peer (UAS) or the service (UAC) began it. A sleeping
// caller's (dormant.go) is the record it keeps; the rest are read from
// the dialog.
func dialogRecord(l *sipLeg) (store.Dialog, store.Role) {
	l.dmu.Lock()
	uas, kept := l.uas.Load(), l.kept
	l.dmu.Unlock()
	var d store.Dialog
	switch {
	case uas != nil:
		inv := uas.InviteRequest
		d.CallID = inv.CallID().Value()
		d.RemoteURI, d.LocalURI = inv.From().Value(), inv.To().Value()
		d.RemoteTag, _ = inv.From().Params.Get("tag")
		d.LocalTag, _ = inv.To().Params.Get("tag")
		if ct := inv.Contact(); ct != nil {
			d.RemoteTarget = ct.Address.String()
		}
		for _, rr := range inv.GetHeaders("Record-Route") {
			d.RouteSet = append(d.RouteSet, rr.Value())
		}
		d.LocalCSeq, d.RemoteCSeq = uas.CSEQ(), inv.CSeq().SeqNo
		d.Transport, d.Source = inv.Transport(), inv.Source()
		return d, store.RoleUAS
	case kept != nil:
		return *kept, store.RoleUAS
	}
	inv, res := l.uac.InviteRequest, l.uac.InviteResponse
	d.CallID = inv.CallID().Value()
	d.LocalURI, d.RemoteURI = inv.From().Value(), res.To().Value()
	d.LocalTag, _ = inv.From().Params.Get("tag")
	d.RemoteTag, _ = res.To().Params.Get("tag")
	if ct := res.Contact(); ct != nil {
		d.RemoteTarget = ct.Address.String()
	}
	rrs := res.GetHeaders("Record-Route")
	for i := len(rrs) - 1; i >= 0; i-- {
		d.RouteSet = append(d.RouteSet, rrs[i].Value())
	}
	d.LocalCSeq, d.RemoteCSeq = l.uac.CSEQ(), inv.CSeq().SeqNo
	d.Transport, d.Source = inv.Transport(), inv.Destination()
	return d, store.RoleUAC
}

// Held is how many calls the service holds now: parked (on an orbit,
// ringing back or being retrieved included) and bridged (two legs relayed
// through the service, counted once). A console closing its embedded
// service asks its user about these.
func (s *Service) Held() (parked, bridged int) {
	s.mu.Lock()
	parked = s.lot.len()
	legs := make([]*sipLeg, 0, len(s.legs))
	for l := range s.legs {
		legs = append(legs, l)
	}
	s.mu.Unlock()
	seen := make(map[*sipLeg]bool, len(legs))
	for _, l := range legs {
		l.mu.Lock()
		p, call := l.partner, l.call
		l.mu.Unlock()
		if p == nil || call != nil || seen[l] {
			continue // alone, or a caller still on its orbit
		}
		seen[l], seen[p] = true, true
		bridged++
	}
	return parked, bridged
}

// keepCallsLocked stops every parked call's timers and ring-back without
// changing its state, so that what the store holds is what the next start
// restores; s.mu is held.
func (s *Service) keepCallsLocked() {
	for _, c := range s.lot.all() {
		if c.timer != nil {
			c.timer.Stop()
			c.timer = nil
		}
		if c.probe != nil {
			c.probe.Stop()
			c.probe = nil
		}
		if c.stopRing != nil {
			c.stopRing()
			c.stopRing = nil
		}
	}
}

// saveLeg writes l's dialog and media as they are now (after a
// re-INVITE or a probe), when the store has it.
func (s *Service) saveLeg(l *sipLeg) {
	if s.opts.Store == nil {
		return
	}
	s.keep.mu.Lock()
	defer s.keep.mu.Unlock()
	s.saveLegLocked(l)
}

// saveLegLocked is saveLeg with s.keep.mu held.
func (s *Service) saveLegLocked(l *sipLeg) {
	k, ok := s.keep.legs[l]
	if !ok || l.isEnded() {
		return
	}
	l.mu.Lock()
	partner, call := l.partner, l.call
	l.mu.Unlock()
	state := store.State(stateBridged)
	switch {
	case call != nil:
		state = "caller"
	case partner == nil:
		state = "alone"
	}
	rec := s.legRecord(l, state, partner)
	rec.Call = k.call
	_ = s.persistLocked("leg update", func(ctx context.Context, st store.Store) error {
		return st.PutLeg(ctx, rec)
	})
}
