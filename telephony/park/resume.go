package park

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// reinviteTimeout is how long resume waits for the caller's final answer
// to its re-INVITE before bridging anyway.
const reinviteTimeout = 4 * time.Second

// errNoFinal is a request of the service's (a re-INVITE, a probe) without
// a final answer in the time it was given.
var errNoFinal = errors.New("no final answer in time")

// glareBackoff is how long resume waits before it retries a re-INVITE
// refused with 491 Request Pending (the caller re-INVITEd at the same
// time). RFC 3261 §14.1 gives the UA that did not generate the dialog's
// Call-ID 0 to 2 s, in units of 10 ms, and the one that did 2.1 to 4 s,
// so that the two do not collide again: in a parked caller's dialog the
// caller generated the Call-ID (it sent the parking INVITE), so the
// service takes the 0 to 2 s.
func glareBackoff() time.Duration {
	return time.Duration(rand.IntN(201)) * 10 * time.Millisecond
}

// resume takes c's caller off hold before it is bridged, and reports
// whether the caller is still there to bridge (false: it hung up
// meanwhile, or the service is stopping). c is claimed (stateRetrieving).
//
// The park answer said sendonly (holdDirection), so a phone that honours
// it sends no audio. resume sends the caller an in-dialog re-INVITE
// whose SDP is the current one — same codec, payload numbers, address and
// m-lines — with the version incremented and sendrecv (RFC 3264 §8),
// waits for the 2xx and ACKs it; the bridge can be linked right after.
// A caller whose current SDP is not our sendonly (it re-INVITEd to hold
// us, or it was taken off hold by an earlier, failed retrieve) gets none.
//
// It never drops the caller. A 491 (glare) is retried once after
// glareBackoff. Any other failure — 488 or another refusal, no final
// answer within reinviteTimeout, a transport error, a second 491 — is
// logged as a warning and the call is bridged anyway: a phone that
// ignored our sendonly still sends and is heard; one that honoured it
// gives one-way audio (the caller hears the retriever, who can still
// speak, hang up, or have the caller re-dial), which is better than
// hanging up on a caller who waited on hold.
//
// Nothing puts a caller back on hold. A call whose ring-back nobody
// answered was never re-INVITEd (resume runs only once someone answered)
// and keeps its sendonly session. A call that returns to its orbit after
// a failed retrieve (requeue: the retriever never ACKed its 200) was
// taken off hold and stays sendrecv: its phone sends again and the
// service drops that RTP, as it did for every parked call before. A
// re-INVITE back to sendonly would be one more transaction that can fail
// or collide, for a rare case; its next retrieve needs no re-INVITE.
func (s *Service) resume(c *parkedCall) bool {
	l := c.leg
	l.mu.Lock()
	// A leg the peer called (no client dialog: uac is set only on the
	// ring-back's legs, before they are shared); takeOffHold wakes a
	// sleeping caller's dialog (dormant.go) only when it needs it.
	need := l.uac == nil && l.sdp.direction == "sendonly" && !l.ended
	l.mu.Unlock()
	if need {
		s.takeOffHold(c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.state == stateRetrieving && !l.isEnded()
}

// takeOffHold re-INVITEs c's caller with sendrecv, once more after a 491.
func (s *Service) takeOffHold(c *parkedCall) {
	for try := 1; ; try++ {
		code, err := s.reinvite(c.leg)
		if err == nil && code < 300 {
			s.event("taken off hold", c)
			return
		}
		if err == nil && code == sip.StatusRequestPending && try == 1 {
			t := time.NewTimer(glareBackoff())
			select {
			case <-t.C:
				continue
			case <-s.closing:
				t.Stop()
				return
			}
		}
		s.log.Warn("parked caller not taken off hold; bridging anyway (its audio may be one-way)",
			"orbit", c.orbit, "caller", c.callerString(), "status", code, "error", errString(err))
		return
	}
}

// reinvite sends l (a caller's dialog, the service its UAS) a re-INVITE
// offering l's current SDP with sendrecv and a new version. It returns
// the final status, having ACKed a 2xx and applied its answer; an error
// when there was none in reinviteTimeout (a 2xx that comes later is
// still ACKed, so the caller does not end the dialog for want of an ACK,
// RFC 3261 §13.3.1.4).
func (s *Service) reinvite(l *sipLeg) (int, error) {
	l.mu.Lock()
	if l.ended || l.reinviting {
		l.mu.Unlock()
		return 0, errors.New("call ended or being re-INVITEd")
	}
	p := l.sdp
	p.version = l.ver + 1
	p.direction = "sendrecv"
	l.reinviting = true
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.reinviting = false
		l.mu.Unlock()
	}()

	uas := l.dialog() // wakes a sleeping caller (dormant.go)
	if uas == nil {
		return 0, errors.New("the caller's dialog is gone")
	}
	contact := uas.InviteRequest.Contact()
	if contact == nil {
		return 0, errors.New("the caller's INVITE has no Contact")
	}
	req := sip.NewRequest(sip.INVITE, *contact.Address.Clone())
	req.SetBody(buildSDP(p))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ctx, cancel := context.WithTimeout(context.Background(), reinviteTimeout)
	defer cancel()
	tx, err := uas.TransactionRequest(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("re-INVITE: %w", err)
	}
	res, err := s.finalResponse(ctx, tx)
	if err != nil {
		if errors.Is(err, errNoFinal) {
			s.bg.Go(func() { s.ackLate(l, p, req, tx) })
		} else {
			tx.Terminate()
		}
		return 0, err
	}
	if res.IsSuccess() {
		// A non-2xx final answer is ACKed by the transaction.
		if err := s.ackReinvite(l, p, req, res, tx); err != nil {
			return 0, err
		}
	}
	return res.StatusCode, nil
}

// finalResponse reads tx's responses (a transaction blocks until each is
// read) until the final one, ctx's end (errNoFinal) or the service's.
func (s *Service) finalResponse(ctx context.Context, tx sip.ClientTransaction) (*sip.Response, error) {
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			select {
			case res := <-tx.Responses():
				if !res.IsProvisional() {
					return res, nil
				}
			default:
			}
			return nil, fmt.Errorf("transaction ended: %w", tx.Err())
		case <-ctx.Done():
			return nil, errNoFinal
		case <-s.closing:
			return nil, errors.New("service stopping")
		}
	}
}

// ackLate waits out a re-INVITE the service stopped waiting for and ACKs
// its 2xx if one comes; it ends with the transaction or the service.
func (s *Service) ackLate(l *sipLeg, p sdpParams, req *sip.Request, tx sip.ClientTransaction) {
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			if res.IsSuccess() {
				if err := s.ackReinvite(l, p, req, res, tx); err != nil {
					s.log.Debug("late re-INVITE answer not ACKed", "dialog", l.id, "error", err)
				}
			}
			return
		case <-tx.Done():
			return
		case <-s.closing:
			tx.Terminate()
			return
		}
	}
}

// ackReinvite ACKs the 2xx res to our re-INVITE req, offering p, and its
// retransmissions, ends tx, records p as l's current SDP and applies the
// answer.
func (s *Service) ackReinvite(l *sipLeg, p sdpParams, req *sip.Request, res *sip.Response, tx sip.ClientTransaction) error {
	target := req.Recipient
	if c := res.Contact(); c != nil {
		target = c.Address // a 2xx refreshes the remote target
	}
	ack := sip.NewRequest(sip.ACK, *target.Clone())
	uas := l.dialog()
	if uas == nil {
		return errors.New("ACK of the re-INVITE's 2xx: the caller's dialog is gone")
	}
	if err := uas.WriteRequest(ack); err != nil {
		return fmt.Errorf("ACK of the re-INVITE's 2xx: %w", err)
	}
	// The 2xx's copies are ACKed again from s.acks (sent.go), not by the
	// transaction, which goes now with the re-INVITE and the 2xx it holds
	// rather than 32 s later; one caught in between is handled alike.
	if k, ok := keyOfAck(ack); ok {
		s.acks.add(k, ack)
	}
	tx.OnRetransmission(s.onStrayResponse)
	tx.Terminate()
	l.mu.Lock()
	if p.version > l.ver {
		l.ver, l.sdp = p.version, p
	}
	l.mu.Unlock()
	ours, _ := s.media.ours(l.media)
	a, err := parseOfferPreferring(res.Body(), ours.codec)
	if err != nil {
		s.log.Warn("caller's answer to the re-INVITE is unusable; media left as it was", "dialog", l.id, "error", err)
		return nil
	}
	s.media.reanswer(l.media, a)
	return nil
}

// asIs is a client option that sends a request as it is built.
func asIs(*sipgo.Client, *sip.Request) error { return nil }
