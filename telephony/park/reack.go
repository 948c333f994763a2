package park

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// sentAcks keeps, for as long as RFC 6026's Timer M (64·T1) would keep
// the transaction, the ACK the service sent for each 2xx to one of its
// re-INVITEs, so that a copy of that 2xx (a caller retransmits it until
// our ACK reaches it, RFC 3261 §13.3.1.4) is ACKed again. It stands in
// for the re-INVITE's client transaction, which the service ends once it
// has ACKed: in sipgo's Accepted state the transaction kept the
// re-INVITE, its 2xx and the ACK, parsed, for those 32 s, ~6 KB a
// retrieve, where an entry here is the ACK as sent, under 1 KB
// (docs/BENCHMARKS.md, "Soak").
type sentAcks struct {
	life time.Duration

	mu     sync.Mutex
	byKey  map[ackKey]*sentAck
	order  []*sentAck  // oldest first: every entry lives life
	timer  *time.Timer // drops the oldest at its expiry; nil when empty
	closed bool
}

// ackKey names the 2xx an ACK answers: its dialog's Call-ID and the
// re-INVITE's CSeq number.
type ackKey struct {
	callID string
	seq    uint32
}

// sentAck is one ACK as it went out.
type sentAck struct {
	key       ackKey
	expires   time.Time
	wire      []byte
	transport string
	dest      string
}

func newSentAcks(life time.Duration) *sentAcks {
	return &sentAcks{life: life, byKey: make(map[ackKey]*sentAck)}
}

// add keeps ack, just sent, for the 2xx with its Call-ID and CSeq number.
func (a *sentAcks) add(ack *sip.Request) {
	callID, cseq := ack.CallID(), ack.CSeq()
	if callID == nil || cseq == nil {
		return
	}
	e := &sentAck{
		// Cloned: the parsed headers' strings can share the backing
		// array of a whole message.
		key:       ackKey{callID: strings.Clone(callID.Value()), seq: cseq.SeqNo},
		wire:      []byte(ack.String()),
		transport: strings.Clone(ack.Transport()),
		dest:      strings.Clone(ack.Destination()),
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	e.expires = time.Now().Add(a.life)
	a.byKey[e.key] = e
	a.order = append(a.order, e)
	if a.timer == nil {
		a.timer = time.AfterFunc(a.life, a.expire)
	}
}

// again returns a copy of the ACK sent for the 2xx with Call-ID callID
// and CSeq number seq, ready to send, if it is still kept.
func (a *sentAcks) again(callID string, seq uint32) (*sip.Request, error) {
	a.mu.Lock()
	e := a.byKey[ackKey{callID: callID, seq: seq}]
	a.mu.Unlock()
	if e == nil || time.Now().After(e.expires) {
		return nil, nil
	}
	msg, err := sip.ParseMessage(e.wire)
	if err != nil {
		return nil, fmt.Errorf("the ACK kept does not parse: %w", err)
	}
	ack, ok := msg.(*sip.Request)
	if !ok {
		return nil, fmt.Errorf("the ACK kept parses as a %T", msg)
	}
	ack.SetTransport(e.transport)
	ack.SetDestination(e.dest)
	return ack, nil
}

// expire drops the entries whose time is up and arms the timer for the
// next; the timer is the only thing that ages entries out.
func (a *sentAcks) expire() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	now := time.Now()
	n := 0
	for n < len(a.order) && !a.order[n].expires.After(now) {
		e := a.order[n]
		if a.byKey[e.key] == e {
			delete(a.byKey, e.key)
		}
		a.order[n] = nil
		n++
	}
	a.order = a.order[n:]
	if len(a.order) == 0 {
		a.order, a.timer = nil, nil
		return
	}
	if n > 0 && cap(a.order) > 2*len(a.order) {
		a.order = append([]*sentAck(nil), a.order...) // let the drained front go
	}
	a.timer.Reset(a.order[0].expires.Sub(now))
}

// len is how many ACKs are kept.
func (a *sentAcks) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.byKey)
}

// close stops the timer and drops every entry.
func (a *sentAcks) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	a.byKey, a.order = nil, nil
}

// onStrayResponse takes a response no client transaction matched: a
// retransmitted 2xx to one of the service's re-INVITEs is ACKed again
// with the ACK sent for the first; anything else (late, duplicated,
// forged) is logged and dropped, as RFC 3261 §17.1.1.2 leaves it to the
// core.
func (s *Service) onStrayResponse(res *sip.Response) {
	callID, cseq := res.CallID(), res.CSeq()
	if callID == nil || cseq == nil || cseq.MethodName != sip.INVITE || !res.IsSuccess() {
		s.log.Debug("response matching no transaction dropped", "status", res.StatusCode, "source", res.Source())
		return
	}
	ack, err := s.acks.again(callID.Value(), cseq.SeqNo)
	if err != nil {
		s.log.Warn("2xx to a re-INVITE not ACKed again", "call_id", callID.Value(), "error", err)
		return
	}
	if ack == nil {
		s.log.Debug("2xx matching no ACK sent dropped", "call_id", callID.Value(), "cseq", cseq.SeqNo, "source", res.Source())
		return
	}
	if err := s.clientFor(ack.Transport()).WriteRequest(ack, asIs); err != nil {
		s.log.Debug("ACK of a retransmitted 2xx not sent", "call_id", callID.Value(), "error", err)
	}
}
