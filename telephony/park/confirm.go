package park

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// ackWait is how long a 2xx of the service waits for its ACK: 64×T1, the
// time RFC 3261 §13.3.1.4 retransmits it for. Options.ackWait overrides
// it in tests.
var ackWait = 64 * sip.T1

// maxPendingPerSource caps the parks one source address may have whose
// 2xx it has not ACKed yet: each holds an orbit for up to ackWait, so
// without a cap about 20 never-ACKed INVITEs every 32 s would keep the
// default lot full for everyone. A phone ACKs within a round trip, so
// even a proxy that carries every park of a site rarely has more than
// one pending.
const maxPendingPerSource = 4

// InstanceHeader is the header that carries the service's instance ID
// (PARK-PROTOCOL.md "Restarts are visible").
const InstanceHeader = "X-Park-Instance"

// errNoAck is a 2xx whose ACK did not come within the ACK wait.
var errNoAck = errors.New("no ACK to the 2xx")

// errStopped is a step cut short by Close with a store: the call is left
// as the store has it, for the next start.
var errStopped = errors.New("service stopped; the call is kept")

// newInstanceID is 16 random hex digits.
func newInstanceID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// instanceHeader is s's X-Park-Instance header.
func (s *Service) instanceHeader() sip.Header { return sip.NewHeader(InstanceHeader, s.instance) }

// sourceHost is the address a request came from, without the port: the
// key of the per-source cap.
func sourceHost(req *sip.Request) string {
	src := req.Source()
	if h, _, err := net.SplitHostPort(src); err == nil {
		return h
	}
	return src
}

// holdPendingLocked counts c as an unconfirmed park of source; false when
// source has maxPendingPerSource already. s.mu is held.
func (s *Service) holdPendingLocked(c *parkedCall, source string) bool {
	if s.pending[source] >= maxPendingPerSource {
		return false
	}
	s.pending[source]++
	c.pendingFrom = source
	return true
}

// releasePendingLocked stops counting c as unconfirmed (its ACK came, or
// it left); s.mu is held. It is a no-op for a call not counted.
func (s *Service) releasePendingLocked(c *parkedCall) {
	if c.pendingFrom == "" {
		return
	}
	if s.pending[c.pendingFrom]--; s.pending[c.pendingFrom] <= 0 {
		delete(s.pending, c.pendingFrom)
	}
	c.pendingFrom = ""
}

// retryAfter is the Retry-After of a refusal for too many pending parks:
// by then every pending park has been ACKed or freed.
func (s *Service) retryAfter() sip.Header {
	return sip.NewHeader("Retry-After", strconv.Itoa(int((s.opts.ackWait+time.Second-1)/time.Second)))
}

// answer sends the 2xx res to d's INVITE (tx) and waits for its ACK, at
// most the ACK wait (64×T1). No media flows before it returns nil: the
// callers link media only on the ACK, so a forged INVITE naming someone
// else's address gets that address nothing.
//
// When no ACK came by then, or the service is closing, expired runs at
// once (the caller frees what the 2xx held), the transaction is ended so
// the 2xx is not retransmitted any more, and answer returns errNoAck once
// sipgo has stopped (at its next retransmission, at most T2 later): the
// caller then hangs the dialog up with a BYE (RFC 3261 §13.3.1.4). A BYE
// before the ACK ends the wait with sipgo's error.
func (s *Service) answer(d *sipgo.DialogServerSession, tx sip.ServerTransaction, res *sip.Response, expired func()) error {
	done := make(chan error, 1)
	go func() { done <- d.WriteResponse(res) }() // ends with the ACK, a BYE or tx's end
	t := time.NewTimer(s.opts.ackWait)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
	case <-s.closing:
		if s.keeps() {
			// Stopping keeps the call: the store has it, and the next
			// start takes it back as confirmed; the 2xx goes unanswered
			// here, its transport closes with the service.
			return errStopped
		}
	}
	tx.Terminate()
	if expired != nil {
		expired()
	}
	<-done
	return errNoAck
}
