// Lines: the calls the receptionist talks on. This file owns answering,
// hold and resume, hang up and reject, placing calls, DTMF, and the one
// live line on the sound device; transfer.go hands a line over by REFER.
//
// How an operation that waits on the network runs (one helper does it,
// runLineOp): under p.mu the call is checked against telephony's
// lifecycle and claimed by the operation (a second operation that would
// change it is refused at once with ErrWrongState; Hang up never is); the
// lock is released for the wait (a re-INVITE's answer, an ACK); under
// p.mu again the call is checked anew, since its caller may have hung
// up or another line become live meanwhile, and moved by telephony.Next
// through call.moveLocked. No lock is held across network I/O. One live
// line: a call becomes active only in activateLocked, which holds any
// other active call in the same moment; the sound device then follows
// (soundDevice.follow).

package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony"
)

// lineOp is one operation on the lines: the call it acts on, and the
// calls it put on hold whose far ends are still to be told (their
// re-INVITEs go out with no lock held). Every call in held is claimed by
// the operation until its hold has gone out; the call acted on until
// the operation ends.
type lineOp struct {
	p       *Phone
	op      telephony.Op
	c       *call
	held    []*call
	publish []*call // changed under p.mu; published once it is released
	holdErr error   // how the hold of c itself failed, once sent
}

// errNothingToDo ends an operation that finds the call as asked (a hold
// of a held call): no wait, no error.
var errNothingToDo = errors.New("nothing to do")

// lineSteps are the parts of an operation on a line. begin runs under
// p.mu with the call claimed: it checks the call and may move it (a hold
// goes out before wait). wait runs with no lock held. end runs under p.mu
// once the call is found still the phone's and still claimed by this
// operation; it gets wait's error and applies the outcome. undo runs,
// with no lock held, when the call was gone or end failed (it releases
// what wait acquired).
type lineSteps struct {
	begin func(o *lineOp) error
	wait  func() error
	end   func(o *lineOp, waited error) error
	undo  func()
}

// runLineOp runs op on call id in steps: see the file's comment.
func (p *Phone) runLineOp(ctx context.Context, id telephony.CallID, op telephony.Op, s lineSteps) error {
	o := &lineOp{p: p, op: op}
	p.mu.Lock()
	c, err := p.lookupLocked(id)
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("sip: %s: %w", op, err)
	}
	o.c = c
	err = o.claimLocked(c)
	if err == nil && s.begin != nil {
		if err = s.begin(o); err != nil {
			o.releaseLocked(c)
		}
	}
	p.mu.Unlock()
	o.apply(ctx)
	switch {
	case errors.Is(err, errNothingToDo):
		return nil
	case err != nil:
		return fmt.Errorf("sip: %s %s: %w", op, id, err)
	}

	var waited error
	if s.wait != nil {
		waited = s.wait()
	}

	p.mu.Lock()
	if p.calls[c.id] != c || c.claim != o {
		err = fmt.Errorf("the call ended meanwhile: %w", ErrNoSuchCall)
	} else if s.end != nil {
		err = s.end(o, waited)
	} else {
		err = waited
	}
	o.releaseLocked(c)
	p.mu.Unlock()
	if err != nil && s.undo != nil {
		s.undo()
	}
	o.apply(ctx)
	if err != nil {
		return fmt.Errorf("sip: %s %s: %w", op, id, err)
	}
	return nil
}

// claimLocked claims c for o; p.mu is held.
func (o *lineOp) claimLocked(c *call) error {
	if c.claim != nil && c.claim != o {
		return fmt.Errorf("cannot %s a call while its %s is under way: %w", o.op, c.claim.opOn(c), ErrWrongState)
	}
	c.claim = o
	return nil
}

// opOn is what o is doing to c, which it claims: its own operation, or
// the hold of a call it took off the live line.
func (o *lineOp) opOn(c *call) telephony.Op {
	if c == o.c {
		return o.op
	}
	return telephony.OpHold
}

// releaseLocked ends o's claim on c; p.mu is held.
func (o *lineOp) releaseLocked(c *call) {
	if c.claim == o {
		c.claim = nil
	}
}

// holdLocked puts c, active, on hold: off the sound device at once, its
// far end told once p.mu is released (apply). It reports whether c was
// the live call. p.mu is held.
func (o *lineOp) holdLocked(c *call) bool {
	if c.claim != nil && c.claim != o {
		return false // whoever holds c changes it
	}
	if !c.moveLocked(telephony.EvHeld) {
		return false
	}
	c.claim = o
	c.info.Reason = ""
	o.held = append(o.held, c)
	return true
}

// holdOthersLocked holds the live call other than o's: one live line.
// p.mu is held.
func (o *lineOp) holdOthersLocked() {
	for _, c := range o.p.calls {
		if c != o.c && c.info.State == telephony.StateActive {
			o.holdLocked(c)
		}
	}
}

// activateLocked makes o's call the live line by ev, update changing it
// in the same moment; any other live call is held. p.mu is held.
func (o *lineOp) activateLocked(ev telephony.CallEvent, update func(c *call)) error {
	c := o.c
	if _, err := telephony.Next(c.info.State, ev); err != nil {
		return err
	}
	o.holdOthersLocked()
	if update != nil {
		update(c)
	}
	c.moveLocked(ev)
	c.info.Reason = ""
	o.publish = append(o.publish, c)
	return nil
}

// apply does, with no lock held, what o decided under p.mu: the sound
// device follows the live line, the calls put on hold are published and
// their far ends told (a hold the far end does not confirm still keeps
// the call off the sound device), and the calls that changed are
// published.
func (o *lineOp) apply(ctx context.Context) {
	p := o.p
	held, publish := o.held, o.publish
	o.held, o.publish = nil, nil
	if len(held) == 0 && len(publish) == 0 {
		return
	}
	p.sound.follow(p.liveLeg)
	for _, c := range publish {
		p.changed(c)
	}
	for _, c := range held {
		err := c.sess().Hold(ctx)
		p.mu.Lock()
		// The call may have ended meanwhile (its caller hung up): that
		// end was published, with its own reason.
		ended := c.info.State == telephony.StateEnded
		if err != nil && !ended {
			c.info.Reason = "hold not confirmed by the far end"
		}
		if c != o.c {
			o.releaseLocked(c)
		} else {
			o.holdErr = err
		}
		p.mu.Unlock()
		if err != nil {
			p.log.Warn("hold not confirmed", "call", c.id, "error", err)
		}
		if !ended {
			p.changed(c)
		}
	}
}

// soundDevice is the sound device of the live line: which leg it is
// attached to. follow changes it; its lock is held across the device's
// own calls (open, close), never across network I/O, and taken before
// p.mu.
type soundDevice struct {
	dev telephony.AudioDevice
	log *slog.Logger
	mu  sync.Mutex
	leg *leg
}

// follow attaches the device to the leg live names (nil: none), and to
// nothing else. live runs under s.mu: of two changes of the live line,
// whichever follows last leaves the device on the latest one.
func (s *soundDevice) follow(live func() *leg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := live()
	if s.leg == want {
		return
	}
	if s.leg != nil {
		s.leg.detach()
		s.leg = nil
	}
	if want == nil {
		return
	}
	port, err := s.dev.OpenPort(sampleRate)
	if err == nil {
		err = want.attach(port)
	}
	if err != nil {
		s.log.Error("sound device", "error", err)
		return
	}
	s.leg = want
}

// liveLeg is the leg of the live call, or nil.
func (p *Phone) liveLeg() *leg {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.calls {
		if c.info.State == telephony.StateActive && c.leg != nil {
			return c.leg
		}
	}
	return nil
}

// Answer answers a ringing call; the live call, if any, is held first.
func (p *Phone) Answer(ctx context.Context, id telephony.CallID) error {
	var l *leg
	var c *call
	return p.runLineOp(ctx, id, telephony.OpAnswer, lineSteps{
		begin: func(o *lineOp) error {
			c = o.c
			if err := telephony.Check(c.info.State, telephony.OpAnswer); err != nil {
				return err
			}
			if c.srv == nil {
				return ErrWrongState
			}
			o.holdOthersLocked()
			return nil
		},
		wait: func() error {
			m, err := c.srv.Answer(diago.AnswerOptions{})
			if err != nil {
				return err
			}
			l, err = c.newLeg(m)
			return err
		},
		end: func(o *lineOp, waited error) error {
			if waited != nil {
				return waited
			}
			return o.activateLocked(telephony.EvAnswered, func(c *call) {
				c.leg = l
				c.info.Answered = time.Now()
			})
		},
		undo: func() {
			if l != nil {
				l.close()
			}
		},
	})
}

// newLeg starts the media of c, answered as m. Without usable audio the
// call is hung up.
func (c *call) newLeg(m *diago.DialogMedia) (*leg, error) {
	p, id := c.p, c.id
	err := p.srtpAnswered(c.cli)
	var l *leg
	if err == nil {
		l, err = newLeg(m, p.log.With("call", id), func(d rune) { p.dtmfReceived(id, d) })
	}
	if err != nil {
		p.mu.Lock()
		c.endReason = endAs(telephony.EndNoAudio, "no usable audio: "+err.Error())
		p.mu.Unlock()
		_ = c.sess().Hangup(context.Background())
		return nil, err
	}
	return l, nil
}

// Hold puts a call on hold (sendonly re-INVITE) and off the sound device.
// A held call stays held.
func (p *Phone) Hold(ctx context.Context, id telephony.CallID) error {
	return p.runLineOp(ctx, id, telephony.OpHold, lineSteps{
		begin: func(o *lineOp) error {
			if err := telephony.Check(o.c.info.State, telephony.OpHold); err != nil {
				return err
			}
			if !o.holdLocked(o.c) {
				return errNothingToDo
			}
			return nil
		},
	})
}

// Resume takes a held call off hold and makes it the live line, holding
// the live one first. The live call stays as it is.
func (p *Phone) Resume(ctx context.Context, id telephony.CallID) error {
	var c *call
	return p.runLineOp(ctx, id, telephony.OpResume, lineSteps{
		begin: func(o *lineOp) error {
			c = o.c
			if err := telephony.Check(c.info.State, telephony.OpResume); err != nil {
				return err
			}
			if c.info.State == telephony.StateActive {
				return errNothingToDo
			}
			o.holdOthersLocked()
			return nil
		},
		wait: func() error { return c.sess().Unhold(ctx) },
		end: func(o *lineOp, waited error) error {
			if waited != nil {
				return waited
			}
			return o.activateLocked(telephony.EvResumed, nil)
		},
	})
}

// holdLive holds the live line, if any, other than c (a call the console
// places takes the headset).
func (p *Phone) holdLive(ctx context.Context, c *call) {
	p.mu.Lock()
	o := &lineOp{p: p, op: telephony.OpHold, c: c} // it claims only the calls it holds
	o.holdOthersLocked()
	p.mu.Unlock()
	o.apply(ctx)
}

// goLive makes c, answered by its far end (or taken back from a relay
// park), the live line by ev; update changes it in the same moment.
func (p *Phone) goLive(ctx context.Context, c *call, ev telephony.CallEvent, update func(c *call)) error {
	p.mu.Lock()
	o := &lineOp{p: p, op: telephony.OpHold, c: c} // it claims only the calls it holds
	err := o.activateLocked(ev, update)
	p.mu.Unlock()
	o.apply(ctx)
	return err
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
		if c.claim != nil {
			return fmt.Errorf("sip: reject %s: its %s is under way: %w", id, c.claim.opOn(c), ErrWrongState)
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

// outbound describes a call the console places.
type outbound struct {
	uri      sip.Uri
	headers  []sip.Header
	retrieve int  // orbit, for a retrieve
	safe     bool // retrieve with our token
	// memory is whom this console parked on the orbit retrieved (a
	// certain park, or, with maybeOf, an uncertain one that may be on
	// it, likely the likeliest candidate): the call is named after it
	// until the PBX names the caller.
	memory  *telephony.Call
	maybeOf *call
	likely  bool
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
	c.maybeOf = o.maybeOf
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
	p.holdLive(ctx, c)

	d, err := p.dg.NewDialog(o.uri, diago.NewDialogOptions{Transport: p.net.routedTransport(o.uri)})
	if err != nil {
		p.finish(c, endAs(telephony.EndFailed, "cannot place the call: "+err.Error()))
		return
	}
	defer func() { d.Close() }() // the last dialog tried
	callID := sip.CallIDHeader(sip.GenerateTagN(24))
	p.mu.Lock()
	c.cli = d
	c.sipCallID = string(callID)
	p.byCallID[c.sipCallID] = c
	p.mu.Unlock()

	hdrs := append([]sip.Header{p.fromHeader("", ""), &callID}, o.headers...)
	if p.net.route != nil {
		hdrs = append(hdrs, sip.HeaderClone(p.net.route))
	}
	invite := diago.InviteClientOptions{
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
	}
	m, err := d.Invite(ctx, invite)
	if err != nil && p.srtpOfferRefused(d, err) {
		d, m, err = p.inviteInPlain(ctx, c, d, o.uri, invite)
	}
	if err != nil {
		p.finish(c, c.dialFailure(err))
		return
	}
	if err := d.Ack(ctx); err != nil {
		p.finish(c, endAs(telephony.EndFailed, "call not confirmed: "+err.Error()))
		return
	}
	var found *call // an uncertain park the retrieve brought back
	if o.retrieve != 0 {
		p.mu.Lock()
		named := false
		if n, u, ok := identityIn(d.InviteResponse, "P-Asserted-Identity", "X-Park-Caller"); ok {
			_, found = p.parking.retrieveNamedLocked(c, n, u)
			named = true
		}
		if !named && o.memory != nil && o.maybeOf == nil {
			c.info.RemoteName, c.info.RemoteURI, c.guessed = o.memory.RemoteName, o.memory.RemoteURI, true
		}
		p.mu.Unlock()
	}
	if found != nil {
		p.changed(found)
	}
	l, err := c.newLeg(m)
	if err == nil {
		err = p.goLive(ctx, c, telephony.EvAnswered, func(c *call) {
			c.leg = l
			c.info.Answered = time.Now()
		})
		if err != nil {
			l.close()
		}
	}
	if err == nil && o.maybeOf != nil {
		// Whom it probably brings back, until the PBX says.
		p.mu.Lock()
		guess := c.maybeOf != nil && c.info.State == telephony.StateActive
		if guess {
			c.info.Reason = guessWords(o)
		}
		p.mu.Unlock()
		if guess {
			p.changed(c)
		}
	}
	if err == nil {
		select {
		case <-d.Context().Done():
		case <-p.ctx.Done():
		}
	}
	p.finish(c, ending{})
}

// dialFailure says why a call we placed did not connect.
func (c *call) dialFailure(err error) ending {
	p := c.p
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

// onReinvite shows a remote hold or resume from a re-INVITE's SDP, and
// names a retrieved call after the caller it asserts (Asterisk with
// sendrpid=pai sends it only in a re-INVITE after the bridge).
func (p *Phone) onReinvite(req *sip.Request) {
	c := p.byDialogCallID(req)
	if c == nil {
		return
	}
	p.identityFrom(c, req)
	if len(req.Body()) == 0 {
		return
	}
	held := sdpHolds(req.Body())
	p.mu.Lock()
	if c.info.RemoteHold == held || c.info.State == telephony.StateEnded {
		p.mu.Unlock()
		return
	}
	c.info.RemoteHold = held
	p.mu.Unlock()
	p.changed(c)
}

// identityFrom names retrieve call c after the caller an in-dialog
// request from the PBX asserts (P-Asserted-Identity, Remote-Party-ID).
func (p *Phone) identityFrom(c *call, req *sip.Request) {
	n, u, ok := identityIn(req, "P-Asserted-Identity", "Remote-Party-ID")
	if !ok {
		return
	}
	p.mu.Lock()
	changed, found := false, (*call)(nil)
	if c.info.State != telephony.StateEnded {
		changed, found = p.parking.retrieveNamedLocked(c, n, u)
	}
	p.mu.Unlock()
	if found != nil {
		p.changed(found)
	}
	if changed {
		p.log.Info("retrieved call named by the PBX", "call", c.id, "name", n, "uri", u)
		p.changed(c)
	}
}

// identityIn is the identity in the first of the headers m has that
// parses.
func identityIn(m interface{ GetHeader(string) sip.Header }, names ...string) (name, uri string, ok bool) {
	for _, h := range names {
		if v := m.GetHeader(h); v != nil {
			if n, u, ok := parseIdentity(v.Value()); ok {
				return n, u, true
			}
		}
	}
	return "", "", false
}

// onInfoDTMF takes a SIP INFO that carries a DTMF digit (the
// application/dtmf-relay of many PBXs and phones, or application/dtmf)
// in the dialog of one of our calls: it answers 200 and publishes the
// digit. It reports whether it took the request; diago answers the
// others (406, or 481 outside our dialogs).
func (p *Phone) onInfoDTMF(req *sip.Request, tx sip.ServerTransaction) bool {
	ct := req.ContentType()
	if ct == nil {
		return false
	}
	d, ok := parseInfoDTMF(ct.Value(), req.Body())
	if !ok {
		return false
	}
	c := p.byDialogCallID(req)
	if c == nil {
		return false
	}
	// The digit goes out before the 200: the 200 lets the far end send
	// its next INFO, whose handler would otherwise race this one to emit.
	p.dtmfReceived(c.id, d)
	if err := tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)); err != nil {
		p.log.Debug("answering INFO", "call", c.id, "error", err)
	}
	return true
}

// parseInfoDTMF reads the digit of an INFO body of content type ct:
// "Signal=5" lines of application/dtmf-relay (the signal may be an
// RFC 4733 event number, 10 for *, 11 for #), or the bare digit of
// application/dtmf.
func parseInfoDTMF(ct string, body []byte) (rune, bool) {
	ct, _, _ = strings.Cut(ct, ";")
	var sig string
	switch strings.ToLower(strings.TrimSpace(ct)) {
	case "application/dtmf-relay":
		for _, line := range strings.Split(string(body), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
				sig = strings.TrimSpace(v)
				break
			}
		}
	case "application/dtmf":
		sig = strings.TrimSpace(string(body))
	default:
		return 0, false
	}
	if n, err := strconv.Atoi(sig); err == nil && n >= 10 && n <= 15 {
		return rune("*#ABCD"[n-10]), true
	}
	sig = strings.ToUpper(sig)
	if len(sig) != 1 || validDTMF(sig) != nil {
		return 0, false
	}
	return rune(sig[0]), true
}

// sdpHolds reports whether an SDP offer puts us on hold: sendonly or
// inactive audio, or the old c=0.0.0.0.
func sdpHolds(body []byte) bool {
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "a=sendonly", line == "a=inactive":
			return true
		case strings.HasPrefix(line, "c=") && strings.HasSuffix(line, " 0.0.0.0"):
			return true
		}
	}
	return false
}
