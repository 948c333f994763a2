package sip

import (
	"fmt"
	"sync"
	"time"

	"github.com/switchboard/switchboard/telephony"
)

// A parked call that does not survive a restart of its park service
// (issue 15): the service came back with a new X-Park-Instance, and the
// orbit the call was on comes back free, or lost at the restored
// service's first probe of it (the caller hung up while the service was
// down: its BYE found nobody). The lamp says LeftServiceStopped then,
// not "left" or "the phone stopped answering", and the console's call
// parked there ends with EndLostInRestart.

// restartLossWindow is how long after a restart was seen an orbit's
// departure is still the restart's: the restored service probes its
// callers at once; a phone that forgot the call answers 481 at once,
// one that is gone is given up after one probe interval (park's
// DefaultProbeInterval, 2 minutes).
const restartLossWindow = 3 * time.Minute

// restartMarks remembers, per orbit, when its park service was seen to
// restart. The zero value is ready.
type restartMarks struct {
	// born is when the phone's lamps were made: a call the lamps say
	// this console parked before then was parked by an earlier run of it.
	born time.Time

	mu sync.Mutex
	at map[int]time.Time
}

// earlierPark reports whether next, a lit lamp, holds a call this
// console (me) parked before the phone started: the console was closed
// and opened again while its park service kept the call (the built-in
// one keeps its calls in its store). It is the console's park: shown as
// its own, followed until it leaves. A PBX's anonymous lamps never name
// a parker or a time, and are never taken.
func (m *restartMarks) earlierPark(next telephony.Orbit, me string) bool {
	return next.Occupied && next.Parker != "" && telephony.SameParty(next.Parker, me) &&
		!next.ParkedAt.IsZero() && !m.born.IsZero() && next.ParkedAt.Before(m.born)
}

// NoteParkRestart tells the phone that its park service has just
// started again and taken back the calls it kept: a console's built-in
// service, started again with the console. A call on an orbit that then
// leaves unsaid or lost within restartLossWindow (the restored service's
// first probe found its caller gone) did not survive the restart
// (telephony.LeftServiceStopped). Call it before Start: the restored
// service probes its callers at once, and the first lamp state can
// reach the phone before Start returns; called later, it marks the
// orbits from then. A separate service needs no telling: its new
// X-Park-Instance says it.
func (p *Phone) NoteParkRestart() {
	p.mu.Lock()
	ls := p.lamps
	if ls == nil {
		p.parkRestarted = true // the lamps mark their orbits as Start makes them
	}
	p.mu.Unlock()
	if ls != nil {
		ls.markAllRestarted()
	}
}

// markAllRestarted notes that the service of every orbit on the board
// restarted now.
func (ls *lamps) markAllRestarted() {
	orbits := make([]int, 0, len(ls.subs))
	for n := range ls.subs {
		orbits = append(orbits, n)
	}
	ls.restarts.mark(orbits, time.Now())
}

// mark notes that the service of orbits restarted at now.
func (m *restartMarks) mark(orbits []int, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.at == nil {
		m.at = make(map[int]time.Time)
	}
	for _, n := range orbits {
		m.at[n] = now
	}
}

// leftOf is how the call on orbit n left it, going from prev to next at
// now: LeftServiceStopped for a call parked before the restart of its
// service that leaves, unsaid or lost, within restartLossWindow of it;
// next.Left otherwise. An orbit that goes free forgets its mark, and so
// does one whose window passed.
func (m *restartMarks) leftOf(n int, prev, next telephony.Orbit, now time.Time) telephony.ParkOutcome {
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.at[n]
	if !ok {
		return next.Left
	}
	if now.Sub(at) > restartLossWindow {
		delete(m.at, n)
		return next.Left
	}
	if next.Occupied {
		return next.Left // restored (or parked anew): its first probe may still lose it
	}
	delete(m.at, n)
	if !prev.Occupied {
		// First seen free: the service lost the call before this phone
		// saw it lit again (its probe beat the subscription). The lamp's
		// terminated dialog names the call and when it was parked.
		if next.Left == telephony.LeftLost && !next.ParkedAt.IsZero() && next.ParkedAt.Before(at) {
			return telephony.LeftServiceStopped
		}
		return next.Left
	}
	if !prev.ParkedAt.IsZero() && !prev.ParkedAt.Before(at) {
		return next.Left // parked after the restart
	}
	if next.Left == telephony.LeftUnknown || next.Left == telephony.LeftLost {
		return telephony.LeftServiceStopped
	}
	return next.Left
}

// markRestart notes that the park service backend restarted: the orbits
// whose lamps it holds.
func (ls *lamps) markRestart(backend string) {
	var orbits []int
	for _, l := range ls.subs {
		l.mu.Lock()
		on := backendKey(l.target) == backend
		l.mu.Unlock()
		if on {
			orbits = append(orbits, l.orbit)
		}
	}
	ls.restarts.mark(orbits, time.Now())
}

// leftOrbitEnd is the end of a call of ours parked on orbit n that left
// it as how says.
func leftOrbitEnd(n int, how telephony.ParkOutcome) ending {
	if how == telephony.LeftServiceStopped {
		return endAs(telephony.EndLostInRestart, fmt.Sprintf("lost from orbit %d when the park service stopped", n))
	}
	return endAs(telephony.EndLeftOrbit, fmt.Sprintf("left orbit %d", n))
}
