package park

import (
	"context"
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

// persist runs write against the store unless s has none or has stopped
// writing (Close): a step after Close is one the next start must not see,
// since the calls stay as they were when the service stopped. Writes are
// serialised against Close by storeMu, so Close returns only once every
// write in flight is done.
func (s *Service) persist(what string, write func(ctx context.Context, st store.Store) error) error {
	if s.opts.Store == nil {
		return nil
	}
	s.storeMu.RLock()
	defer s.storeMu.RUnlock()
	if s.storeOff {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeWriteTimeout)
	defer cancel()
	if err := write(ctx, s.opts.Store); err != nil {
		s.log.Error("park store write failed", "what", what, "error", err)
		return err
	}
	return nil
}

// stopWriting makes every later persist a no-op, once the writes in
// flight are done.
func (s *Service) stopWriting() {
	s.storeMu.Lock()
	s.storeOff = true
	s.storeMu.Unlock()
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
