package app

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/calllog"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// callBook follows every call from its events and keeps its entry in the
// call log (and the history panel) up to date: one entry per call, its
// outcome moving on as the call does (answered, parked on 703, retrieved
// by reception2...). It also decides which ringing calls are park
// returns. It belongs to Fyne's goroutine.
type callBook struct {
	calls map[telephony.CallID]*tracked
	// parked is the entry of the call this console parked on each orbit.
	parked map[int]*tracked
}

// tracked is one call the book follows.
type tracked struct {
	e      calllog.Entry
	logged bool // in the log and the history
	// backFrom is the orbit the phone said the call comes back from; a
	// return the book did not believe (suspect) shows as a new call
	// until its orbit darkens or rings back.
	backFrom int
	suspect  bool
	seen     time.Time // when the book first saw the call
	answered bool
	ended    bool
	// transferTo is where the receptionist last asked to transfer the
	// call: the phone's events say that it was transferred, not where.
	transferTo string
}

func newCallBook() *callBook {
	return &callBook{calls: make(map[telephony.CallID]*tracked), parked: make(map[int]*tracked)}
}

// seeCall notes a call's change in the log and returns the call as the
// window should show it: a call the phone took for a park return that is
// not one (its caller is still parked there) loses its BackFrom.
func (c *Console) seeCall(call telephony.Call) telephony.Call {
	b := c.book
	t := b.calls[call.ID]
	if t == nil {
		if call.State == telephony.StateEnded {
			return call // a call seen before this console, or forgotten
		}
		t = &tracked{backFrom: call.BackFrom, seen: c.now(), e: calllog.Entry{
			Direction: logDirection(call.Direction), Name: call.RemoteName, URI: call.RemoteURI,
			Started: nonZero(call.Started, c.now()),
		}}
		b.calls[call.ID] = t
		if call.Direction == telephony.Inbound && call.BackFrom != 0 && c.stillParked(call.BackFrom, call.RemoteURI) {
			t.suspect = true
			c.log.Info("a call from a parked caller's number is a new call: the caller is still on the orbit",
				"call", call.ID, "orbit", call.BackFrom, "caller", call.RemoteURI)
		}
		if call.Direction == telephony.Outbound && call.RetrievedFrom == 0 {
			c.calledBack(call.RemoteURI)
		}
	}
	if t.suspect {
		call.BackFrom = 0
	}
	if !t.suspect && t.backFrom != 0 {
		t.e.BackFrom = t.backFrom
	}
	c.noteInLog(t, call)
	if call.State == telephony.StateEnded {
		delete(b.calls, call.ID)
	}
	return call
}

// returnWindow is how soon after a suspect call rang its orbit must
// darken (or ring us back) for the call to be that orbit's return: the
// two signals of one return cross, they do not wait for each other.
const returnWindow = 5 * time.Second

// stillParked reports whether orbit n holds the caller at uri, parked
// and not being rung back to this console: a call from uri now is not
// that caller's return.
func (c *Console) stillParked(n int, uri string) bool {
	v := c.orbits[n]
	return v != nil && v.o.Occupied && !c.ringsUs(v.o) && telephony.SameParty(v.o.CallerURI, uri)
}

// ringsUs reports whether the park service rings o's call back to this
// console: its parker, or the fallback when that is this console.
func (c *Console) ringsUs(o telephony.Orbit) bool {
	return o.RingingBack != "" && (o.ParkedByMe || telephony.SameParty(o.RingingBack, c.opts.Identity))
}

// rejudge gives a ringing call that was not believed to be orbit n's
// return its mark back when, moments after it rang, the orbit darkens
// without saying how or rings it back to us: the PBX's signals crossed.
func (c *Console) rejudge(o telephony.Orbit) {
	if o.Occupied && !c.ringsUs(o) {
		return
	}
	if !o.Occupied && o.Left != telephony.LeftUnknown {
		return // it left another way: gave up, retrieved...
	}
	now := c.now()
	for id, t := range c.book.calls {
		if !t.suspect || t.backFrom != o.Number || t.answered || now.Sub(t.seen) > returnWindow {
			continue
		}
		l := c.lines[id]
		if l == nil || l.call.State != telephony.StateRinging {
			continue
		}
		t.suspect = false
		call := l.call
		call.BackFrom = t.backFrom
		c.log.Info("the orbit of a suspect return darkened or rang back: it is the return", "call", id, "orbit", o.Number)
		c.callChanged(c.seeCall(call))
	}
}

// noteInLog moves the call's entry on with its new state.
func (c *Console) noteInLog(t *tracked, call telephony.Call) {
	now := c.now()
	b := c.book
	e := &t.e
	if call.RemoteName != "" {
		e.Name = call.RemoteName
	}
	switch call.State {
	case telephony.StateActive:
		if t.answered {
			return
		}
		t.answered = true
		e.Answered = nonZero(call.Answered, now)
		e.OutcomeAt = now
		switch {
		case call.RetrievedFrom != 0:
			n := call.RetrievedFrom
			e.Outcome, e.Orbit, e.ParkedAt = calllog.RetrievedHere, n, c.retrieving[n]
			delete(b.parked, n) // its own entry keeps "Parked ... on n"
		case call.Direction == telephony.Outbound:
			e.Outcome = calllog.Called
		default:
			e.Outcome = calllog.Answered
		}
	case telephony.StateParkedAway:
		if call.Orbit == 0 || e.Outcome == calllog.Parked && e.Orbit == call.Orbit {
			return
		}
		// Since when it is parked is the lamp's to say, when it lit
		// first.
		at := now
		if v := c.orbits[call.Orbit]; v != nil && v.o.Occupied && !v.since.IsZero() && telephony.SameParty(v.o.CallerURI, call.RemoteURI) {
			at = v.since
		}
		e.Outcome, e.Orbit, e.ParkedAt, e.OutcomeAt = calllog.Parked, call.Orbit, at, now
		b.parked[call.Orbit] = t
	case telephony.StateEnded:
		if t.ended {
			return
		}
		t.ended = true
		e.Ended = now
		switch {
		case call.End == telephony.EndTransferred:
			e.Outcome, e.Party = calllog.Transferred, t.transferTo
		case t.answered:
			c.write(t) // the end time; the outcome stays
			return
		case call.RetrievedFrom != 0:
			return // a retrieve that failed: the status bar said so
		case call.Direction == telephony.Outbound:
			e.Outcome = calllog.NotAnswered
		case call.End == telephony.EndMissed && e.BackFrom != 0:
			// The park service gave up ringing us: the caller is back
			// on the orbit, nobody missed a call.
			e.Outcome, e.Orbit = calllog.RangBack, e.BackFrom
		case call.End == telephony.EndMissed:
			e.Outcome = calllog.Missed
		case call.End == telephony.EndRejected || call.End == telephony.EndHungUpHere:
			e.Outcome = calllog.Declined
		default:
			return // the console closed, or the call failed, while it rang
		}
		e.OutcomeAt = now
	default:
		return
	}
	c.write(t)
}

// write puts t's entry in the log and the history.
func (c *Console) write(t *tracked) {
	if !t.logged {
		if c.opts.CallLog != nil {
			t.e = c.opts.CallLog.Add(t.e)
		} else {
			c.history.seq++
			t.e.ID = c.history.seq
		}
		t.logged = true
	} else if c.opts.CallLog != nil {
		c.opts.CallLog.Update(t.e)
	}
	c.history.put(t.e)
}

// calledBack marks handled the missed and gave-up entries of the party
// at uri: the receptionist is calling it.
func (c *Console) calledBack(uri string) {
	if c.opts.CallLog != nil {
		c.opts.CallLog.MarkHandled(uri)
	}
	c.history.handled(calllog.PartyKey(uri))
}

// parkedHere is the entry of the call this console parked on orbit n,
// as its lamp shows it: the book's, or one the history has from before
// (a restart), or a new one.
func (c *Console) parkedHere(o telephony.Orbit, since time.Time) *tracked {
	if t := c.book.parked[o.Number]; t != nil {
		return t
	}
	t := &tracked{logged: true, answered: true, ended: true}
	if e, ok := c.history.parkedOn(o.Number, o.CallerURI); ok {
		t.e = e
	} else {
		t.logged = false
		t.e = calllog.Entry{Direction: calllog.Inbound, Name: o.CallerName, URI: o.CallerURI, Started: since,
			Outcome: calllog.Parked, Orbit: o.Number, ParkedAt: since, OutcomeAt: since}
	}
	c.book.parked[o.Number] = t
	return t
}

// leftOrbit notes how the call this console parked on o left it.
func (c *Console) leftOrbit(t *tracked, o telephony.Orbit, now time.Time) {
	e := &t.e
	if e.URI == "" {
		e.Name, e.URI = o.CallerName, o.CallerURI
	}
	e.Orbit, e.OutcomeAt, e.Party = o.Number, now, ""
	switch o.Left {
	case telephony.LeftGaveUp:
		e.Outcome = calllog.GaveUp
	case telephony.LeftRetrieved:
		e.Outcome, e.Party = calllog.RetrievedBy, o.RetrievedBy
	case telephony.LeftFallback:
		e.Outcome, e.Party = calllog.Fallback, o.RetrievedBy
	case telephony.LeftLost:
		e.Outcome = calllog.Lost
	case telephony.LeftServiceStopped:
		e.Outcome = calllog.LostInRestart
	case telephony.LeftRingBack:
		if telephony.SameParty(o.RetrievedBy, c.opts.Identity) || telephony.SameParty(o.RetrievedBy, o.Parker) {
			return // answered here: the ring-back's own entry says so
		}
		e.Outcome, e.Party = calllog.AnsweredBy, o.RetrievedBy
	default:
		e.Outcome = calllog.LeftOrbit
	}
	c.write(t)
	if e.Outcome == calllog.GaveUp {
		c.notifyGaveUp(*e)
	}
}

// notingPhone is the console's phone, noting where the receptionist
// transfers each call for its entry in the log before it asks the phone.
// The note is queued on Fyne's goroutine ahead of the transfer's events.
type notingPhone struct {
	telephony.Phone
	c *Console
}

// BlindTransfer notes target, then transfers.
func (p notingPhone) BlindTransfer(ctx context.Context, id telephony.CallID, target string) error {
	p.c.do(func() { p.c.transferring(id, target) })
	return p.Phone.BlindTransfer(ctx, id, target)
}

// AttendedTransfer notes the consultation call's far end, then
// transfers.
func (p notingPhone) AttendedTransfer(ctx context.Context, id, consult telephony.CallID) error {
	p.c.do(func() {
		if t := p.c.book.calls[consult]; t != nil {
			p.c.transferring(id, t.e.URI)
		}
	})
	return p.Phone.AttendedTransfer(ctx, id, consult)
}

func (c *Console) transferring(id telephony.CallID, to string) {
	if t := c.book.calls[id]; t != nil {
		t.transferTo = to
	}
}

func logDirection(d telephony.Direction) calllog.Direction {
	if d == telephony.Outbound {
		return calllog.Outbound
	}
	return calllog.Inbound
}

func nonZero(t, fallback time.Time) time.Time {
	if t.IsZero() {
		return fallback
	}
	return t
}

// entryText words an entry for the history.
func entryText(e calllog.Entry) string {
	name := who(e.Name, e.URI)
	after := ""
	if !e.ParkedAt.IsZero() && !e.OutcomeAt.IsZero() {
		after = " after " + widgets.Clock(e.OutcomeAt.Sub(e.ParkedAt))
	}
	by := shortParty(e.Party)
	if by == "" {
		by = "another console"
	}
	switch e.Outcome {
	case calllog.Answered:
		if e.BackFrom != 0 {
			return fmt.Sprintf("Answered %s, back from %d", name, e.BackFrom)
		}
		return "Answered " + name
	case calllog.Called:
		return "Called " + name
	case calllog.NotAnswered:
		return "Called " + name + ", no answer"
	case calllog.Missed:
		return "Missed call from " + name
	case calllog.Declined:
		if e.BackFrom != 0 {
			return fmt.Sprintf("Declined %s, back from %d: returned to the orbit", name, e.BackFrom)
		}
		return "Declined " + name
	case calllog.Parked:
		return fmt.Sprintf("Parked %s on %d", name, e.Orbit)
	case calllog.Returned:
		return fmt.Sprintf("%s returned to %d, nobody answered", name, e.Orbit)
	case calllog.RetrievedHere:
		return fmt.Sprintf("Retrieved %s from %d%s", name, e.Orbit, after)
	case calllog.RetrievedBy:
		return fmt.Sprintf("%s was retrieved from %d by %s%s", name, e.Orbit, by, after)
	case calllog.AnsweredBy:
		return fmt.Sprintf("%s on %d was answered by %s%s", name, e.Orbit, by, after)
	case calllog.GaveUp:
		return fmt.Sprintf("%s gave up on %d%s", name, e.Orbit, after)
	case calllog.Fallback:
		return fmt.Sprintf("%s on %d went to the fallback%s", name, e.Orbit, after)
	case calllog.Lost:
		return fmt.Sprintf("%s was lost from %d%s: the phone stopped answering", name, e.Orbit, after)
	case calllog.LeftOrbit:
		return fmt.Sprintf("%s left %d%s", name, e.Orbit, after)
	case calllog.LostInRestart:
		return fmt.Sprintf("%s on %d was lost when the park service stopped%s", name, e.Orbit, after)
	case calllog.RangBack:
		return fmt.Sprintf("%s rang back from %d, returned to the orbit", name, e.Orbit)
	case calllog.Transferred:
		if e.Party != "" {
			return "Transferred " + name + " to " + shortParty(e.Party)
		}
		return "Transferred " + name
	}
	return name
}
