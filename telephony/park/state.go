package park

import "time"

// callState is where a parked call is in its life.
type callState uint8

const (
	stateParking    callState = iota // orbit reserved, waiting for the caller's ACK
	stateParked                      // on its orbit with music
	stateRinging                     // on its orbit with music, ringing someone back
	stateRetrieving                  // claimed by a retrieve or an answered ring-back, waiting for its bridge
	stateDone                        // left the orbit: bridged, or gone
)

func (st callState) String() string {
	switch st {
	case stateParking:
		return "parking"
	case stateParked:
		return "parked"
	case stateRinging:
		return "ringing"
	case stateRetrieving:
		return "retrieving"
	case stateDone:
		return "done"
	}
	return "unknown"
}

// callEvent is what happens to a parked call; moveLocked applies it.
type callEvent uint8

const (
	evAcked      callEvent = iota // the caller ACKed the park's 2xx
	evTimedOut                    // the park time ran out and someone is rung back
	evNobodyRung                  // the park time ran out with nobody to ring back: stays parked
	evUnanswered                  // nobody answered the ring-back: back on the orbit
	evClaimed                     // a retrieve takes the call (a ring-back in progress is cancelled)
	evAnswered                    // the one its ring-back rings answered and takes the call
	evReturned                    // the claim failed (no ACK, no answer): back on the orbit
	evProbed                      // the caller answered a probe: probe again later
	evLeft                        // it left its orbit: bridged, gave up, lost, refused
)

func (ev callEvent) String() string {
	switch ev {
	case evAcked:
		return "acked"
	case evTimedOut:
		return "timed out"
	case evNobodyRung:
		return "nobody to ring"
	case evUnanswered:
		return "ring-back unanswered"
	case evClaimed:
		return "claimed"
	case evAnswered:
		return "ring-back answered"
	case evReturned:
		return "returned"
	case evProbed:
		return "probed"
	case evLeft:
		return "left"
	}
	return "unknown"
}

// callTimers is a set of a parked call's timers.
type callTimers uint8

const (
	parkTimer  callTimers = 1 << iota // rings the parker back (Options.ParkTime)
	probeTimer                        // probes the caller (Options.ProbeInterval)
)

// move is one allowed transition: the state it leads to, the timers it
// (re)arms and the timers it stops.
type move struct {
	to         callState
	arm, stop  callTimers
	stopRinger bool // cancel a ring-back in progress
}

// left is the move off the orbit: every timer and ring-back stops.
var left = move{to: stateDone, stop: parkTimer | probeTimer, stopRinger: true}

// moves is every allowed transition of a parked call; anything else is
// refused by moveLocked.
var moves = map[callState]map[callEvent]move{
	stateParking: {
		evAcked: {to: stateParked, arm: parkTimer | probeTimer},
		evLeft:  left,
	},
	stateParked: {
		evTimedOut:   {to: stateRinging, stop: parkTimer},
		evNobodyRung: {to: stateParked, arm: parkTimer},
		evClaimed:    {to: stateRetrieving, stop: parkTimer | probeTimer, stopRinger: true},
		evProbed:     {to: stateParked, arm: probeTimer},
		evLeft:       left,
	},
	stateRinging: {
		evUnanswered: {to: stateParked, arm: parkTimer, stopRinger: true},
		evClaimed:    {to: stateRetrieving, stop: parkTimer | probeTimer, stopRinger: true},
		evAnswered:   {to: stateRetrieving, stop: parkTimer | probeTimer},
		evProbed:     {to: stateRinging, arm: probeTimer},
		evLeft:       left,
	},
	stateRetrieving: {
		evReturned: {to: stateParked, arm: parkTimer | probeTimer},
		evLeft:     left,
	},
}

// allows says whether ev may happen to c now; s.mu is held.
func (c *parkedCall) allows(ev callEvent) bool {
	_, ok := moves[c.state][ev]
	return ok
}

// moveLocked applies ev to c: the one place a parked call's state
// changes, its timers are armed and stopped, and its waiters are woken.
// A move the table does not allow changes nothing, is logged and
// reported false. s.mu is held.
func (s *Service) moveLocked(c *parkedCall, ev callEvent) bool {
	m, ok := moves[c.state][ev]
	if !ok {
		s.log.Debug("park: move refused", "orbit", c.orbit, "state", c.state.String(), "event", ev.String())
		return false
	}
	from := c.state
	c.state = m.to
	if from == stateParking {
		close(c.confirmed)
		s.releasePendingLocked(c)
	}
	if m.stopRinger && c.stopRing != nil {
		c.stopRing()
		c.stopRing = nil
	}
	s.timersLocked(c, m.arm, m.stop)
	s.notifyChangedLocked()
	return true
}

// timersLocked stops the timers of c in stop and (re)arms those in arm;
// the park timer is not armed while the service drains (every parked call
// is rung back at once then). The only place the timers are armed; s.mu
// is held.
func (s *Service) timersLocked(c *parkedCall, arm, stop callTimers) {
	if (arm|stop)&parkTimer != 0 && c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if (arm|stop)&probeTimer != 0 && c.probe != nil {
		c.probe.Stop()
		c.probe = nil
	}
	if arm&parkTimer != 0 && !s.draining {
		c.timer = time.AfterFunc(s.opts.ParkTime, func() { s.startRingback(c, "timeout") })
	}
	if arm&probeTimer != 0 {
		c.probe = time.AfterFunc(s.opts.ProbeInterval, func() { s.startProbe(c) })
	}
}
