// Calls: the call type, the phone's registry of calls (created by
// newCall, found by lookup, forgotten by endLocked), the one place that
// writes a call's state (call.moveLocked, by telephony.Next), and an
// inbound call's life from its INVITE to its end (serve, finish).

package sip

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony"
)

// call is one call of the console: one SIP dialog (inbound or outbound)
// and, while relay-parked, a second one to the park service.
type call struct {
	p   *Phone
	id  telephony.CallID
	seq uint64

	srv *diago.DialogServerSession // inbound
	cli *diago.DialogClientSession // outbound, once sent

	// guarded by p.mu
	info       telephony.Call
	leg        *leg
	sipCallID  string
	endReason  ending
	cancelDial context.CancelFunc
	park       *parkAttempt
	relay      *relayPark
	orbitLit   bool // the lamp of the orbit it is parked on has shown it
	transfer   *transferAttempt
	retrieve   int        // orbit of a retrieve call
	safe       bool       // the retrieve used our token
	maybe      *maybePark // parked, but on which orbit is not certain (info.Candidates)
	maybeOf    *call      // the uncertain park a retrieve call may be bringing back
	guessed    bool       // a retrieve call's name is this console's memory, not the PBX's word
	claim      *lineOp    // the operation waiting on the network for it

	ended chan struct{} // closed (under p.mu) once the call has ended
}

// session is what both dialog kinds offer.
type session interface {
	Context() context.Context
	Hold(ctx context.Context) error
	Unhold(ctx context.Context) error
	Hangup(ctx context.Context) error
	DialogSIP() *sipgo.Dialog
}

// sess returns the call's dialog, or nil before an outbound one exists.
// p.mu must not be held.
func (c *call) sess() session {
	if c.srv != nil {
		return c.srv
	}
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	if c.cli != nil {
		return c.cli
	}
	return nil
}

// refer sends REFER on the call's dialog; it returns at the 202.
func (c *call) refer(ctx context.Context, to sip.Uri, hdrs []sip.Header, onNotify func(int)) error {
	switch d := c.sess().(type) {
	case *diago.DialogServerSession:
		return d.ReferOptions(ctx, to, diago.ReferServerOptions{Headers: hdrs, OnNotify: onNotify})
	case *diago.DialogClientSession:
		return d.ReferOptions(ctx, to, diago.ReferClientOptions{Headers: hdrs, OnNotify: onNotify})
	}
	return fmt.Errorf("call %s has no dialog: %w", c.id, ErrWrongState)
}

// endLeg hangs up the call's dialog, giving the far end legByeTimeout
// (within parent) to answer the BYE.
func (c *call) endLeg(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, legByeTimeout)
	defer cancel()
	return c.sess().Hangup(ctx)
}

// changed publishes the call's current state. The state is read and
// sent in one hold of p.mu, as updateOrbit does for orbits: read under
// the lock and sent after it, two goroutines publishing one call could
// deliver the older state last, and the window shows the last one.
// Sending never blocks (the queue has its own lock).
func (p *Phone) changed(c *call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.emit(telephony.CallChanged{Call: c.info})
}

// newCall registers a call and publishes it.
func (p *Phone) newCall(dir telephony.Direction, name, uri, sipCallID string, srv *diago.DialogServerSession) *call {
	p.mu.Lock()
	p.seq++
	c := &call{p: p, seq: p.seq, sipCallID: sipCallID, srv: srv, ended: make(chan struct{})}
	c.id = telephony.CallID("c" + strconv.FormatUint(p.seq, 10))
	c.info = telephony.Call{ID: c.id, Direction: dir, RemoteName: name, RemoteURI: uri, Started: time.Now()}
	c.info.State = telephony.InitialState(dir)
	p.calls[c.id] = c
	if sipCallID != "" {
		p.byCallID[sipCallID] = c
	}
	p.mu.Unlock()
	return c
}

// serve is diago's handler of a new inbound call; it blocks for the
// call's life, as diago requires.
func (p *Phone) serve(d *diago.DialogServerSession) {
	req := d.InviteRequest
	if err := p.srtpRefusal(req); err != nil {
		p.refuseForSRTP(d, err)
		return
	}
	name, uri := identityOf(req.From())
	if h := req.GetHeader("P-Asserted-Identity"); h != nil {
		if n, u, ok := parseIdentity(h.Value()); ok {
			name, uri = n, u
		}
	}
	// 180 first: once the call is published, Answer may write to d.
	ringErr := d.Ringing()
	c := p.newCall(telephony.Inbound, name, uri, string(*req.CallID()), d)
	p.mu.Lock()
	if h := req.GetHeader("X-Park-Orbit"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			c.info.BackFrom = n
			c.info.ParkedFor, c.info.ParkNote = parkedForIn(req)
		}
	}
	var left *call // an uncertain park whose caller this is
	if c.info.BackFrom == 0 {
		c.info.BackFrom, left = p.parking.comebackLocked(uri, time.Now())
	}
	closed := p.closed
	p.mu.Unlock()
	if left != nil {
		p.changed(left)
	}
	if closed {
		_ = d.Respond(sip.StatusServiceUnavailable, "Service Unavailable", nil)
		p.finish(c, endAs(telephony.EndClosed, ""))
		return
	}
	p.log.Info("incoming call", "call", c.id, "from", uri, "name", name, "back_from", c.info.BackFrom)
	if ringErr != nil {
		p.log.Debug("180 failed", "call", c.id, "error", ringErr)
	}
	p.changed(c)
	select {
	case <-d.Context().Done():
	case <-p.ctx.Done():
	}
	p.parking.relayDone(c)
	p.finish(c, ending{})
}

// finish ends the call's own leg: a call parked away lives on on its
// orbit, a call being parked waits for its park's outcome (runPark
// decides: a caller hangs up by itself once transferred), anything else
// has ended.
func (p *Phone) finish(c *call, why ending) {
	p.mu.Lock()
	l := c.leg
	c.leg = nil
	if !c.endReason.set() {
		c.endReason = why
	}
	var reason ending
	switch {
	case c.info.State == telephony.StateEnded:
		// Ended already: a park whose caller left without a lamp.
	case c.park != nil:
		// The dialog's Call-ID stays known for a late REFER NOTIFY.
		c.park.legGone = true
	case c.info.State == telephony.StateParkedAway && !c.info.Relayed:
		p.forgetDialogLocked(c)
	default:
		reason = c.endReason
		switch {
		case reason.set():
		case c.info.State == telephony.StateRinging:
			reason = endAs(telephony.EndMissed, "caller hung up")
		case c.info.Direction == telephony.Outbound:
			reason = endAs(telephony.EndHungUpByFarEnd, "far end hung up")
		default:
			reason = endAs(telephony.EndHungUpByFarEnd, "caller hung up")
		}
		p.endLocked(c, reason)
	}
	p.mu.Unlock()
	if l != nil {
		l.close()
	}
	if reason.set() {
		p.log.Info("call ended", "call", c.id, "end", reason.why, "reason", reason.text())
		p.changed(c)
	}
}

// endLocked ends c with reason and forgets it; p.mu is held. The caller
// publishes the change.
func (p *Phone) endLocked(c *call, reason ending) {
	c.park = nil
	c.moveLocked(telephony.EvEnded)
	c.info.End, c.info.Reason = reason.why, reason.text()
	delete(p.calls, c.id)
	p.forgetDialogLocked(c)
	select {
	case <-c.ended:
	default:
		close(c.ended)
	}
}

// moveLocked moves c by ev as telephony's lifecycle says; p.mu is held.
// It is the only place that writes a call's state after its creation.
// It reports whether the call moved: an event the call's state does not
// allow leaves it as it was (logged: a call ended twice is no news).
func (c *call) moveLocked(ev telephony.CallEvent) bool {
	next, err := telephony.Next(c.info.State, ev)
	if err != nil {
		c.p.log.Debug("call state unchanged", "call", c.id, "error", err)
		return false
	}
	c.info.State = next
	return true
}

// forgetDialogLocked stops routing in-dialog requests to c; p.mu is held.
func (p *Phone) forgetDialogLocked(c *call) {
	if c.sipCallID != "" && p.byCallID[c.sipCallID] == c {
		delete(p.byCallID, c.sipCallID)
	}
}

// identityOf returns the display name and URI (without parameters) of a
// From or To header.
func identityOf(h interface{ Value() string }) (string, string) {
	if h == nil {
		return "", ""
	}
	n, u, _ := parseIdentity(h.Value())
	return n, u
}

// parseIdentity parses `"Name" <sip:x@y>;params` or a bare URI.
func parseIdentity(v string) (name, uri string, ok bool) {
	var u sip.Uri
	params := sip.NewParams()
	name, err := sip.ParseAddressValue(strings.TrimSpace(v), &u, &params)
	if err != nil || u.Host == "" {
		return "", "", false
	}
	return name, uriString(u), true
}

// uriString prints a URI without its parameters and headers.
func uriString(u sip.Uri) string {
	u.UriParams = nil
	u.Headers = nil
	return u.String()
}
