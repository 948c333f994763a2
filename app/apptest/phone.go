// Package apptest holds in-memory stand-ins for the console's
// boundaries, for tests of the window: Phone, a telephone that keeps its
// calls and orbits in memory and behaves like telephony/sip in the ways
// the window sees (one live line, park, retrieve, lamps), and records
// every action asked of it; and Sound, a sound device that only counts.
//
// They are for the window's tests only: the user agent itself is tested
// against real SIP peers in telephony/sip.
package apptest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/telephony"
)

// Errors returned by Phone methods: telephony's, the same that
// telephony/sip wraps, so the window words them alike.
var (
	ErrNoSuchCall  = telephony.ErrNoSuchCall
	ErrWrongState  = telephony.ErrWrongState
	ErrBadOrbit    = telephony.ErrBadOrbit
	ErrUnavailable = telephony.ErrParkUnavailable
)

var _ telephony.Phone = (*Phone)(nil)

// Phone is an in-memory telephony.Phone. Its methods change its state at
// once and publish the events telephony/sip would; the simulation
// methods (Ring, CallerHangsUp, SetOrbit, ...) play the far ends and the
// park service. It is safe for concurrent use.
type Phone struct {
	// Clock gives the times of calls and parks (time.Now when nil).
	Clock func() time.Time

	events *telephony.EventQueue

	mu       sync.Mutex
	seq      int
	calls    map[telephony.CallID]*telephony.Call
	order    []telephony.CallID
	orbits   map[int]*telephony.Orbit
	first    int
	last     int
	parkUp   bool
	actions  []string
	failNext map[string]error
	wake     chan struct{}
	losing   bool
	presence presenceState
}

// NewPhone returns a phone with a park lot of orbits first..last (none
// when last < first), with the park service available.
func NewPhone(first, last int) *Phone {
	p := &Phone{
		events:   telephony.NewEventQueue(4096),
		calls:    make(map[telephony.CallID]*telephony.Call),
		orbits:   make(map[int]*telephony.Orbit),
		first:    first,
		last:     last,
		parkUp:   true,
		failNext: make(map[string]error),
		wake:     make(chan struct{}),
	}
	for n := first; n <= last; n++ {
		p.orbits[n] = &telephony.Orbit{Number: n}
	}
	return p
}

func (p *Phone) now() time.Time {
	if p.Clock != nil {
		return p.Clock()
	}
	return time.Now()
}

// emit queues ev as telephony/sip does; the channel is large enough for
// any test. While Lose runs, events are dropped and counted instead.
func (p *Phone) emit(ev telephony.Event) {
	if p.losing {
		p.events.Drop(ev)
		return
	}
	p.events.Emit(ev)
}

// record notes an action and wakes WaitAction; p.mu is held.
func (p *Phone) record(format string, args ...any) error {
	a := fmt.Sprintf(format, args...)
	p.actions = append(p.actions, a)
	close(p.wake)
	p.wake = make(chan struct{})
	verb, _, _ := strings.Cut(a, " ")
	if err, ok := p.failNext[verb]; ok {
		delete(p.failNext, verb)
		return err
	}
	return nil
}

// Actions returns what the window asked of the phone so far, one string
// per call: "answer c1", "hold c1", "park c1 703", "retrieve 703", ...
func (p *Phone) Actions() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.actions...)
}

// WaitAction waits until an action equal to want has been asked, and
// reports whether it was within d.
func (p *Phone) WaitAction(want string, d time.Duration) bool {
	deadline := time.After(d)
	for {
		p.mu.Lock()
		for _, a := range p.actions {
			if a == want {
				p.mu.Unlock()
				return true
			}
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-deadline:
			return false
		}
	}
}

// FailNext makes the next action named verb ("park", "answer", ...)
// return err instead of acting.
func (p *Phone) FailNext(verb string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failNext[verb] = err
}

// Events delivers every change in order.
func (p *Phone) Events() <-chan telephony.Event { return p.events.Events() }

// Calls returns the calls, oldest first.
func (p *Phone) Calls() []telephony.Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]telephony.Call, 0, len(p.order))
	for _, id := range p.order {
		out = append(out, *p.calls[id])
	}
	return out
}

// Orbits returns the lot.
func (p *Phone) Orbits() []telephony.Orbit {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]telephony.Orbit, 0, len(p.orbits))
	for n := p.first; n <= p.last; n++ {
		out = append(out, *p.orbits[n])
	}
	return out
}

// Call returns one call's state.
func (p *Phone) Call(id telephony.CallID) (telephony.Call, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.calls[id]
	if c == nil {
		return telephony.Call{}, false
	}
	return *c, true
}

// newCallLocked adds a call, in the state telephony starts it in, and
// returns it; p.mu is held.
func (p *Phone) newCallLocked(dir telephony.Direction, name, uri string) *telephony.Call {
	p.seq++
	c := &telephony.Call{ID: telephony.CallID(fmt.Sprintf("c%d", p.seq)), Direction: dir,
		RemoteName: name, RemoteURI: uri, State: telephony.InitialState(dir), Started: p.now()}
	p.calls[c.ID] = c
	p.order = append(p.order, c.ID)
	return c
}

// move moves c by ev as telephony's lifecycle says, as telephony/sip
// does, and reports whether it moved: an event its state does not allow
// leaves it as it was.
func move(c *telephony.Call, ev telephony.CallEvent) bool {
	next, err := telephony.Next(c.State, ev)
	if err != nil {
		return false
	}
	c.State = next
	return true
}

// changedLocked publishes c; p.mu is held.
func (p *Phone) changedLocked(c *telephony.Call) {
	snap := *c
	if c.State == telephony.StateEnded {
		delete(p.calls, c.ID)
		for i, id := range p.order {
			if id == c.ID {
				p.order = append(p.order[:i], p.order[i+1:]...)
				break
			}
		}
	}
	p.emit(telephony.CallChanged{Call: snap})
}

// holdLiveLocked puts the live call other than except on hold.
func (p *Phone) holdLiveLocked(except telephony.CallID) {
	for _, id := range p.order {
		if c := p.calls[id]; id != except && move(c, telephony.EvHeld) {
			c.Reason = ""
			p.changedLocked(c)
		}
	}
}

// Ring simulates an incoming call from name at uri and returns its ID.
func (p *Phone) Ring(name, uri string) telephony.CallID {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.newCallLocked(telephony.Inbound, name, uri)
	p.changedLocked(c)
	return c.ID
}

// RingBack simulates the park service ringing back a call parked on
// orbit that nobody retrieved.
func (p *Phone) RingBack(name, uri string, orbit int) telephony.CallID {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.newCallLocked(telephony.Inbound, name, uri)
	c.BackFrom = orbit
	p.changedLocked(c)
	return c.ID
}

// CallerHangsUp simulates the far end hanging up call id: a call that
// still rings is missed, as telephony/sip reports it.
func (p *Phone) CallerHangsUp(id telephony.CallID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.calls[id]
	if c == nil {
		return
	}
	switch {
	case c.State == telephony.StateRinging:
		c.End, c.Reason = telephony.EndMissed, "caller hung up"
	case c.Direction == telephony.Outbound:
		c.End, c.Reason = telephony.EndHungUpByFarEnd, "far end hung up"
	default:
		c.End, c.Reason = telephony.EndHungUpByFarEnd, "caller hung up"
	}
	move(c, telephony.EvEnded)
	p.changedLocked(c)
}

// Keys simulates the far end of call id keying digits (RFC 4733 or SIP
// INFO): one DTMFReceived a digit, in order, as telephony/sip reports
// them. Nothing happens for a call the phone does not have.
func (p *Phone) Keys(id telephony.CallID, digits string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calls[id] == nil {
		return
	}
	for _, d := range digits {
		p.emit(telephony.DTMFReceived{CallID: id, Digit: d})
	}
}

// SetOrbit simulates a busy lamp: orbit o.Number now shows o.
func (p *Phone) SetOrbit(o telephony.Orbit) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.orbits[o.Number] == nil {
		return
	}
	*p.orbits[o.Number] = o
	p.emit(telephony.OrbitChanged{Orbit: o})
}

// ClearOrbit simulates the call on orbit n leaving it without the park
// service saying how.
func (p *Phone) ClearOrbit(n int) { p.LeaveOrbit(n, telephony.LeftUnknown, "") }

// LeaveOrbit simulates the call on orbit n leaving it the way left says
// (telephony.LeftGaveUp, or LeftRetrieved by the URI by, ...).
func (p *Phone) LeaveOrbit(n int, left telephony.ParkOutcome, by string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.orbits[n]
	if o == nil {
		return
	}
	free := telephony.Orbit{Number: n}
	if left != telephony.LeftUnknown {
		free.Left, free.RetrievedBy = left, by
		free.CallerName, free.CallerURI, free.Parker, free.ParkedAt = o.CallerName, o.CallerURI, o.Parker, o.ParkedAt
	}
	*o = free
	p.emit(telephony.OrbitChanged{Orbit: free})
	for _, id := range p.order {
		if c := p.calls[id]; c.State == telephony.StateParkedAway && c.Orbit == n {
			move(c, telephony.EvEnded)
			c.End, c.Reason = telephony.EndLeftOrbit, fmt.Sprintf("left orbit %d", n)
			p.changedLocked(c)
			break
		}
	}
}

// SetParkService simulates the park service going down or coming back.
func (p *Phone) SetParkService(up bool, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.parkUp = up
	p.emit(telephony.ParkServiceChanged{Available: up, Reason: reason})
}

// SetRegistration simulates a registration change.
func (p *Phone) SetRegistration(st telephony.RegistrationState, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.emit(telephony.RegistrationChanged{State: st, Reason: reason})
}

// Lose runs f, which simulates changes with the other methods, as if
// the events channel overflowed: the state changes, the events are
// dropped and one EventsLost reports how many.
func (p *Phone) Lose(f func()) {
	p.mu.Lock()
	p.losing = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.losing = false
		p.events.Flush()
	}()
	f()
}

func (p *Phone) lookupLocked(id telephony.CallID) (*telephony.Call, error) {
	c := p.calls[id]
	if c == nil {
		return nil, fmt.Errorf("apptest: call %s: %w", id, ErrNoSuchCall)
	}
	return c, nil
}

// Answer answers a ringing call, holding the live one.
func (p *Phone) Answer(_ context.Context, id telephony.CallID) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.record("answer %s", id); err != nil {
		return err
	}
	c, err := p.lookupLocked(id)
	if err != nil {
		return err
	}
	if err := telephony.Check(c.State, telephony.OpAnswer); err != nil {
		return fmt.Errorf("apptest: answer %s: %w", id, err)
	}
	p.holdLiveLocked(id)
	move(c, telephony.EvAnswered)
	c.Answered = p.now()
	p.changedLocked(c)
	return nil
}

// Reject declines a ringing call.
func (p *Phone) Reject(_ context.Context, id telephony.CallID) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.record("reject %s", id); err != nil {
		return err
	}
	c, err := p.lookupLocked(id)
	if err != nil {
		return err
	}
	if err := telephony.Check(c.State, telephony.OpReject); err != nil {
		return fmt.Errorf("apptest: reject %s: %w", id, err)
	}
	move(c, telephony.EvEnded)
	c.End, c.Reason = telephony.EndRejected, "rejected"
	p.changedLocked(c)
	return nil
}

// Hangup ends a call as telephony/sip does: a ringing call is rejected,
// a call parked on an orbit leaves the lines, any other is hung up.
func (p *Phone) Hangup(_ context.Context, id telephony.CallID) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.record("hangup %s", id); err != nil {
		return err
	}
	c, err := p.lookupLocked(id)
	if err != nil {
		return err
	}
	if err := telephony.Check(c.State, telephony.OpHangup); err != nil {
		return fmt.Errorf("apptest: hang up %s: %w", id, err)
	}
	switch {
	case c.State == telephony.StateRinging:
		c.End = telephony.EndRejected
	case c.State == telephony.StateParkedAway && !c.Relayed:
		c.End = telephony.EndRemoved
	default:
		c.End = telephony.EndHungUpHere
	}
	move(c, telephony.EvEnded)
	c.Reason = c.End.String()
	p.changedLocked(c)
	return nil
}

// Hold puts the live call on hold; a held call stays held.
func (p *Phone) Hold(_ context.Context, id telephony.CallID) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.record("hold %s", id); err != nil {
		return err
	}
	c, err := p.lookupLocked(id)
	if err != nil {
		return err
	}
	if err := telephony.Check(c.State, telephony.OpHold); err != nil {
		return fmt.Errorf("apptest: hold %s: %w", id, err)
	}
	if move(c, telephony.EvHeld) {
		p.changedLocked(c)
	}
	return nil
}

// Resume makes a held call live, holding the live one; the live call
// stays live.
func (p *Phone) Resume(_ context.Context, id telephony.CallID) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.record("resume %s", id); err != nil {
		return err
	}
	c, err := p.lookupLocked(id)
	if err != nil {
		return err
	}
	if err := telephony.Check(c.State, telephony.OpResume); err != nil {
		return fmt.Errorf("apptest: resume %s: %w", id, err)
	}
	if c.State == telephony.StateActive {
		return nil
	}
	p.holdLiveLocked(id)
	move(c, telephony.EvResumed)
	c.Reason = ""
	p.changedLocked(c)
	return nil
}

// Dial places a call that the far end answers at once.
func (p *Phone) Dial(_ context.Context, target string) (telephony.CallID, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.record("dial %s", target); err != nil {
		return "", err
	}
	p.holdLiveLocked("")
	c := p.newCallLocked(telephony.Outbound, "", target)
	p.changedLocked(c)
	move(c, telephony.EvAnswered)
	c.Answered = p.now()
	p.changedLocked(c)
	return c.ID, nil
}

// Park parks a call: on orbit, or on the next free one (0). A busy orbit
// fails the park the way the service does (the call comes back held,
// with the reason).
func (p *Phone) Park(_ context.Context, id telephony.CallID, orbit int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.record("park %s %d", id, orbit); err != nil {
		return err
	}
	return p.parkLocked(id, orbit, telephony.ParkFor{})
}

// parkLocked parks id on orbit for f (parkfor.go); p.mu is held.
func (p *Phone) parkLocked(id telephony.CallID, orbit int, f telephony.ParkFor) error {
	c, err := p.lookupLocked(id)
	if err != nil {
		return err
	}
	if !p.parkUp {
		return fmt.Errorf("apptest: park %s: %w", id, ErrUnavailable)
	}
	if orbit != 0 && p.orbits[orbit] == nil {
		return fmt.Errorf("apptest: park on %d: %w", orbit, ErrBadOrbit)
	}
	if err := telephony.Check(c.State, telephony.OpPark); err != nil {
		return fmt.Errorf("apptest: park %s: %w", id, err)
	}
	if orbit == 0 {
		for n := p.first; n <= p.last; n++ {
			if !p.orbits[n].Occupied {
				orbit = n
				break
			}
		}
	}
	move(c, telephony.EvParkRequested)
	c.Orbit, c.Reason = orbit, ""
	p.changedLocked(c)
	if orbit == 0 || p.orbits[orbit].Occupied {
		move(c, telephony.EvParkFailed)
		c.Orbit = 0
		c.Reason = fmt.Sprintf("orbit %d is busy", orbit)
		if orbit == 0 {
			c.Reason = "parking lot is full"
		}
		p.changedLocked(c)
		return nil
	}
	o := telephony.Orbit{Number: orbit, Occupied: true, CallerName: c.RemoteName, CallerURI: c.RemoteURI,
		Parker: "sip:console@127.0.0.1", ParkedAt: p.now(), ParkedByMe: true, For: f.For, Note: f.Note}
	*p.orbits[orbit] = o
	p.emit(telephony.OrbitChanged{Orbit: o})
	move(c, telephony.EvParkConfirmed)
	p.changedLocked(c)
	return nil
}

// Retrieve picks up the call on orbit as a new active call and frees the
// orbit. An empty orbit gives a retrieve call that ends at once, as
// telephony/sip's does when the park service answers 404.
func (p *Phone) Retrieve(_ context.Context, orbit int) (telephony.CallID, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.record("retrieve %d", orbit); err != nil {
		return "", err
	}
	o := p.orbits[orbit]
	if o == nil {
		return "", fmt.Errorf("apptest: retrieve %d: %w", orbit, ErrBadOrbit)
	}
	name, uri := o.CallerName, o.CallerURI
	if !o.Occupied {
		c := p.newCallLocked(telephony.Outbound, "", "")
		c.RetrievedFrom = orbit
		p.changedLocked(c)
		move(c, telephony.EvEnded)
		c.End, c.Reason = telephony.EndOrbitEmpty, fmt.Sprintf("orbit %d is empty", orbit)
		p.changedLocked(c)
		return c.ID, nil
	}
	// Our own parked call on it leaves the lines.
	for _, id := range p.order {
		if c := p.calls[id]; c.State == telephony.StateParkedAway && c.Orbit == orbit {
			move(c, telephony.EvEnded)
			c.End, c.Reason = telephony.EndLeftOrbit, fmt.Sprintf("left orbit %d", orbit)
			p.changedLocked(c)
			break
		}
	}
	p.holdLiveLocked("")
	c := p.newCallLocked(telephony.Outbound, "", uri)
	c.RetrievedFrom = orbit
	p.changedLocked(c)
	*o = telephony.Orbit{Number: orbit}
	p.emit(telephony.OrbitChanged{Orbit: *o})
	move(c, telephony.EvAnswered)
	c.RemoteName, c.Answered = name, p.now()
	p.changedLocked(c)
	return c.ID, nil
}

// BlindTransfer hands a call to target and drops it.
func (p *Phone) BlindTransfer(_ context.Context, id telephony.CallID, target string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.record("transfer %s %s", id, target); err != nil {
		return err
	}
	c, err := p.lookupLocked(id)
	if err != nil {
		return err
	}
	if err := telephony.Check(c.State, telephony.OpTransfer); err != nil {
		return fmt.Errorf("apptest: transfer %s: %w", id, err)
	}
	if p.presence.deferTransfers {
		// Under way: held until the test says how it went.
		c.State = telephony.StateHeld
		p.changedLocked(c)
		return nil
	}
	move(c, telephony.EvEnded)
	c.End, c.Reason = telephony.EndTransferred, "transferred to "+target
	p.changedLocked(c)
	return nil
}

// AttendedTransfer connects id and consult and drops both.
func (p *Phone) AttendedTransfer(_ context.Context, id, consult telephony.CallID) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.record("attended %s %s", id, consult); err != nil {
		return err
	}
	var calls []*telephony.Call
	for _, cid := range []telephony.CallID{id, consult} {
		c, err := p.lookupLocked(cid)
		if err != nil {
			return err
		}
		if err := telephony.Check(c.State, telephony.OpTransfer); err != nil {
			return fmt.Errorf("apptest: attended transfer %s: %w", cid, err)
		}
		calls = append(calls, c)
	}
	for _, c := range calls {
		move(c, telephony.EvEnded)
		c.End, c.Reason = telephony.EndTransferred, "transferred"
		p.changedLocked(c)
	}
	return nil
}

// SendDTMF records the digits, on a call that has a line.
func (p *Phone) SendDTMF(_ context.Context, id telephony.CallID, digits string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.record("dtmf %s %s", id, digits); err != nil {
		return err
	}
	c, err := p.lookupLocked(id)
	if err != nil {
		return err
	}
	if err := telephony.Check(c.State, telephony.OpSendDTMF); err != nil {
		return fmt.Errorf("apptest: dtmf on %s: %w", id, err)
	}
	return nil
}
