package park

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// sentTable keeps SIP messages as the service sent them, each for life
// (64·T1, the RFC's Timer M and J), so that a copy of what they answered
// gets the same message again: the ACK of a re-INVITE's 2xx (keyOfAck),
// the final answer to a BYE over UDP (answeredOnce). It stands in for the
// transactions, which the service ends at once: in sipgo's Accepted and
// Completed states they kept the request and the response, parsed, for
// those 32 s, ~10 KB a park → retrieve → hang-up, where an entry here is
// one message as sent, under 1 KB (docs/BENCHMARKS.md, "Soak").
type sentTable[K comparable] struct {
	life time.Duration

	mu     sync.Mutex
	byKey  map[K]*sentMsg[K]
	order  []*sentMsg[K] // oldest first: every entry lives life
	timer  *time.Timer   // drops the oldest at its expiry; nil when empty
	closed bool
}

// sentMsg is one message as it went out.
type sentMsg[K comparable] struct {
	key       K
	expires   time.Time
	wire      []byte
	transport string
	dest      string
}

func newSentTable[K comparable](life time.Duration) *sentTable[K] {
	return &sentTable[K]{life: life, byKey: make(map[K]*sentMsg[K])}
}

// add keeps msg, just sent, under key.
func (t *sentTable[K]) add(key K, msg sip.Message) {
	e := &sentMsg[K]{
		key:  key,
		wire: []byte(msg.String()),
		// Cloned: a parsed message's strings can share the backing array
		// of the whole message.
		transport: strings.Clone(msg.Transport()),
		dest:      strings.Clone(msg.Destination()),
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	e.expires = time.Now().Add(t.life)
	t.byKey[key] = e
	t.order = append(t.order, e)
	if t.timer == nil {
		t.timer = time.AfterFunc(t.life, t.expire)
	}
}

// again returns a copy of the message kept under key, ready to send, or
// nil if none is kept.
func (t *sentTable[K]) again(key K) (sip.Message, error) {
	t.mu.Lock()
	e := t.byKey[key]
	t.mu.Unlock()
	if e == nil || time.Now().After(e.expires) {
		return nil, nil
	}
	msg, err := sip.ParseMessage(e.wire)
	if err != nil {
		return nil, fmt.Errorf("the message kept does not parse: %w", err)
	}
	msg.SetTransport(e.transport)
	msg.SetDestination(e.dest)
	return msg, nil
}

// expire drops the entries whose time is up and arms the timer for the
// next; the timer is the only thing that ages entries out.
func (t *sentTable[K]) expire() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	now := time.Now()
	n := 0
	for n < len(t.order) && !t.order[n].expires.After(now) {
		e := t.order[n]
		if t.byKey[e.key] == e {
			delete(t.byKey, e.key)
		}
		t.order[n] = nil
		n++
	}
	t.order = t.order[n:]
	if len(t.order) == 0 {
		t.order, t.timer = nil, nil
		return
	}
	if n > 0 && cap(t.order) > 2*len(t.order) {
		t.order = append([]*sentMsg[K](nil), t.order...) // let the drained front go
	}
	t.timer.Reset(t.order[0].expires.Sub(now))
}

// close stops the timer and drops every entry.
func (t *sentTable[K]) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	t.byKey, t.order = nil, nil
}

// ackKey names the 2xx an ACK answers: its dialog's Call-ID and the
// re-INVITE's CSeq number.
type ackKey struct {
	callID string
	seq    uint32
}

// keyOfAck is the key the ACK of a 2xx to one of the service's
// re-INVITEs is kept under (Service.acks), so that a copy of that 2xx (a
// caller retransmits it until our ACK reaches it, RFC 3261 §13.3.1.4) is
// ACKed again once the re-INVITE's client transaction has ended; ok is
// false if ack lacks a Call-ID or a CSeq.
func keyOfAck(ack *sip.Request) (_ ackKey, ok bool) {
	callID, cseq := ack.CallID(), ack.CSeq()
	if callID == nil || cseq == nil {
		return ackKey{}, false
	}
	return ackKey{callID: strings.Clone(callID.Value()), seq: cseq.SeqNo}, true
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
	msg, err := s.acks.again(ackKey{callID: callID.Value(), seq: cseq.SeqNo})
	ack, _ := msg.(*sip.Request)
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

// answering is a server transaction that remembers the first final
// response given through it.
type answering struct {
	sip.ServerTransaction
	mu    sync.Mutex
	final *sip.Response
}

// Respond sends res and remembers it if it is the first final one.
func (a *answering) Respond(res *sip.Response) error {
	err := a.ServerTransaction.Respond(res)
	if err == nil && !res.IsProvisional() {
		a.mu.Lock()
		if a.final == nil {
			a.final = res
		}
		a.mu.Unlock()
	}
	return err
}

func (a *answering) answer() *sip.Response {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.final
}

// answeredOnce wraps next, the handler of a non-INVITE request. Over UDP
// next's final answer is kept in s.answers and the transaction ended as
// next returns; a retransmission of the request, which then finds no
// transaction, gets the same answer from the table (what RFC 3261
// §17.2.2's Completed state does until Timer J) and next never sees it.
func (s *Service) answeredOnce(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if tx == nil || sip.IsReliable(sip.NetworkToLower(req.Transport())) {
			next(req, tx)
			return
		}
		key, err := sip.ServerTxKeyMake(req)
		if err != nil {
			next(req, tx)
			return
		}
		msg, err := s.answers.again(key)
		if err != nil {
			s.log.Warn("answer kept for a retransmitted request unusable; handled anew", "method", req.Method, "error", err)
		}
		if res, ok := msg.(*sip.Response); ok {
			if err := tx.Respond(res); err != nil {
				s.log.Debug("answer to a retransmitted request not sent", "method", req.Method, "error", err)
			}
			s.log.Debug("retransmitted request answered again", "method", req.Method, "status", res.StatusCode, "source", req.Source())
			tx.Terminate()
			return
		}
		a := &answering{ServerTransaction: tx}
		next(req, a)
		if res := a.answer(); res != nil {
			s.answers.add(key, res)
			tx.Terminate()
		}
	}
}
