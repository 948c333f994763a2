// The subscription layer: RFC 6665 subscriptions to the dialog event
// package (RFC 4235), kept alive (subscribe, refresh, re-subscribe after
// a failure, a termination or a restart of the far end, unsubscribe),
// and the NOTIFYs that feed them. The orbit lamps (lamps.go) and the
// colleagues' presence (presence.go) are both made of these.

package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/dialoginfo"
)

// subscription is one dialog subscription. sipgo has no subscription
// layer, so it keeps its dialog itself; its NOTIFYs reach it through
// the phone's subscriptions (p.subs).
type subscription struct {
	name string  // the call-ID's prefix and the logs' name: "lamp-701", "presence-201"
	uri  sip.Uri // what is subscribed to
	kick chan struct{}
	// noted is told of every NOTIFY of the subscription, once answered.
	noted func(n notice)
	// faulted is told of every failed SUBSCRIBE.
	faulted func(f telephony.LampFault, err error)

	// applying is held by a NOTIFY from its CSeq check until what it
	// said is taken (sipgo hands each request to a goroutine of its
	// own, so two NOTIFYs may be handled at once); it guards applied.
	applying sync.Mutex
	// applied is the dialog (Call-ID) and CSeq of the last NOTIFY taken:
	// one of that dialog with a lower CSeq came late and is refused.
	applied struct {
		callID string
		cseq   uint32
	}

	mu      sync.Mutex
	callID  string
	from    sip.FromHeader
	to      sip.ToHeader // with the service's tag once known
	target  sip.Uri
	cseq    uint32
	version int64 // last document version; -1 before the first
	active  bool
	final   chan struct{} // closed by the NOTIFY that ends an unsubscribe
	// peers are the addresses the subscription's NOTIFYs may come from:
	// its next hop and whoever answered the SUBSCRIBE. A NOTIFY from
	// anywhere else changes nothing.
	peers []netip.Addr
	// instance is the X-Park-Instance of the service this subscription
	// lives on ("" for a PBX that sends none).
	instance string
	// dialog is its route set and when it was last heard from (subroute.go).
	dialog dialogRoute
}

// newSubscription returns a subscription to uri, not yet subscribed.
func newSubscription(name string, uri sip.Uri) *subscription {
	return &subscription{name: name, uri: uri, kick: make(chan struct{}, 1), version: -1,
		noted: func(notice) {}, faulted: func(telephony.LampFault, error) {}}
}

// notice is what one NOTIFY of a subscription said.
type notice struct {
	// doc is the dialog-info document when fresh: a full one, or a
	// partial one newer than the last.
	doc   dialoginfo.Document
	fresh bool
	// terminated: the far end ended the subscription (state says how).
	terminated bool
	state      string
	// backend is the service holding the subscription (backendKey of
	// the dialog's target); instance its X-Park-Instance, if it sent one.
	backend, instance string
}

// subscriptions are the phone's dialog subscriptions by Call-ID, for
// the NOTIFYs. The zero value is ready.
type subscriptions struct {
	mu       sync.Mutex
	byCallID map[string]*subscription
}

// rekey files s under a new Call-ID; s.mu is held.
func (r *subscriptions) rekey(s *subscription, callID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byCallID == nil {
		r.byCallID = make(map[string]*subscription)
	}
	delete(r.byCallID, s.callID)
	s.callID = callID
	r.byCallID[callID] = s
}

// forget drops s (a subscription nobody keeps any more): its late
// NOTIFYs are answered 481.
func (r *subscriptions) forget(s *subscription) {
	s.mu.Lock()
	id := s.callID
	s.mu.Unlock()
	r.mu.Lock()
	if r.byCallID[id] == s {
		delete(r.byCallID, id)
	}
	r.mu.Unlock()
}

// count is the number of subscriptions filed (for tests and benchmarks).
func (r *subscriptions) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byCallID)
}

// refusedError is a SUBSCRIBE the far end answered with a failure.
type refusedError struct {
	target string
	res    *sip.Response
}

func (e *refusedError) Error() string {
	return "SUBSCRIBE " + e.target + ": " + e.res.StartLine()
}

// keepSubscribed subscribes s, refreshes it before it expires and
// subscribes again after a failure or a termination, with back-off up to
// retryMax, until ctx ends or stop closes (nil: never); then it
// unsubscribes. A stop lets a SUBSCRIBE under way finish first, so that
// a subscription the far end made is ended, not left to expire there.
func (p *Phone) keepSubscribed(ctx context.Context, stop <-chan struct{}, s *subscription, expiry, retryMax time.Duration) {
	backoff := time.Second
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	for {
		s.mu.Lock()
		refresh := s.active
		silent := refresh && s.dialog.silent(time.Now())
		s.mu.Unlock()
		if silent {
			// Refreshes answered, but no NOTIFY for longer than the
			// expiry: a new subscription gets the state again.
			p.log.Info("subscription silent for longer than its expiry: subscribing again", "subscription", s.name)
			refresh = false
		}
		exp, err := p.subscribe(ctx, s, refresh, expiry)
		if refresh && err != nil && ctx.Err() == nil {
			// The service forgot the subscription (481), lost it (408) or
			// did not answer: a new one at once, not after a back-off.
			p.log.Info("subscription refresh failed: subscribing again", "subscription", s.name, "error", err)
			exp, err = p.subscribe(ctx, s, false, expiry)
		}
		var wait time.Duration
		switch {
		case ctx.Err() != nil || stopped():
			p.unsubscribe(s)
			return
		case err != nil:
			p.log.Debug("subscription failed", "subscription", s.name, "error", err, "retry", backoff)
			s.faulted(lampFaultOf(err), err)
			wait = backoff + rand.N(backoff/4+1)
			backoff = min(backoff*2, retryMax)
		default:
			backoff = time.Second
			// Refresh with a margin: at 80 % of the granted time.
			wait = max(exp*4/5, minimumRefreshInterval)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			p.unsubscribe(s)
			return
		case <-stop:
			t.Stop()
			p.unsubscribe(s)
			return
		case <-s.kick:
			t.Stop()
			// A kick after a failure or termination retries soon but not
			// in a tight loop.
			select {
			case <-ctx.Done():
				p.unsubscribe(s)
				return
			case <-stop:
				p.unsubscribe(s)
				return
			case <-time.After(time.Duration(rand.N(200)) * time.Millisecond):
			}
		case <-t.C:
		}
	}
}

// kickIfStale makes s subscribe afresh when it stands on backend and
// was made with another start of it than instance (the service
// restarted and forgot it); it reports whether it did.
func kickIfStale(s *subscription, backend, instance string) bool {
	s.mu.Lock()
	stale := s.active && s.instance != "" && s.instance != instance && backendKey(s.target) == backend
	if stale {
		s.active = false
	}
	s.mu.Unlock()
	if stale {
		kickSub(s)
	}
	return stale
}

// kickSub makes s subscribe afresh soon.
func kickSub(s *subscription) {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// subscribe sends SUBSCRIBE: a refresh within the dialog when refresh is
// set, else a new subscription. It returns the granted expiry.
func (p *Phone) subscribe(ctx context.Context, s *subscription, refresh bool, expiry time.Duration) (time.Duration, error) {
	s.mu.Lock()
	if !refresh {
		p.subs.rekey(s, s.name+"-"+sip.GenerateTagN(16))
		s.from = sip.FromHeader{Address: *p.aor.Clone(), Params: sip.NewParams()}
		s.from.Params.Add("tag", sip.GenerateTagN(16))
		s.to = sip.ToHeader{Address: s.uri, Params: sip.NewParams()}
		s.target = s.uri
		s.version = -1
		s.dialog.reset()
	}
	s.cseq++
	// A new subscription goes through the outbound proxy; a refresh
	// goes in the dialog: along its route set to the service's Contact.
	routed := !refresh && p.net.route != nil
	req := p.subRequest(s, sip.SUBSCRIBE, routed)
	target := s.target
	hop := target
	if routed {
		hop = p.net.route.Address
	}
	s.mu.Unlock()
	// The next hop of a new subscription may send the first NOTIFY
	// before we read the 200: know it as the peer before sending. A
	// refresh keeps the peers it has (no lookup per refresh).
	if !refresh {
		hopAddrs := resolveHost(ctx, hop.Host)
		s.mu.Lock()
		s.peers = addPeers(s.peers[:0], hopAddrs...)
		s.mu.Unlock()
	}
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expiry/time.Second))))
	req.AppendHeader(sip.NewHeader("Accept", dialoginfo.ContentType))
	if routed {
		req.AppendHeader(sip.HeaderClone(p.net.route))
	}
	client := p.net.clients[strings.ToLower(req.Transport())]
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := p.subSend(rctx, s, client, req)
	if err != nil {
		// A refresh cut short by Close leaves the subscription to
		// unsubscribe: the far end may well have it.
		if ctx.Err() == nil {
			s.mu.Lock()
			s.active = false
			s.mu.Unlock()
		}
		return 0, fmt.Errorf("SUBSCRIBE %s: %w", target.String(), err)
	}
	if !res.IsSuccess() {
		s.mu.Lock()
		s.active = false
		s.mu.Unlock()
		return 0, &refusedError{target: target.String(), res: res}
	}
	granted := expiry
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
			granted = time.Duration(n) * time.Second
		}
	}
	s.mu.Lock()
	if tag, ok := res.To().Params.Get("tag"); ok && tag != "" {
		s.to.Params.Remove("tag")
		s.to.Params.Add("tag", tag)
	}
	if c := res.Contact(); c != nil {
		s.target = c.Address
	}
	if a, ok := sourceAddr(res.Source()); ok {
		s.peers = addPeers(s.peers, a)
	}
	if h := res.GetHeader(instanceHeader); h != nil && strings.TrimSpace(h.Value()) != "" {
		// Which start of the service holds it, known before any NOTIFY
		// (a service that died before its first one is still taken for
		// restarted when a new one answers).
		s.instance = strings.TrimSpace(h.Value())
	}
	s.dialog.made(res, req.Transport(), !refresh, granted)
	s.active = true
	s.mu.Unlock()
	return granted, nil
}

// lampFaultOf is the kind of a subscription's failure.
func lampFaultOf(err error) telephony.LampFault {
	var refused *refusedError
	if !errors.As(err, &refused) {
		return telephony.LampNoAnswer
	}
	switch refused.res.StatusCode {
	case sip.StatusUnauthorized, sip.StatusForbidden, sip.StatusProxyAuthRequired:
		return telephony.LampRefused
	case sip.StatusNotFound:
		return telephony.LampNotFound
	case sip.StatusMethodNotAllowed, sip.StatusNotImplemented, 489: // Bad Event
		return telephony.LampNotOffered
	case sip.StatusRequestTimeout:
		return telephony.LampNoAnswer
	}
	return telephony.LampFailing
}

// subRequest builds an in-dialog (or initial) request of the
// subscription s, routed through the outbound proxy or not; s.mu is held.
func (p *Phone) subRequest(s *subscription, method sip.RequestMethod, routed bool) *sip.Request {
	req := sip.NewRequest(method, s.target)
	from, to := s.from, s.to
	from.Params = s.from.Params.Clone()
	to.Params = s.to.Params.Clone()
	callID := sip.CallIDHeader(s.callID)
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: s.cseq, MethodName: method})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	t := p.net.transportFor(s.target)
	if routed {
		t = p.net.routedTransport(s.target)
	} else {
		t = s.dialog.follow(&p.net, req, t)
	}
	ct := p.net.contact[t]
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Event", dialoginfo.EventName))
	req.SetTransport(strings.ToUpper(t))
	return req
}

// unsubscribe ends a subscription (Expires: 0) and waits, briefly, for
// the final NOTIFY, so that the service does not send it on to a closed
// socket.
func (p *Phone) unsubscribe(s *subscription) {
	s.mu.Lock()
	if !s.active {
		s.mu.Unlock()
		return
	}
	s.active = false
	s.cseq++
	final := make(chan struct{})
	s.final = final
	req := p.subRequest(s, sip.SUBSCRIBE, false)
	s.mu.Unlock()
	req.AppendHeader(sip.NewHeader("Expires", "0"))
	client := p.net.clients[strings.ToLower(req.Transport())]
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if res, err := p.subSend(ctx, s, client, req); err != nil || !res.IsSuccess() {
		return
	}
	select {
	case <-final:
	case <-ctx.Done():
	}
}

// subSend sends a request of subscription s, answering a digest
// challenge. The answer to a challenge goes with the next CSeq (sipgo's
// digest retry counts it up in req): the subscription's next request
// takes the one after, never one the far end has seen (res_pjsip
// answers a repeated CSeq 500, RFC 3261 §12.2.1.1).
func (p *Phone) subSend(ctx context.Context, s *subscription, client *sipgo.Client, req *sip.Request) (*sip.Response, error) {
	res, err := p.cfg.Account.do(ctx, client, req)
	if cs := req.CSeq(); cs != nil {
		s.mu.Lock()
		s.cseq = max(s.cseq, cs.SeqNo)
		s.mu.Unlock()
	}
	return res, err
}

// onNotify handles a NOTIFY of a dialog subscription; false means it is
// not one (a REFER's NOTIFY, say). A dialog NOTIFY of no subscription
// of ours is answered 481 (the service still sends on an old one); one
// from a stranger 403, one older than a NOTIFY already taken 500. The
// subscription is told what it said before the NOTIFY is answered.
func (r *subscriptions) onNotify(p *Phone, req *sip.Request, tx sip.ServerTransaction) bool {
	ev := req.GetHeader("Event")
	if ev == nil || !strings.EqualFold(dialoginfo.EventType(ev.Value()), dialoginfo.EventName) {
		return false
	}
	id := req.CallID()
	if id == nil {
		return false
	}
	r.mu.Lock()
	s := r.byCallID[string(*id)]
	r.mu.Unlock()
	if s == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist", nil))
		return true
	}
	s.mu.Lock()
	fromPeer := s.fromPeerLocked(req.Source())
	s.mu.Unlock()
	if !fromPeer {
		p.log.Warn("dialog NOTIFY from a stranger ignored", "subscription", s.name, "source", req.Source())
		res := sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil)
		res.AppendHeader(sip.NewHeader("Warning", `399 console "not the subscription's peer"`))
		_ = tx.Respond(res)
		return true
	}
	// An in-dialog request below the dialog's last CSeq is out of order
	// and refused 500 (RFC 3261 §12.2.2): a NOTIFY overtaken by a newer
	// one (its first copy lost, or another handled first) must not be
	// taken after it. The same CSeq is taken again (a copy of the last).
	s.applying.Lock()
	if cs := req.CSeq(); cs != nil {
		if last := s.applied.cseq; s.applied.callID == string(*id) && cs.SeqNo < last {
			s.applying.Unlock()
			p.log.Debug("dialog NOTIFY out of order refused", "subscription", s.name, "cseq", cs.SeqNo, "last", last)
			res := sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Internal Error", nil)
			res.AppendHeader(sip.NewHeader("Warning", `399 console "CSeq out of order"`))
			_ = tx.Respond(res)
			return true
		}
		s.applied.callID, s.applied.cseq = string(*id), cs.SeqNo
	}
	var n notice
	if h := req.GetHeader(instanceHeader); h != nil {
		n.instance = strings.TrimSpace(h.Value())
	}
	if st := req.GetHeader("Subscription-State"); st != nil {
		n.state = strings.TrimSpace(st.Value())
		n.terminated = strings.HasPrefix(strings.ToLower(n.state), "terminated")
	}
	var docErr error
	s.mu.Lock()
	if n.instance != "" {
		s.instance = n.instance
	}
	if tag, ok := req.From().Params.Get("tag"); ok && tag != "" {
		if cur, _ := s.to.Params.Get("tag"); cur == "" {
			s.to.Params.Add("tag", tag)
		}
	}
	if c := req.Contact(); c != nil {
		s.target = c.Address
	}
	s.dialog.heard = time.Now()
	n.backend = backendKey(s.target)
	if len(req.Body()) > 0 {
		n.doc, docErr = dialoginfo.Unmarshal(req.Body())
		// A full document is the whole truth whatever its version (a
		// restarted service counts from 0 again); a partial one only
		// when newer.
		if docErr == nil && (n.doc.State == dialoginfo.StateFull || int64(n.doc.Version) > s.version) {
			s.version = int64(n.doc.Version)
			n.fresh = true
		}
	} else if strings.HasPrefix(strings.ToLower(n.state), "active") {
		// An active subscription's NOTIFY without a body: the service
		// has no dialog published for the resource (Kamailio's presence
		// server for a user with no calls). That is the full state, with
		// no dialogs; a pending or ended subscription's says nothing.
		n.doc = dialoginfo.Document{State: dialoginfo.StateFull}
		n.fresh = true
	}
	if n.terminated {
		s.active = false
		if s.final != nil {
			close(s.final)
			s.final = nil
		}
	}
	s.mu.Unlock()
	if docErr != nil {
		p.log.Warn("dialog document", "subscription", s.name, "error", docErr)
	}
	s.noted(n)
	s.applying.Unlock()
	// Answered only once applied: a service that sends a subscription's
	// next NOTIFY after this one's answer (parkd, Asterisk) never has
	// two applied out of order.
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	if n.terminated {
		p.log.Info("subscription terminated", "subscription", s.name, "state", n.state)
		kickSub(s)
	}
	return true
}

// fromPeerLocked tells whether a NOTIFY from source may belong to the
// subscription: it comes from its next hop or from whoever answered the
// SUBSCRIBE. Before either is known (a NOTIFY racing its 200 from a
// host that did not resolve), it is taken. s.mu is held.
func (s *subscription) fromPeerLocked(source string) bool {
	if len(s.peers) == 0 {
		return true
	}
	a, ok := sourceAddr(source)
	return ok && slices.Contains(s.peers, a)
}
