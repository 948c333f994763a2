// Lines, handed over: blind and attended transfer by REFER. The hold
// before the REFER runs as a line operation (lines.go).

package sip

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony"
)

// transferAttempt is a REFER in progress.
type transferAttempt struct {
	target string
	notify chan int
}

// BlindTransfer REFERs the far end of a call to target (a number or SIP
// URI). The call is held meanwhile; when the far end reports the new
// call answered (NOTIFY 200) our leg ends, otherwise the call stays held
// with the reason.
func (p *Phone) BlindTransfer(ctx context.Context, id telephony.CallID, target string) error {
	u, err := p.parseTarget(target)
	if err != nil {
		return err
	}
	return p.transfer(ctx, id, nil, u, uriString(u))
}

// AttendedTransfer connects the far ends of id and consult (a call this
// console placed or answered to consult the target): the far end of id
// is REFERred to consult's far end with Replaces (RFC 3891), and both of
// our legs end.
func (p *Phone) AttendedTransfer(ctx context.Context, id, consult telephony.CallID) error {
	cc, err := p.lookup(consult)
	if err != nil {
		return err
	}
	if id == consult {
		return fmt.Errorf("sip: attended transfer of %s to itself: %w", id, ErrWrongState)
	}
	s := cc.sess()
	p.mu.Lock()
	st := cc.info.State
	p.mu.Unlock()
	if err := telephony.Check(st, telephony.OpTransfer); err != nil {
		return fmt.Errorf("sip: attended transfer: consult call %s: %w", consult, err)
	}
	if s == nil {
		return fmt.Errorf("sip: attended transfer: consult call %s (%s): %w", consult, st, ErrWrongState)
	}
	dlg := s.DialogSIP()
	callID := string(*dlg.InviteRequest.CallID())
	var local, remote string
	var target sip.Uri
	if cc.srv != nil {
		local, _ = dlg.InviteResponse.To().Params.Get("tag")
		remote, _ = dlg.InviteRequest.From().Params.Get("tag")
		target = cc.srv.RemoteContact().Address
	} else {
		local, _ = dlg.InviteRequest.From().Params.Get("tag")
		remote, _ = dlg.InviteResponse.To().Params.Get("tag")
		target = cc.cli.RemoteContact().Address
	}
	// Replaces names the dialog as its recipient (the consulted party)
	// sees it: to-tag is its tag, from-tag ours.
	replaces := callID + ";to-tag=" + remote + ";from-tag=" + local
	target = *target.Clone()
	target.UriParams = sip.NewParams()
	target.Headers = sip.NewParams()
	target.Headers.Add("Replaces", url.QueryEscape(replaces))
	return p.transfer(ctx, id, cc, target, uriString(target))
}

// checkHandOver checks that call c may be handed over by op with a
// REFER (a park or a transfer): it must be active or held, with no park
// or transfer under way. p.mu is held.
func checkHandOver(c *call, op telephony.Op) error {
	if err := telephony.Check(c.info.State, op); err != nil {
		return err
	}
	if c.park != nil || c.transfer != nil {
		return fmt.Errorf("%s a call being handed over: %w", op, ErrWrongState)
	}
	return nil
}

// transfer REFERs call id to target and owns the outcome; consult, when
// set, is the consultation call that the transfer replaces.
func (p *Phone) transfer(ctx context.Context, id telephony.CallID, consult *call, target sip.Uri, label string) error {
	t := &transferAttempt{target: label, notify: make(chan int, 8)}
	// The call (and the consultation call) go on hold over the network
	// first: the caller may hang up meanwhile.
	var c *call
	err := p.runLineOp(ctx, id, telephony.OpTransfer, lineSteps{
		begin: func(o *lineOp) error {
			c = o.c
			if err := checkHandOver(c, telephony.OpTransfer); err != nil {
				return err
			}
			if consult != nil && p.calls[consult.id] != consult {
				return fmt.Errorf("consult call %s: %w", consult.id, ErrNoSuchCall)
			}
			c.transfer = t
			o.holdLocked(c)
			if consult != nil {
				o.holdLocked(consult)
			}
			return nil
		},
	})
	if err != nil {
		return err
	}

	rctx, cancel := context.WithTimeout(ctx, p.cfg.Park.Timeout+DefaultParkTimeout)
	defer cancel()
	err = c.refer(rctx, target, []sip.Header{sip.NewHeader("Referred-By", "<"+p.aor.String()+">")}, func(code int) {
		select {
		case t.notify <- code:
		default:
		}
	})
	if err != nil {
		code := 0
		if res := responseOf(err); res != nil {
			code = res.StatusCode
		}
		c.transferDone(t, fmt.Sprintf("transfer to %s refused: %v", label, err), telephony.TransferRefused, code)
		return fmt.Errorf("sip: transfer %s: %w", id, err)
	}
	p.wg.Go(func() { p.awaitTransfer(c, consult, t) })
	return nil
}

func (p *Phone) awaitTransfer(c *call, consult *call, t *transferAttempt) {
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	ended := c.sess().Context().Done()
	for {
		select {
		case code := <-t.notify:
			if code < 200 {
				continue
			}
			if code >= 300 {
				c.transferDone(t, fmt.Sprintf("transfer to %s failed (%d)", t.target, code), transferFailureOf(code), code)
				return
			}
			p.mu.Lock()
			c.transfer = nil
			c.endReason = endAs(telephony.EndTransferred, "transferred to "+t.target)
			if consult != nil && !consult.endReason.set() {
				consult.endReason = endAs(telephony.EndTransferred, "")
			}
			p.mu.Unlock()
			_ = c.endLeg(p.ctx)
			if consult != nil {
				// The consulted party ends the replaced dialog itself;
				// give it a moment, then end it from our side.
				select {
				case <-consult.sess().Context().Done():
				case <-time.After(2 * time.Second):
					_ = consult.endLeg(p.ctx)
				case <-p.ctx.Done():
				}
			}
			return
		case <-timeout.C:
			c.transferDone(t, fmt.Sprintf("transfer to %s: no outcome", t.target), telephony.TransferNoOutcome, 0)
			return
		case <-ended:
			return
		case <-p.ctx.Done():
			return
		}
	}
}

// transferDone ends a failed transfer: the call stays held, with why
// (Call.Reason for the eye, TransferFailed for the window to decide by).
func (c *call) transferDone(t *transferAttempt, reason string, why telephony.TransferFailure, code int) {
	mine := false
	c.attemptFailed("transfer failed", reason, func() bool {
		if c.transfer != t {
			return false
		}
		c.transfer = nil
		mine = true
		return true
	})
	if mine {
		c.p.emit(telephony.TransferFailed{Call: c.id, Target: t.target, Why: why, Code: code})
	}
}

// transferFailureOf is why a transfer failed, from the status of the
// new call the caller's side reported (the REFER NOTIFY's sipfrag).
func transferFailureOf(code int) telephony.TransferFailure {
	switch code {
	case sip.StatusBusyHere, sip.StatusGlobalBusyEverywhere:
		return telephony.TransferBusy
	case sip.StatusRequestTimeout, sip.StatusTemporarilyUnavailable, sip.StatusRequestTerminated:
		return telephony.TransferNoAnswer
	case sip.StatusNotFound, 484, 604:
		return telephony.TransferNoSuchPerson
	case sip.StatusForbidden, sip.StatusGlobalDecline:
		return telephony.TransferDeclined
	}
	return telephony.TransferFailedOther
}
