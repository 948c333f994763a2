package sip

import (
	"context"
	"errors"
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
	retrieve   int  // orbit of a retrieve call
	safe       bool // the retrieve used our token
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

// snapshot returns the call's state; p.mu must not be held.
func (c *call) snapshot() telephony.Call {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	return c.info
}

// changed publishes the call's current state.
func (p *Phone) changed(c *call) {
	p.emit(telephony.CallChanged{Call: c.snapshot()})
}

// newCall registers a call and publishes it.
func (p *Phone) newCall(dir telephony.Direction, name, uri, sipCallID string, srv *diago.DialogServerSession) *call {
	p.mu.Lock()
	p.seq++
	c := &call{p: p, seq: p.seq, sipCallID: sipCallID, srv: srv}
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
		}
	}
	if c.info.BackFrom == 0 {
		c.info.BackFrom = p.comebackLocked(uri, time.Now())
	}
	closed := p.closed
	p.mu.Unlock()
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
	p.relayDone(c)
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
	p.moveLocked(c, telephony.EvEnded)
	c.info.End, c.info.Reason = reason.why, reason.text()
	delete(p.calls, c.id)
	p.forgetDialogLocked(c)
}

// moveLocked moves c by ev as telephony's lifecycle says; p.mu is held.
// It reports whether the call moved: an event the call's state does not
// allow leaves it as it was (logged: a call ended twice is no news).
func (p *Phone) moveLocked(c *call, ev telephony.CallEvent) bool {
	next, err := telephony.Next(c.info.State, ev)
	if err != nil {
		p.log.Debug("call state unchanged", "call", c.id, "error", err)
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

// Answer answers a ringing call; the live call, if any, is held first.
func (p *Phone) Answer(ctx context.Context, id telephony.CallID) error {
	p.lineMu.Lock()
	defer p.lineMu.Unlock()
	c, st, err := p.lookupState(id)
	if err != nil {
		return err
	}
	if err := telephony.Check(st, telephony.OpAnswer); err != nil {
		return fmt.Errorf("sip: answer %s: %w", id, err)
	}
	if c.srv == nil {
		return fmt.Errorf("sip: answer %s: %w", id, ErrWrongState)
	}
	if live := p.live(c); live != nil {
		p.holdLocked(ctx, live)
	}
	m, err := c.srv.Answer(diago.AnswerOptions{})
	if err != nil {
		return fmt.Errorf("sip: answer %s: %w", id, err)
	}
	return p.goLive(c, m)
}

// goLive makes an answered call the live one with the sound device.
// p.lineMu is held.
func (p *Phone) goLive(c *call, m *diago.DialogMedia) error {
	id := c.id
	l, err := newLeg(m, p.log.With("call", id), func(d rune) { p.dtmfReceived(id, d) })
	if err != nil {
		p.mu.Lock()
		c.endReason = endAs(telephony.EndNoAudio, "no usable audio: "+err.Error())
		p.mu.Unlock()
		_ = c.sess().Hangup(context.Background())
		return fmt.Errorf("sip: call %s: %w", c.id, err)
	}
	err = p.activate(c, telephony.EvAnswered, func(c *call) error {
		c.leg = l
		c.info.Answered = time.Now()
		return nil
	})
	if err != nil {
		l.close()
		return fmt.Errorf("sip: call %s: %w", c.id, err)
	}
	return nil
}

// activate makes c the live call by ev: under p.mu, unless the call's
// state refuses ev, update checks and changes the call (an error leaves
// it as it was), then the call is active, on the sound device, and
// published.
func (p *Phone) activate(c *call, ev telephony.CallEvent, update func(c *call) error) error {
	p.mu.Lock()
	if _, err := telephony.Next(c.info.State, ev); err != nil {
		p.mu.Unlock()
		return err
	}
	if err := update(c); err != nil {
		p.mu.Unlock()
		return err
	}
	p.moveLocked(c, ev)
	c.info.Reason = ""
	p.mu.Unlock()
	if err := p.attachAudio(c); err != nil {
		p.log.Error("sound device", "call", c.id, "error", err)
	}
	p.changed(c)
	return nil
}

func (p *Phone) attachAudio(c *call) error {
	p.mu.Lock()
	l := c.leg
	p.mu.Unlock()
	if l == nil {
		return errors.New("call has no media")
	}
	port, err := p.cfg.Audio.OpenPort(sampleRate)
	if err != nil {
		return fmt.Errorf("open audio port: %w", err)
	}
	return l.attach(port)
}

// holdLocked puts the live call c on hold; p.lineMu is held. A hold the
// far end does not confirm still takes the call off the sound device.
func (p *Phone) holdLocked(ctx context.Context, c *call) {
	p.mu.Lock()
	if !p.moveLocked(c, telephony.EvHeld) {
		p.mu.Unlock()
		return
	}
	l := c.leg
	c.info.Reason = ""
	p.mu.Unlock()
	if l != nil {
		l.detach()
	}
	if err := c.sess().Hold(ctx); err != nil {
		p.log.Warn("hold not confirmed", "call", c.id, "error", err)
		p.mu.Lock()
		c.info.Reason = "hold not confirmed by the far end"
		p.mu.Unlock()
	}
	p.changed(c)
}

// Reject refuses a ringing call with 486 Busy Here.
func (p *Phone) Reject(ctx context.Context, id telephony.CallID) error {
	c, err := p.lookupWith(id, func(c *call) error {
		if err := telephony.Check(c.info.State, telephony.OpReject); err != nil {
			return fmt.Errorf("sip: reject %s: %w", id, err)
		}
		if c.srv == nil {
			return fmt.Errorf("sip: reject %s: %w", id, ErrWrongState)
		}
		c.endReason = endAs(telephony.EndRejected, "")
		return nil
	})
	if err != nil {
		return err
	}
	if err := c.srv.Respond(sip.StatusBusyHere, "Busy Here", nil); err != nil {
		return fmt.Errorf("sip: reject %s: %w", id, err)
	}
	return nil
}

// Hangup ends a call in any state: a ringing call is rejected, a dialing
// one cancelled, a relayed park hung up on both legs; a call parked on
// an orbit (no leg of ours) is just forgotten.
func (p *Phone) Hangup(ctx context.Context, id telephony.CallID) error {
	var st telephony.CallState
	var relayed bool
	c, err := p.lookupWith(id, func(c *call) error {
		st, relayed = c.info.State, c.info.Relayed
		return nil
	})
	if err != nil {
		return err
	}
	if err := telephony.Check(st, telephony.OpHangup); err != nil {
		return fmt.Errorf("sip: hang up %s: %w", id, err)
	}
	switch {
	case st == telephony.StateRinging:
		return p.Reject(ctx, id)
	case st == telephony.StateParkedAway && !relayed:
		p.mu.Lock()
		c.endReason = endAs(telephony.EndRemoved, "")
		p.endLocked(c, c.endReason)
		p.mu.Unlock()
		p.changed(c)
		return nil
	}
	c.terminate(ctx, endAs(telephony.EndHungUpHere, ""))
	return nil
}

// terminate ends the call's legs, whatever its state.
func (c *call) terminate(ctx context.Context, why ending) {
	p := c.p
	p.mu.Lock()
	if !c.endReason.set() {
		c.endReason = why
	}
	cancel := c.cancelDial
	st := c.info.State
	rp := c.relay
	p.mu.Unlock()
	if rp != nil {
		_ = rp.d.Hangup(ctx)
	}
	switch {
	case st == telephony.StateDialing && cancel != nil:
		cancel()
	case st == telephony.StateRinging && c.srv != nil:
		_ = c.srv.Respond(sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil)
	case c.sess() != nil && st != telephony.StateEnded:
		if err := c.sess().Hangup(ctx); err != nil {
			p.log.Debug("hangup", "call", c.id, "error", err)
		}
		if cancel != nil {
			cancel()
		}
	case cancel != nil:
		cancel()
	}
}

// Hold puts a call on hold (sendonly re-INVITE) and off the sound device.
func (p *Phone) Hold(ctx context.Context, id telephony.CallID) error {
	p.lineMu.Lock()
	defer p.lineMu.Unlock()
	c, st, err := p.lookupState(id)
	if err != nil {
		return err
	}
	if err := telephony.Check(st, telephony.OpHold); err != nil {
		return fmt.Errorf("sip: hold %s: %w", id, err)
	}
	if st == telephony.StateActive { // a held call stays held
		p.holdLocked(ctx, c)
	}
	return nil
}

// Resume takes a held call off hold and makes it the live line, holding
// the live one first.
func (p *Phone) Resume(ctx context.Context, id telephony.CallID) error {
	p.lineMu.Lock()
	defer p.lineMu.Unlock()
	c, st, err := p.lookupState(id)
	if err != nil {
		return err
	}
	if err := telephony.Check(st, telephony.OpResume); err != nil {
		return fmt.Errorf("sip: resume %s: %w", id, err)
	}
	if st == telephony.StateActive {
		return nil
	}
	if live := p.live(c); live != nil {
		p.holdLocked(ctx, live)
	}
	if err := c.sess().Unhold(ctx); err != nil {
		return fmt.Errorf("sip: resume %s: %w", id, err)
	}
	if err := p.activate(c, telephony.EvResumed, func(*call) error { return nil }); err != nil {
		return fmt.Errorf("sip: resume %s: %w", id, err)
	}
	return nil
}

// outbound describes a call the console places.
type outbound struct {
	uri      sip.Uri
	headers  []sip.Header
	retrieve int  // orbit, for a retrieve
	safe     bool // retrieve with our token
}

// Dial calls a number or SIP URI; the call shows dialing, then active.
func (p *Phone) Dial(ctx context.Context, target string) (telephony.CallID, error) {
	if err := p.ready(); err != nil {
		return "", err
	}
	u, err := p.parseTarget(target)
	if err != nil {
		return "", err
	}
	c := p.newCall(telephony.Outbound, "", uriString(u), "", nil)
	p.startOutbound(c, outbound{uri: u})
	return c.id, nil
}

func (p *Phone) startOutbound(c *call, o outbound) {
	ctx, cancel := context.WithCancel(p.ctx)
	p.mu.Lock()
	c.cancelDial = cancel
	c.retrieve, c.safe = o.retrieve, o.safe
	if o.retrieve != 0 {
		c.info.RetrievedFrom = o.retrieve
	}
	p.mu.Unlock()
	p.changed(c)
	p.wg.Go(func() {
		defer cancel()
		p.runOutbound(ctx, c, o)
	})
}

// runOutbound places the call and owns it for its life.
func (p *Phone) runOutbound(ctx context.Context, c *call, o outbound) {
	// One live line: the call being placed takes the headset.
	p.lineMu.Lock()
	if live := p.live(c); live != nil {
		p.holdLocked(ctx, live)
	}
	p.lineMu.Unlock()

	d, err := p.dg.NewDialog(o.uri, diago.NewDialogOptions{Transport: p.routedTransport(o.uri)})
	if err != nil {
		p.finish(c, endAs(telephony.EndFailed, "cannot place the call: "+err.Error()))
		return
	}
	defer d.Close()
	callID := sip.CallIDHeader(sip.GenerateTagN(24))
	p.mu.Lock()
	c.cli = d
	c.sipCallID = string(callID)
	p.byCallID[c.sipCallID] = c
	p.mu.Unlock()

	hdrs := append([]sip.Header{p.fromHeader("", ""), &callID}, o.headers...)
	if p.route != nil {
		hdrs = append(hdrs, sip.HeaderClone(p.route))
	}
	m, err := d.Invite(ctx, diago.InviteClientOptions{
		Headers:  hdrs,
		Username: p.cfg.Account.Username,
		Password: p.cfg.Account.Password,
		OnResponse: func(res *sip.Response) error {
			if res.StatusCode == sip.StatusRinging || res.StatusCode == sip.StatusSessionInProgress {
				p.mu.Lock()
				c.info.Reason = strings.ToLower(res.Reason)
				p.mu.Unlock()
				p.changed(c)
			}
			return nil
		},
	})
	if err != nil {
		p.finish(c, p.dialFailure(c, err))
		return
	}
	if err := d.Ack(ctx); err != nil {
		p.finish(c, endAs(telephony.EndFailed, "call not confirmed: "+err.Error()))
		return
	}
	if o.retrieve != 0 {
		p.mu.Lock()
		for _, name := range []string{"P-Asserted-Identity", "X-Park-Caller"} {
			if h := d.InviteResponse.GetHeader(name); h != nil {
				if n, u, ok := parseIdentity(h.Value()); ok {
					c.info.RemoteName, c.info.RemoteURI = n, u
					break
				}
			}
		}
		p.mu.Unlock()
	}
	p.lineMu.Lock()
	if live := p.live(c); live != nil {
		p.holdLocked(ctx, live)
	}
	err = p.goLive(c, m)
	p.lineMu.Unlock()
	if err == nil {
		select {
		case <-d.Context().Done():
		case <-p.ctx.Done():
		}
	}
	p.finish(c, ending{})
}

// dialFailure says why a call we placed did not connect.
func (p *Phone) dialFailure(c *call, err error) ending {
	p.mu.Lock()
	why, orbit, safe := c.endReason, c.retrieve, c.safe
	p.mu.Unlock()
	if why.set() {
		return why
	}
	if res := responseOf(err); res != nil {
		code := res.StatusCode
		if orbit != 0 && code == sip.StatusNotFound {
			if safe {
				return endAs(telephony.EndOrbitEmpty, fmt.Sprintf("the call you parked on %d is gone", orbit))
			}
			return endAs(telephony.EndOrbitEmpty, fmt.Sprintf("orbit %d is empty", orbit))
		}
		switch code {
		case sip.StatusBusyHere, sip.StatusGlobalBusyEverywhere:
			return endAs(telephony.EndBusy, "")
		case sip.StatusNotFound:
			return endAs(telephony.EndNoSuchNumber, "")
		case sip.StatusTemporarilyUnavailable:
			return endAs(telephony.EndUnavailable, "")
		case sip.StatusGlobalDecline, sip.StatusForbidden:
			return endAs(telephony.EndDeclined, "")
		case sip.StatusRequestTimeout:
			return endAs(telephony.EndNoAnswer, "")
		}
		return endAs(telephony.EndFailed, "call failed: "+strings.TrimPrefix(res.StartLine(), "SIP/2.0 "))
	}
	if errors.Is(err, context.Canceled) {
		// Only the console's closing cancels a call nobody hung up.
		return endAs(telephony.EndClosed, "cancelled")
	}
	if orbit != 0 {
		return endAs(telephony.EndUnreachable, "park service unreachable: "+err.Error())
	}
	return endAs(telephony.EndFailed, "call failed: "+err.Error())
}

// fromHeader is our From: the console's AOR and display name, or the
// given identity (a relay park speaks for its caller).
func (p *Phone) fromHeader(name, uri string) *sip.FromHeader {
	from := &sip.FromHeader{DisplayName: p.cfg.DisplayName, Address: *p.aor.Clone(), Params: sip.NewParams()}
	if uri != "" {
		var u sip.Uri
		if err := sip.ParseUri(uri, &u); err == nil {
			from.DisplayName, from.Address = name, u
		}
	}
	from.Params.Add("tag", sip.GenerateTagN(16))
	return from
}

// dtmfReceived publishes a digit the far end of call id keyed. It runs
// on the call's media or SIP goroutine and does not block (emit never
// does).
func (p *Phone) dtmfReceived(id telephony.CallID, d rune) {
	p.log.Debug("dtmf received", "call", id, "digit", string(d))
	p.emit(telephony.DTMFReceived{CallID: id, Digit: d})
}

// SendDTMF sends digits on the live call as RFC 4733 events.
func (p *Phone) SendDTMF(ctx context.Context, id telephony.CallID, digits string) error {
	var l *leg
	var st telephony.CallState
	_, err := p.lookupWith(id, func(c *call) error {
		l, st = c.leg, c.info.State
		return nil
	})
	if err != nil {
		return err
	}
	if err := validDTMF(digits); err != nil {
		return fmt.Errorf("sip: dtmf on %s: %w", id, err)
	}
	if err := telephony.Check(st, telephony.OpSendDTMF); err != nil {
		return fmt.Errorf("sip: dtmf on %s: %w", id, err)
	}
	if l == nil {
		return fmt.Errorf("sip: dtmf on %s: %w", id, ErrWrongState)
	}
	done := make(chan error, 1)
	go func() { done <- l.sendDTMF(digits) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
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
