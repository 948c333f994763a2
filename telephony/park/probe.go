package park

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Vanished callers. A parked phone that loses power or its network sends
// no BYE, and the service never hangs up a caller by itself, so without a
// check it would stay parked for ever, its lamp lit. Every
// Options.ProbeInterval the service sends each parked caller an in-dialog
// OPTIONS (RFC 3261 §11; RFC 5057 §5.1: an in-dialog request is how a UA
// learns whether its peer still knows the dialog). Any final answer but
// 481 and 408 means the phone is there (405 and 501 included: it answered
// in the dialog). 481 (the dialog is gone), 408, or no final answer for a
// whole interval (or before the transaction gives up, 64×T1) take the
// caller off its orbit as lost (an OPTIONS that could not be sent is sent
// again first: see options): event "lost", the lamp's terminated
// dialog with event="rejected", and a BYE, should the phone still hear.
// No answer from a caller whose RTP arrived within the interval is not a
// vanished phone: it stays parked (event "probe unanswered", a warning)
// and is probed again.
//
// RFC 4028 session timers are not used: a parked caller's phone rarely
// asks for them, and the probe needs nothing from it.

// startProbe runs c's probe on the service's background group when c is
// still parked (or ringing back). A call claimed by a retrieve is not
// probed: it leaves its orbit, or comes back to it with a new probe
// (requeue).
func (s *Service) startProbe(c *parkedCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closing: // Close is waiting for the group, or soon will
		return
	default:
	}
	if !s.lot.holds(c.orbit, c) || !c.allows(evProbed) {
		return
	}
	// Added under s.mu, which Close takes after closing s.closing and
	// before it waits for the group.
	s.bg.Go(func() { s.probe(c) })
}

// probe sends c's caller one in-dialog OPTIONS and waits up to one
// interval for its final answer; then it arms the next probe, or takes
// the caller off its orbit as lost.
func (s *Service) probe(c *parkedCall) {
	code, err := s.options(c.leg, c.orbit, s.opts.ProbeInterval)
	select {
	case <-s.closing:
		return
	default:
	}
	lost := err != nil || code == sip.StatusCallTransactionDoesNotExists || code == sip.StatusRequestTimeout
	// No answer at all while the caller's audio still arrives is a SIP
	// path that failed (a NAT binding that expired, a proxy that lost
	// the dialog's route), not a phone that vanished: hanging up would
	// cut off a caller who is there. A 481 or 408 is the phone's (or its
	// proxy's) own word, and stands.
	heard := err != nil && c.leg.media.heardWithin(s.opts.ProbeInterval)
	s.mu.Lock()
	still := s.lot.holds(c.orbit, c) && c.allows(evProbed) && !c.leg.isEnded()
	if still && (!lost || heard) {
		s.moveLocked(c, evProbed)
	}
	s.mu.Unlock()
	switch {
	case !still:
		return
	case !lost:
		s.sleep(c)
		s.saveLeg(c.leg) // its CSeq: a restart goes on above it
		s.log.Debug("park", "event", "probe answered", "orbit", c.orbit, "status", code)
		return
	case heard:
		s.log.Warn("park", "event", "probe unanswered", "orbit", c.orbit, "kept", "its audio arrives", "error", err)
		return
	}
	why := fmt.Sprintf("probe answered %d", code)
	switch {
	case errors.Is(err, errNotSent):
		why = "probe could not be sent: " + err.Error()
	case err != nil:
		why = "probe unanswered: " + err.Error()
	}
	s.unpark(c, "lost", "reason", why)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.leg.hangup(ctx, "lost")
}

// options sends l (a dialog the service is UAS of) an in-dialog OPTIONS
// and returns the final status; an error when none came within wait,
// the transaction failed or the service is closing.
//
// An OPTIONS the service could not send (errNotSent: a local send error
// such as a full socket buffer under load or a firewall reloading, a
// connection that could not be opened again) is sent again on Timer E's
// schedule, T1 doubling up to T2, within wait and at most 64×T1 after the
// first try, the time a phone gets to answer one: a phone is lost when it
// does not answer, not when the service's own send failed once. orbit
// names the caller's orbit in the log (0: a bridged leg's probe).
func (s *Service) options(l *sipLeg, orbit int, wait time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	giveUp := time.Now().Add(min(wait, 64*sip.T1))
	retry := sip.T1
	for attempt := 1; ; attempt++ {
		code, err := s.optionsOnce(ctx, l)
		if !errors.Is(err, errNotSent) || time.Now().Add(retry).After(giveUp) {
			return code, err
		}
		s.log.Warn("park", "event", "probe not sent", "orbit", orbit, "dialog", l.id, "attempt", attempt, "retry_in", retry, "error", err)
		t := time.NewTimer(retry)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, err
		case <-s.closing:
			t.Stop()
			return 0, errors.New("service stopping")
		}
		retry = min(2*retry, sip.T2)
	}
}

// errNotSent marks a request of the service's that did not leave it.
var errNotSent = errors.New("not sent")

// optionsOnce sends l one in-dialog OPTIONS and waits for its final
// answer until ctx ends.
func (s *Service) optionsOnce(ctx context.Context, l *sipLeg) (int, error) {
	uas := l.dialog() // wakes a sleeping caller (dormant.go)
	if uas == nil {
		return 0, errors.New("not a caller's dialog")
	}
	contact := uas.InviteRequest.Contact()
	if contact == nil {
		return 0, errors.New("the caller's INVITE has no Contact")
	}
	req := sip.NewRequest(sip.OPTIONS, *contact.Address.Clone())
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	tx, err := uas.TransactionRequest(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("OPTIONS %w: %w", errNotSent, err)
	}
	defer tx.Terminate()
	res, err := s.finalResponse(ctx, tx)
	if errors.Is(err, sip.ErrTransactionTransport) {
		return 0, fmt.Errorf("OPTIONS %w: %w", errNotSent, err)
	}
	if err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}
