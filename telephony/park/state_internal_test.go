package park

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestParkedCallMoves runs every event in every state of a parked call
// through moveLocked: the allowed ones lead where this independent table
// says, with the timers it says armed; every other one is refused,
// logged, and changes nothing.
func TestParkedCallMoves(t *testing.T) {
	states := []callState{stateParking, stateParked, stateRinging, stateRetrieving, stateDone}
	events := []callEvent{evAcked, evTimedOut, evNobodyRung, evUnanswered, evClaimed, evAnswered, evReturned, evProbed, evLeft}
	type want struct {
		to          callState
		park, probe bool // armed afterwards (none is before)
		ringStopped bool
	}
	allowed := map[callState]map[callEvent]want{
		stateParking: {
			evAcked: {to: stateParked, park: true, probe: true},
			evLeft:  {to: stateDone, ringStopped: true},
		},
		stateParked: {
			evTimedOut:   {to: stateRinging},
			evNobodyRung: {to: stateParked, park: true},
			evClaimed:    {to: stateRetrieving, ringStopped: true},
			evProbed:     {to: stateParked, probe: true},
			evLeft:       {to: stateDone, ringStopped: true},
		},
		stateRinging: {
			evUnanswered: {to: stateParked, park: true, ringStopped: true},
			evClaimed:    {to: stateRetrieving, ringStopped: true},
			evAnswered:   {to: stateRetrieving},
			evProbed:     {to: stateRinging, probe: true},
			evLeft:       {to: stateDone, ringStopped: true},
		},
		stateRetrieving: {
			evReturned: {to: stateParked, park: true, probe: true},
			evLeft:     {to: stateDone, ringStopped: true},
		},
	}
	for _, from := range states {
		for _, ev := range events {
			t.Run(from.String()+"/"+ev.String(), func(t *testing.T) {
				var logs bytes.Buffer
				s := newStateService(t, &logs)
				c := callIn(s, from)
				ringCtx, ring := context.WithCancel(context.Background())
				defer ring()
				c.stopRing = ring
				s.mu.Lock()
				woken := s.changed
				ok := s.moveLocked(c, ev)
				s.mu.Unlock()
				defer stopTimers(s, c)

				w, allow := allowed[from][ev]
				if ok != allow {
					t.Fatalf("moveLocked = %v, want %v", ok, allow)
				}
				if !allow {
					if c.state != from {
						t.Fatalf("refused move changed the state to %s", c.state)
					}
					if c.timer != nil || c.probe != nil || ringCtx.Err() != nil || chanClosed(woken) {
						t.Fatalf("refused move armed a timer, stopped the ring-back or woke waiters")
					}
					if !strings.Contains(logs.String(), "move refused") || !strings.Contains(logs.String(), "state="+from.String()) {
						t.Fatalf("refused move not logged: %q", logs.String())
					}
					return
				}
				if c.state != w.to {
					t.Fatalf("state = %s, want %s", c.state, w.to)
				}
				if (c.timer != nil) != w.park || (c.probe != nil) != w.probe {
					t.Fatalf("park timer armed %v, probe armed %v; want %v, %v", c.timer != nil, c.probe != nil, w.park, w.probe)
				}
				if (ringCtx.Err() != nil) != w.ringStopped {
					t.Fatalf("ring-back cancelled = %v, want %v", ringCtx.Err() != nil, w.ringStopped)
				}
				if !chanClosed(woken) {
					t.Fatal("a move did not wake the drain's waiters")
				}
				if from == stateParking && !chanClosed(c.confirmed) {
					t.Fatal("leaving stateParking did not settle the park (confirmed still open)")
				}
			})
		}
	}
}

// TestParkTimerNotArmedWhileDraining: a call that comes back to its orbit
// during a drain is not timed again (the drain rings every call back at
// once), but it is still probed.
func TestParkTimerNotArmedWhileDraining(t *testing.T) {
	s := newStateService(t, nil)
	c := callIn(s, stateRetrieving)
	s.mu.Lock()
	s.draining = true
	ok := s.moveLocked(c, evReturned)
	s.mu.Unlock()
	defer stopTimers(s, c)
	if !ok || c.state != stateParked || c.timer != nil || c.probe == nil {
		t.Fatalf("returned while draining: ok %v, state %s, park timer %v, probe %v", ok, c.state, c.timer != nil, c.probe != nil)
	}
}

// newStateService is a service that is never started, for moves alone;
// its timers are long enough never to fire in a test.
func newStateService(t testing.TB, logs *bytes.Buffer) *Service {
	t.Helper()
	o := Options{Music: make([]int16, 1600), ParkTime: time.Hour, ProbeInterval: time.Hour}
	if logs != nil {
		o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// callIn is a call on the lot's first orbit in state st.
func callIn(s *Service, st callState) *parkedCall {
	c := &parkedCall{orbit: s.opts.Orbits.First, state: st, confirmed: make(chan struct{})}
	if st != stateParking {
		close(c.confirmed)
	}
	return c
}

func stopTimers(s *Service, c *parkedCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timersLocked(c, 0, parkTimer|probeTimer)
}

func chanClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestMovesStopTimers: leaving the orbit, or being claimed, stops the
// park timer and the probe the park armed.
func TestMovesStopTimers(t *testing.T) {
	for _, ev := range []callEvent{evClaimed, evLeft} {
		s := newStateService(t, nil)
		c := callIn(s, stateParking)
		s.mu.Lock()
		acked := s.moveLocked(c, evAcked)
		armed := c.timer != nil && c.probe != nil
		moved := s.moveLocked(c, ev)
		s.mu.Unlock()
		if !acked || !armed || !moved {
			t.Fatalf("%s: acked %v with both timers %v, moved %v", ev, acked, armed, moved)
		}
		if c.timer != nil || c.probe != nil {
			t.Errorf("%s: park timer %v, probe %v still armed", ev, c.timer != nil, c.probe != nil)
		}
	}
}
