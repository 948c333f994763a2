// The lamp board: one RFC 4235 subscription per orbit of the lot
// (lamps, lamp), the park service's health probe, and the orbits they
// light (applyLamp, updateOrbit: an orbit's state, matched to the parks
// of this console).

package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/dialoginfo"
)

// lamps keeps one RFC 4235 subscription per orbit and probes the park
// service with OPTIONS. sipgo has no subscription layer, so each lamp
// keeps its dialog itself; NOTIFYs arrive through the phone's middleware.
type lamps struct {
	p    *Phone
	subs map[int]*lamp // by orbit, fixed at creation

	mu       sync.Mutex
	byCallID map[string]*lamp
	// instances are the X-Park-Instance last seen of each park service
	// the console hears from, by backendKey: behind a proxy that splits
	// the lot, each backend has its own, and restarts on its own.
	instances map[string]string
	// faults are the orbits whose lamp failed, with why; fault is the
	// board's summary last logged (LampKnown when none failed).
	faults map[int]telephony.LampFault
	fault  telephony.LampFault
	// probes counts the health probes answered or given up (for tests).
	probes atomic.Int64
}

// lamp is the subscription to one orbit's dialog state.
type lamp struct {
	orbit int
	uri   sip.Uri
	kick  chan struct{} // re-subscribe now (terminated, service back)

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
}

// instanceHeader names the park service's start (PARK-PROTOCOL.md,
// "Restarts are visible").
const instanceHeader = "X-Park-Instance"

// refusedError is a SUBSCRIBE the far end answered with a failure.
type refusedError struct {
	target string
	res    *sip.Response
}

func (e *refusedError) Error() string {
	return "SUBSCRIBE " + e.target + ": " + e.res.StartLine()
}

func newLamps(p *Phone) *lamps {
	ls := &lamps{p: p, subs: make(map[int]*lamp), byCallID: make(map[string]*lamp), instances: make(map[string]string), faults: make(map[int]telephony.LampFault)}
	pc := p.cfg.Park
	for n := range pc.Orbits.All() {
		u, _ := expand(pc.Lamp, n, "")
		ls.subs[n] = &lamp{orbit: n, uri: u, kick: make(chan struct{}, 1), version: -1}
	}
	return ls
}

// run keeps every lamp subscribed and the health probe going until ctx
// ends; then it unsubscribes.
func (ls *lamps) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { ls.health(ctx) })
	for _, l := range ls.subs {
		wg.Go(func() { ls.keep(ctx, l) })
	}
	wg.Wait()
}

// kickAll makes every lamp subscribe afresh (the service came back and
// may have forgotten us).
func (ls *lamps) kickAll() {
	for _, l := range ls.subs {
		l.mu.Lock()
		l.active = false
		l.mu.Unlock()
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// keep subscribes to one lamp, refreshes it before it expires and
// subscribes again after a failure or a termination, with back-off.
func (ls *lamps) keep(ctx context.Context, l *lamp) {
	pc := ls.p.cfg.Park
	backoff := time.Second
	for {
		l.mu.Lock()
		refresh := l.active
		l.mu.Unlock()
		exp, err := ls.subscribe(ctx, l, refresh, pc.LampExpiry)
		if refresh && err != nil && ctx.Err() == nil {
			// The service forgot the subscription (481), lost it (408) or
			// did not answer: a new one at once, not after a back-off.
			ls.p.log.Info("lamp refresh failed: subscribing again", "orbit", l.orbit, "error", err)
			exp, err = ls.subscribe(ctx, l, false, pc.LampExpiry)
		}
		var wait time.Duration
		switch {
		case ctx.Err() != nil:
			ls.unsubscribe(l)
			return
		case err != nil:
			ls.p.log.Debug("lamp subscription failed", "orbit", l.orbit, "error", err, "retry", backoff)
			ls.lampFault(l.orbit, lampFaultOf(err), err)
			wait = backoff + rand.N(backoff/4+1)
			backoff = min(backoff*2, pc.LampRetryMax)
		default:
			backoff = time.Second
			// Refresh with a margin: at 80 % of the granted time.
			wait = max(exp*4/5, minimumRefreshInterval)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			ls.unsubscribe(l)
			return
		case <-l.kick:
			t.Stop()
			// A kick after a failure or termination retries soon but not
			// in a tight loop.
			select {
			case <-ctx.Done():
				ls.unsubscribe(l)
				return
			case <-time.After(time.Duration(rand.N(200)) * time.Millisecond):
			}
		case <-t.C:
		}
	}
}

// subscribe sends SUBSCRIBE: a refresh within the dialog when refresh is
// set, else a new subscription. It returns the granted expiry.
func (ls *lamps) subscribe(ctx context.Context, l *lamp, refresh bool, expiry time.Duration) (time.Duration, error) {
	p := ls.p
	l.mu.Lock()
	if !refresh {
		ls.mu.Lock()
		delete(ls.byCallID, l.callID)
		l.callID = "lamp-" + strconv.Itoa(l.orbit) + "-" + sip.GenerateTagN(16)
		ls.byCallID[l.callID] = l
		ls.mu.Unlock()
		l.from = sip.FromHeader{Address: *p.aor.Clone(), Params: sip.NewParams()}
		l.from.Params.Add("tag", sip.GenerateTagN(16))
		l.to = sip.ToHeader{Address: l.uri, Params: sip.NewParams()}
		l.target = l.uri
		l.version = -1
	}
	l.cseq++
	// A new subscription goes through the outbound proxy; a refresh
	// goes in the dialog, to the service's Contact.
	routed := !refresh && p.net.route != nil
	req := ls.request(l, sip.SUBSCRIBE, routed)
	target := l.target
	hop := target
	if routed {
		hop = p.net.route.Address
	}
	l.mu.Unlock()
	// The next hop of a new subscription may send the first NOTIFY
	// before we read the 200: know it as the peer before sending. A
	// refresh keeps the peers it has (no lookup per refresh).
	if !refresh {
		hopAddrs := resolveHost(ctx, hop.Host)
		l.mu.Lock()
		l.peers = addPeers(l.peers[:0], hopAddrs...)
		l.mu.Unlock()
	}
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expiry/time.Second))))
	req.AppendHeader(sip.NewHeader("Accept", dialoginfo.ContentType))
	if routed {
		req.AppendHeader(sip.HeaderClone(p.net.route))
	}
	client, _ := p.net.clientFor(target, routed)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := ls.send(rctx, l, client, req)
	if err != nil {
		// A refresh cut short by Close leaves the subscription to
		// unsubscribe: the far end may well have it.
		if ctx.Err() == nil {
			l.mu.Lock()
			l.active = false
			l.mu.Unlock()
		}
		return 0, fmt.Errorf("SUBSCRIBE %s: %w", target.String(), err)
	}
	if !res.IsSuccess() {
		l.mu.Lock()
		l.active = false
		l.mu.Unlock()
		return 0, &refusedError{target: target.String(), res: res}
	}
	granted := expiry
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
			granted = time.Duration(n) * time.Second
		}
	}
	l.mu.Lock()
	if tag, ok := res.To().Params.Get("tag"); ok && tag != "" {
		l.to.Params.Remove("tag")
		l.to.Params.Add("tag", tag)
	}
	if c := res.Contact(); c != nil {
		l.target = c.Address
	}
	if a, ok := sourceAddr(res.Source()); ok {
		l.peers = addPeers(l.peers, a)
	}
	l.active = true
	l.mu.Unlock()
	return granted, nil
}

// lampFaultOf is the kind of a lamp subscription's failure.
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

// lampFault records that orbit n's lamp failed (fault) or is known again
// (LampKnown): the orbit shows unknown, never free, while it fails. The
// board's health is logged once per change, at WARN when lamps fail.
func (ls *lamps) lampFault(n int, fault telephony.LampFault, err error) {
	ls.mu.Lock()
	if fault == telephony.LampKnown {
		delete(ls.faults, n)
	} else {
		ls.faults[n] = fault
	}
	summary := telephony.LampKnown
	for _, f := range ls.faults {
		summary = max(summary, f) // any order will do: the same faults give the same one
	}
	prev := ls.fault
	ls.fault = summary
	failed := len(ls.faults)
	ls.mu.Unlock()
	if summary != prev {
		if summary == telephony.LampKnown {
			ls.p.log.Info("orbit lamps known again")
		} else {
			ls.p.log.Warn("orbit lamps failing: their orbits are unknown", "fault", summary.String(), "lamps", failed, "error", err)
		}
	}
	ls.updateOrbit(n, func(cur telephony.Orbit) telephony.Orbit {
		cur.Lamp = fault
		return cur
	})
}

// request builds an in-dialog (or initial) request of the lamp's
// subscription, routed through the outbound proxy or not; l.mu is held.
func (ls *lamps) request(l *lamp, method sip.RequestMethod, routed bool) *sip.Request {
	req := sip.NewRequest(method, l.target)
	from, to := l.from, l.to
	from.Params = l.from.Params.Clone()
	to.Params = l.to.Params.Clone()
	callID := sip.CallIDHeader(l.callID)
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: l.cseq, MethodName: method})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	t := ls.p.net.transportFor(l.target)
	if routed {
		t = ls.p.net.routedTransport(l.target)
	}
	ct := ls.p.net.contact[t]
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Event", dialoginfo.EventName))
	req.SetTransport(strings.ToUpper(t))
	return req
}

// unsubscribe ends a lamp's subscription (Expires: 0) and waits, briefly,
// for the final NOTIFY, so that the service does not send it on to a
// closed socket.
func (ls *lamps) unsubscribe(l *lamp) {
	l.mu.Lock()
	if !l.active {
		l.mu.Unlock()
		return
	}
	l.active = false
	l.cseq++
	final := make(chan struct{})
	l.final = final
	req := ls.request(l, sip.SUBSCRIBE, false)
	target := l.target
	l.mu.Unlock()
	req.AppendHeader(sip.NewHeader("Expires", "0"))
	client, _ := ls.p.net.clientFor(target, false)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if res, err := ls.send(ctx, l, client, req); err != nil || !res.IsSuccess() {
		return
	}
	select {
	case <-final:
	case <-ctx.Done():
	}
}

// send sends a request of l's subscription, answering a digest
// challenge. The answer to a challenge goes with the next CSeq (sipgo's
// digest retry counts it up in req): the subscription's next request
// takes the one after, never one the far end has seen (res_pjsip
// answers a repeated CSeq 500, RFC 3261 §12.2.1.1).
func (ls *lamps) send(ctx context.Context, l *lamp, client *sipgo.Client, req *sip.Request) (*sip.Response, error) {
	res, err := ls.p.cfg.Account.do(ctx, client, req)
	if cs := req.CSeq(); cs != nil {
		l.mu.Lock()
		l.cseq = max(l.cseq, cs.SeqNo)
		l.mu.Unlock()
	}
	return res, err
}

// onNotify handles a NOTIFY of a lamp subscription; false means it is not
// one of ours.
func (ls *lamps) onNotify(req *sip.Request, tx sip.ServerTransaction) bool {
	ev := req.GetHeader("Event")
	if ev == nil || !strings.EqualFold(dialoginfo.EventType(ev.Value()), dialoginfo.EventName) {
		return false
	}
	id := req.CallID()
	if id == nil {
		return false
	}
	ls.mu.Lock()
	l := ls.byCallID[string(*id)]
	ls.mu.Unlock()
	if l == nil {
		// An old subscription the service still sends on: end it.
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist", nil))
		return true
	}
	l.mu.Lock()
	fromPeer := l.fromPeerLocked(req.Source())
	l.mu.Unlock()
	if !fromPeer {
		ls.p.log.Warn("lamp NOTIFY from a stranger ignored", "orbit", l.orbit, "source", req.Source())
		res := sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil)
		res.AppendHeader(sip.NewHeader("Warning", `399 console "not the subscription's peer"`))
		_ = tx.Respond(res)
		return true
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	instance := ""
	if h := req.GetHeader(instanceHeader); h != nil {
		instance = strings.TrimSpace(h.Value())
	}

	terminated := false
	if st := req.GetHeader("Subscription-State"); st != nil && strings.HasPrefix(strings.ToLower(strings.TrimSpace(st.Value())), "terminated") {
		terminated = true
	}
	l.mu.Lock()
	if instance != "" {
		l.instance = instance
	}
	if tag, ok := req.From().Params.Get("tag"); ok && tag != "" {
		if cur, _ := l.to.Params.Get("tag"); cur == "" {
			l.to.Params.Add("tag", tag)
		}
	}
	if c := req.Contact(); c != nil {
		l.target = c.Address
	}
	backend := backendKey(l.target)
	var doc dialoginfo.Document
	var docErr error
	fresh := false
	if len(req.Body()) > 0 {
		doc, docErr = dialoginfo.Unmarshal(req.Body())
		// A full document is the whole truth whatever its version (a
		// restarted service counts from 0 again); a partial one only
		// when newer.
		if docErr == nil && (doc.State == dialoginfo.StateFull || int64(doc.Version) > l.version) {
			l.version = int64(doc.Version)
			fresh = true
		}
	}
	if terminated {
		l.active = false
		if l.final != nil {
			close(l.final)
			l.final = nil
		}
	}
	l.mu.Unlock()
	if docErr != nil {
		ls.p.log.Warn("lamp document", "orbit", l.orbit, "error", docErr)
	}
	ls.sawInstance(backend, instance)
	if fresh {
		ls.applyLamp(l.orbit, doc)
		ls.lampKnown(l.orbit)
	}
	if terminated {
		ls.p.log.Info("lamp subscription terminated", "orbit", l.orbit, "state", req.GetHeader("Subscription-State").Value())
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// lampKnown clears a fault of orbit n's lamp: a document came.
func (ls *lamps) lampKnown(n int) {
	ls.mu.Lock()
	_, failed := ls.faults[n]
	ls.mu.Unlock()
	if failed {
		ls.lampFault(n, telephony.LampKnown, nil)
	}
}

// backendKey names the park service a URI reaches ("host:port"): a
// lamp's backend is its dialog's target, the Contact of the service
// that holds the subscription.
func backendKey(u sip.Uri) string {
	port := u.Port
	if port == 0 {
		port = 5060
		if u.IsEncrypted() {
			port = 5061
		}
	}
	return net.JoinHostPort(strings.ToLower(strings.Trim(u.Host, "[]")), strconv.Itoa(port))
}

// sawInstance notes the X-Park-Instance of the park service backend
// from an OPTIONS answer or a NOTIFY. A new one means that service
// restarted and forgot every subscription made before: its lamps
// subscribe again at once, instead of showing the old service's calls
// until their refresh. Lamps on other backends are not its business.
func (ls *lamps) sawInstance(backend, id string) {
	if id == "" {
		return
	}
	ls.mu.Lock()
	prev := ls.instances[backend]
	ls.instances[backend] = id
	ls.mu.Unlock()
	if prev == id {
		return
	}
	kicked := 0
	for _, l := range ls.subs {
		l.mu.Lock()
		stale := l.active && l.instance != "" && l.instance != id && backendKey(l.target) == backend
		if stale {
			l.active = false
		}
		l.mu.Unlock()
		if stale {
			kicked++
			select {
			case l.kick <- struct{}{}:
			default:
			}
		}
	}
	if prev != "" {
		ls.p.log.Info("park service restarted: subscribing again", "backend", backend, "instance", id, "previous", prev, "lamps", kicked)
	}
}

// fromPeerLocked tells whether a NOTIFY from source may belong to the
// subscription: it comes from its next hop or from whoever answered the
// SUBSCRIBE. Before either is known (a NOTIFY racing its 200 from a
// host that did not resolve), it is taken. l.mu is held.
func (l *lamp) fromPeerLocked(source string) bool {
	if len(l.peers) == 0 {
		return true
	}
	a, ok := sourceAddr(source)
	return ok && slices.Contains(l.peers, a)
}

// sourceAddr is the IP address of a message's source "host:port".
func sourceAddr(source string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(source)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// addPeers adds the addresses not yet in peers.
func addPeers(peers []netip.Addr, addrs ...netip.Addr) []netip.Addr {
	for _, a := range addrs {
		if !slices.Contains(peers, a) {
			peers = append(peers, a)
		}
	}
	return peers
}

// resolveHost is host's addresses: itself when an IP literal, else what
// the resolver says within a second (none when it cannot tell).
func resolveHost(ctx context.Context, host string) []netip.Addr {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a.Unmap()}
	}
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(rctx, "ip", host)
	if err != nil {
		return nil
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	return addrs
}

// health probes the park service with OPTIONS every HealthInterval.
func (ls *lamps) health(ctx context.Context) {
	p := ls.p
	pc := p.cfg.Park
	u, err := expand(pc.Health, 0, "")
	if err != nil {
		p.log.Error("park health URI", "error", err)
		return
	}
	t := time.NewTicker(pc.HealthInterval)
	defer t.Stop()
	for {
		up, reason := ls.probe(ctx, u)
		ls.probeBackends(ctx, backendKey(u))
		if ctx.Err() != nil {
			return
		}
		p.mu.Lock()
		was, seen := p.parking.up, p.parking.seen
		p.parking.up, p.parking.seen = up, true
		p.mu.Unlock()
		if !seen || was != up {
			p.log.Info("park service", "available", up, "reason", reason)
			p.emit(telephony.ParkServiceChanged{Available: up, Reason: reason})
			if up && seen {
				ls.kickAll()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probe sends one OPTIONS. The service answers when it replies with
// anything but a server failure or a timeout.
func (ls *lamps) probe(ctx context.Context, u sip.Uri) (bool, string) {
	p := ls.p
	req := sip.NewRequest(sip.OPTIONS, u)
	req.AppendHeader(p.fromHeader("", ""))
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	if p.net.route != nil {
		req.AppendHeader(sip.HeaderClone(p.net.route))
	}
	client, t := p.net.clientFor(u, p.net.route != nil)
	req.SetTransport(strings.ToUpper(t))
	pctx, cancel := context.WithTimeout(ctx, min(p.cfg.Park.HealthInterval, 4*time.Second))
	defer cancel()
	res, err := client.Do(pctx, req)
	ls.probes.Add(1)
	if err == nil {
		if h := res.GetHeader(instanceHeader); h != nil {
			backend := backendKey(u)
			if c := res.Contact(); c != nil {
				backend = backendKey(c.Address)
			}
			ls.sawInstance(backend, strings.TrimSpace(h.Value()))
		}
	}
	switch {
	case err != nil:
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(pctx.Err(), context.DeadlineExceeded) {
			return false, "park service does not answer"
		}
		return false, "park service unreachable: " + err.Error()
	case res.StatusCode == sip.StatusServiceUnavailable:
		return false, "park service is stopping"
	case res.StatusCode == sip.StatusRequestTimeout || res.StatusCode >= 500:
		return false, "park service failing: " + res.StartLine()
	}
	return true, ""
}

// probeBackends asks every other park service that holds lamps (a
// backend behind a proxy, whose Contact the lamp's dialog has) for its
// X-Park-Instance, in the dialog's way (straight to the Contact): a
// backend that restarted is noticed within one health interval, whatever
// the health probe's service answers. A backend that does not answer is
// its lamps' refresh's business.
func (ls *lamps) probeBackends(ctx context.Context, health string) {
	targets := make(map[string]sip.Uri)
	for _, l := range ls.subs {
		l.mu.Lock()
		if l.active {
			if k := backendKey(l.target); k != health {
				targets[k] = l.target
			}
		}
		l.mu.Unlock()
	}
	var wg sync.WaitGroup
	for k, u := range targets {
		wg.Go(func() {
			req := sip.NewRequest(sip.OPTIONS, u)
			req.AppendHeader(ls.p.fromHeader("", ""))
			client, t := ls.p.net.clientFor(u, false)
			req.SetTransport(strings.ToUpper(t))
			pctx, cancel := context.WithTimeout(ctx, min(ls.p.cfg.Park.HealthInterval, 4*time.Second))
			defer cancel()
			res, err := client.Do(pctx, req)
			if err != nil {
				ls.p.log.Debug("park backend probe", "backend", k, "error", err)
				return
			}
			if h := res.GetHeader(instanceHeader); h != nil {
				ls.sawInstance(k, strings.TrimSpace(h.Value()))
			}
		})
	}
	wg.Wait()
}

// applyLamp turns a dialog-info document into the orbit's state, and
// matches it to the parks of this console.
func (ls *lamps) applyLamp(n int, doc dialoginfo.Document) {
	next := telephony.Orbit{Number: n}
	if dl, ok := doc.Occupied(); ok {
		next.Occupied = true
		if dl.Remote != nil {
			next.CallerName, next.CallerURI = dl.Remote.Display, dl.Remote.Identity
		}
		if dl.Park != nil {
			next.Parker, next.ParkedAt, next.ReturnedAt = dl.Park.Parker, dl.Park.ParkedAt, dl.Park.ReturnedAt
			next.For, next.Note = dl.Park.For, dl.Park.Note
		}
		if rb := dl.Ringback; rb != nil {
			next.RingingBack, next.RingingBackSince = rb.Target, rb.Since
		}
	} else if doc.State == dialoginfo.StatePartial && len(doc.Dialogs) == 0 {
		return // a partial document without dialogs changes nothing
	} else {
		// Free: a terminated dialog may say how the call left.
		for _, dl := range doc.Dialogs {
			switch dl.Event {
			case "remote-bye":
				next.Left = telephony.LeftGaveUp
			case "rejected":
				next.Left = telephony.LeftLost
			case "replaced":
				// Retrieved, or taken by whoever answered the ring-back.
				switch {
				case dl.Ringback == nil:
					next.Left = telephony.LeftRetrieved
				case dl.Ringback.Fallback:
					next.Left = telephony.LeftFallback
				default:
					next.Left = telephony.LeftRingBack
				}
			default:
				continue
			}
			if dl.Remote != nil {
				next.CallerName, next.CallerURI = dl.Remote.Display, dl.Remote.Identity
			}
			if dl.Park != nil {
				next.Parker, next.ParkedAt, next.RetrievedBy = dl.Park.Parker, dl.Park.ParkedAt, dl.Park.RetrievedBy
				next.For, next.Note = dl.Park.For, dl.Park.Note
			}
			break
		}
	}
	ls.setOrbit(next)
}

// refreshOrbit re-applies an orbit's current state (after a park of ours
// changed what it means), in the same critical section that reads it, so
// that a lamp NOTIFY arriving meanwhile is never overwritten by the older
// state.
func (ls *lamps) refreshOrbit(n int) {
	ls.updateOrbit(n, func(cur telephony.Orbit) telephony.Orbit { return cur })
}

// setOrbit records an orbit's new state, confirms a park of ours that
// the lamp shows, ends a parked call whose orbit went dark, and
// publishes what changed.
func (ls *lamps) setOrbit(next telephony.Orbit) {
	ls.updateOrbit(next.Number, func(telephony.Orbit) telephony.Orbit { return next })
}

// updateOrbit does setOrbit's work for orbit n with the state nextOf
// makes of its current one, read and written under one hold of p.mu.
func (ls *lamps) updateOrbit(n int, nextOf func(cur telephony.Orbit) telephony.Orbit) {
	p := ls.p
	me := p.aor.String()
	var touched []*call
	p.mu.Lock()
	o := p.orbits[n]
	if o == nil {
		p.mu.Unlock()
		return
	}
	prev := *o
	next := nextOf(prev)
	byUs := next.Parker == "" || telephony.SameParty(next.Parker, me)
	// An anonymous lamp (Asterisk's) is news only when it lights: prev
	// may carry the caller this console filled in.
	fresh := next.Occupied && (!prev.Occupied || next.CallerURI != "" && prev.CallerURI != next.CallerURI || !prev.ParkedAt.Equal(next.ParkedAt))
	if fresh && byUs {
		if a := ls.parkForLampLocked(next); a != nil {
			a.lamp <- n // buffered for the one orbit it is given
		}
	}
	if rec, ok := p.parking.records[n]; ok && prev.Occupied && !next.Occupied && rec.left.IsZero() {
		rec.left, rec.leftHow = time.Now(), next.Left
		p.parking.records[n] = rec
	}
	// A call of ours parked on n: lit, then dark means it left.
	for _, c := range p.calls {
		if c.info.State != telephony.StateParkedAway || c.info.Orbit != n || c.info.Relayed {
			continue
		}
		if next.Occupied && byUs {
			c.orbitLit = true
		} else if !next.Occupied && c.orbitLit {
			p.endLocked(c, endAs(telephony.EndLeftOrbit, fmt.Sprintf("left orbit %d", n)))
			touched = append(touched, c)
		}
	}
	if rec, ok := p.parking.records[n]; ok && next.Occupied && byUs && rec.left.IsZero() {
		if next.CallerURI == "" || telephony.SameParty(next.CallerURI, rec.callerURI) || next.Parker != "" {
			next.ParkedByMe = true
			if next.CallerURI == "" {
				next.CallerName, next.CallerURI = rec.callerName, rec.callerURI
			}
		}
	}
	p.forWhomLocked(n, &next)
	changed := next != prev
	*o = next
	p.mu.Unlock()
	if changed {
		p.emit(telephony.OrbitChanged{Orbit: next})
	}
	for _, c := range touched {
		p.changed(c)
	}
}

// parkForLampLocked returns the park in progress that a lamp lighting
// with next confirms, or nil; p.mu is held. The park must be for that
// orbit or any, and not older than the lamp's park time. A lamp that
// names the caller confirms the park of that caller (or, naming us as
// the parker, our only park in progress); an anonymous lamp (Asterisk's)
// confirms nothing here: the parks the PBX accepted are told of it
// (parking.litLocked) and never guess between orbits. Each park is given
// one orbit.
func (ls *lamps) parkForLampLocked(next telephony.Orbit) *parkAttempt {
	p := ls.p
	var cands []*parkAttempt
	anon := next.CallerURI == "" && next.Parker == ""
	for _, c := range p.calls {
		a := c.park
		// A directed park hears of every anonymous lamp: Asterisk puts
		// its caller on the next free slot when the asked one is taken.
		if a == nil || a.lampOrbit != 0 || a.orbit != 0 && a.orbit != next.Number && !anon {
			continue
		}
		if !next.ParkedAt.IsZero() && next.ParkedAt.Before(a.started.Add(-2*time.Second)) {
			continue // parked before our REFER: not ours
		}
		cands = append(cands, a)
	}
	if len(cands) == 0 {
		return nil
	}
	var match *parkAttempt
	switch {
	case anon:
		p.parking.litLocked(cands, next.Number)
		return nil
	case len(cands) == 1 && next.Parker != "":
		match = cands[0]
	}
	for _, a := range cands {
		if next.CallerURI != "" && telephony.SameParty(a.callerURI, next.CallerURI) {
			match = a
		}
	}
	if match != nil {
		match.lampOrbit = next.Number
	}
	return match
}
