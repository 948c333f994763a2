package park

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony/dialoginfo"
)

const (
	maxSubscription     = time.Hour
	defaultSubscription = time.Hour
	notifyTimeout       = 10 * time.Second
	closeNotifyTimeout  = time.Second
)

// lampServer serves RFC 4235 busy lamps: SUBSCRIBE sip:N@H with
// Event: dialog, a NOTIFY with the orbit's full state at once, on every
// change and on every refresh. sipgo has no subscription layer, so this
// keeps the subscription dialogs itself.
type lampServer struct {
	s      *Service
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	subs    map[string]*subscription
	byOrbit map[int]map[*subscription]struct{}

	// answered is, by orbit, the ring-back that took the last call off
	// it, if one did; guarded by Service.mu (it is written where the
	// orbit's exit is).
	answered map[int]answeredRing
}

// answeredRing is a ring-back that was answered: the exit it made (by its
// time) and whom it rang.
type answeredRing struct {
	at   time.Time // OrbitExit.At of that exit
	ring ringing
}

// subscription is one watcher of one orbit. Its worker goroutine sends
// the NOTIFYs in order; kicks coalesce, so a burst of changes costs one
// NOTIFY with the latest state.
type subscription struct {
	id        string
	orbit     int
	entity    string
	from      sip.FromHeader // ours, with our tag
	to        sip.ToHeader   // the watcher's
	callID    sip.CallIDHeader
	target    sip.Uri
	route     []sip.Uri // the dialog's route set (routeSet), fixed at its start
	dest      string    // the SUBSCRIBE's source: where a NOTIFY goes without a route set
	transport string
	eventHdr  string

	kick chan struct{}
	ctx  context.Context
	stop context.CancelFunc

	mu      sync.Mutex
	expires time.Time
	timer   *time.Timer
	cseq    uint32
	version uint32
	final   string // Subscription-State reason once terminated
}

func newLampServer(s *Service) *lampServer {
	ctx, cancel := context.WithCancel(context.Background())
	return &lampServer{s: s, ctx: ctx, cancel: cancel,
		subs: make(map[string]*subscription), byOrbit: make(map[int]map[*subscription]struct{}),
		answered: make(map[int]answeredRing)}
}

// changed tells every watcher of orbit n.
func (ls *lampServer) changed(n int) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for sub := range ls.byOrbit[n] {
		sub.poke()
	}
}

func (sub *subscription) poke() {
	select {
	case sub.kick <- struct{}{}:
	default:
	}
}

// Watchers is the number of live subscriptions, for tests and metrics.
func (s *Service) Watchers() int {
	s.lamps.mu.Lock()
	defer s.lamps.mu.Unlock()
	return len(s.lamps.subs)
}

func (ls *lampServer) onSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	s := ls.s
	// A refresh or unsubscribe carries our To tag.
	if tag, ok := req.To().Params.Get("tag"); ok && tag != "" {
		ls.refresh(req, tx)
		return
	}
	if !s.admit(req, tx) {
		return
	}
	ev := req.GetHeader("Event")
	if ev == nil || dialoginfo.EventType(ev.Value()) != dialoginfo.EventName {
		s.reply(req, tx, 489, "Bad Event", sip.NewHeader("Allow-Events", "dialog"))
		return
	}
	n, ok := parseOrbit(req.Recipient.User)
	if !ok || !s.opts.Orbits.Contains(n) {
		s.reply(req, tx, sip.StatusNotFound, "Not Found", ReasonNoSuchOrbit.header())
		return
	}
	if req.Contact() == nil {
		s.reply(req, tx, sip.StatusBadRequest, "Bad Request", sip.NewHeader("Warning", `399 park "no Contact"`))
		return
	}
	exp := requestedExpiry(req)

	sub := &subscription{
		orbit:     n,
		entity:    lampEntity(req, n),
		to:        req.From().AsTo(),
		callID:    *req.CallID(),
		target:    req.Contact().Address,
		route:     routeSet(req),
		dest:      req.Source(),
		transport: req.Transport(),
		eventHdr:  ev.Value(),
		kick:      make(chan struct{}, 1),
	}
	sub.from = sip.FromHeader{DisplayName: req.To().DisplayName, Address: req.To().Address, Params: sip.NewParams()}
	sub.from.Params.Add("tag", sip.GenerateTagN(16))
	sub.id = sip.DialogIDMake(string(sub.callID), sub.from.Params.GetOr("tag", ""), sub.to.Params.GetOr("tag", ""))

	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.To().Params.Add("tag", sub.from.Params.GetOr("tag", ""))
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(exp/time.Second))))
	res.AppendHeader(&s.dua.ContactHDR)
	// The subscription's start of the service, before any NOTIFY: a
	// watcher whose first NOTIFY never came (the service died) still
	// knows it for the old one's when a new one answers.
	res.AppendHeader(s.instanceHeader())
	if err := tx.Respond(res); err != nil {
		return
	}
	if exp == 0 {
		// A fetch: one NOTIFY with the state, then terminated.
		sub.ctx, sub.stop = context.WithCancel(ls.ctx)
		sub.final = "timeout"
		ls.spawn(func() { ls.send(sub, notifyTimeout) })
		return
	}
	sub.ctx, sub.stop = context.WithCancel(ls.ctx)
	sub.expires = time.Now().Add(exp)
	sub.timer = time.AfterFunc(exp, func() { ls.end(sub, "timeout") })
	ls.mu.Lock()
	ls.subs[sub.id] = sub
	if ls.byOrbit[n] == nil {
		ls.byOrbit[n] = make(map[*subscription]struct{})
	}
	ls.byOrbit[n][sub] = struct{}{}
	ls.mu.Unlock()
	sub.poke()
	ls.spawn(func() { ls.worker(sub) })
}

func (ls *lampServer) refresh(req *sip.Request, tx sip.ServerTransaction) {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		ls.s.reply(req, tx, sip.StatusBadRequest, "Bad Request")
		return
	}
	ls.mu.Lock()
	sub := ls.subs[id]
	ls.mu.Unlock()
	if sub == nil {
		ls.s.reply(req, tx, sip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist")
		return
	}
	// A refresh or an unsubscribe comes from the watcher, or from a
	// source the allowlist admits: anyone else with the dialog's
	// identifiers could end a console's lamp.
	if !ls.s.guard.allowed(req.Source()) && !sameHost(req.Source(), sub.dest) {
		ls.s.refuse(req, tx, refusal(whyNotAllowed))
		return
	}
	exp := requestedExpiry(req)
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(exp/time.Second))))
	res.AppendHeader(&ls.s.dua.ContactHDR)
	res.AppendHeader(ls.s.instanceHeader())
	if err := tx.Respond(res); err != nil {
		return
	}
	if exp == 0 {
		ls.end(sub, "timeout")
		return
	}
	sub.mu.Lock()
	sub.expires = time.Now().Add(exp)
	sub.timer.Reset(exp)
	if c := req.Contact(); c != nil {
		sub.target = c.Address
	}
	sub.mu.Unlock()
	sub.poke() // RFC 6665: a refresh gets the full state again
}

// sameHost says whether two "host:port" sources share their IP address.
func sameHost(a, b string) bool {
	x, okA := sourceAddr(a)
	y, okB := sourceAddr(b)
	return okA && okB && x == y
}

// end terminates a subscription: one last NOTIFY with
// Subscription-State: terminated, then the worker stops.
func (ls *lampServer) end(sub *subscription, reason string) {
	ls.mu.Lock()
	if ls.subs[sub.id] != sub {
		ls.mu.Unlock()
		return
	}
	delete(ls.subs, sub.id)
	delete(ls.byOrbit[sub.orbit], sub)
	ls.mu.Unlock()
	sub.mu.Lock()
	sub.final = reason
	if sub.timer != nil {
		sub.timer.Stop()
	}
	sub.mu.Unlock()
	sub.poke()
}

// drop forgets a subscription whose watcher is gone, without a NOTIFY.
func (ls *lampServer) drop(sub *subscription) {
	ls.mu.Lock()
	if ls.subs[sub.id] == sub {
		delete(ls.subs, sub.id)
		delete(ls.byOrbit[sub.orbit], sub)
	}
	ls.mu.Unlock()
	sub.mu.Lock()
	if sub.timer != nil {
		sub.timer.Stop()
	}
	sub.mu.Unlock()
	sub.stop()
}

func (ls *lampServer) worker(sub *subscription) {
	for {
		select {
		case <-sub.ctx.Done():
			return
		case <-sub.kick:
		}
		if done := ls.send(sub, notifyTimeout); done {
			return
		}
	}
}

// send sends one NOTIFY with the orbit's current state; it reports
// whether the subscription is over.
func (ls *lampServer) send(sub *subscription, timeout time.Duration) bool {
	s := ls.s
	st := ls.state(sub.orbit)
	sub.mu.Lock()
	version := sub.version
	sub.version++
	sub.cseq++
	cseq := sub.cseq
	final := sub.final
	remaining := time.Until(sub.expires)
	target := sub.target
	sub.mu.Unlock()

	body, err := dialoginfo.Marshal(orbitDocument(sub.entity, version, st))
	if err != nil {
		s.log.Error("lamp document", "orbit", sub.orbit, "error", err)
		return false
	}
	state := "active;expires=" + strconv.Itoa(max(int(remaining/time.Second), 1))
	if final != "" {
		state = "terminated;reason=" + final
	}
	req := sip.NewRequest(sip.NOTIFY, target)
	from, to, callID := sub.from, sub.to, sub.callID
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.NOTIFY})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(sip.NewHeader("Event", sub.eventHdr))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(s.instanceHeader())
	req.AppendHeader(&s.dua.ContactHDR)
	req.AppendHeader(sip.NewHeader("Content-Type", dialoginfo.ContentType))
	req.SetBody(body)
	// Through the proxies that record-routed the SUBSCRIBE, if any: one
	// in front of the service answers a NOTIFY that bypasses its route
	// 404, and the lamp dies.
	dest, transport := sub.dest, sub.transport
	if len(sub.route) > 0 {
		var t string
		if dest, t = routeRequest(req, sub.route); t != "" {
			transport = t
		}
	}
	req.SetDestination(dest)
	req.SetTransport(transport)

	ctx, cancel := context.WithTimeout(ls.ctx, timeout)
	defer cancel()
	res, err := s.clientFor(transport).Do(ctx, req)
	switch {
	case err != nil:
		s.log.Info("lamp watcher unreachable, subscription dropped", "orbit", sub.orbit, "watcher", sub.to.Address.String(), "error", err)
		ls.drop(sub)
		return true
	case res.StatusCode == sip.StatusCallTransactionDoesNotExists || res.StatusCode >= 400 && res.StatusCode != sip.StatusRequestTerminated:
		s.log.Info("lamp watcher refused NOTIFY, subscription dropped", "orbit", sub.orbit, "watcher", sub.to.Address.String(), "status", res.StatusCode)
		ls.drop(sub)
		return true
	}
	if final != "" {
		sub.stop()
		return true
	}
	return false
}

// spawn runs f on a goroutine the lamp server waits for at close; after
// close has begun it runs nothing (a SUBSCRIBE racing the stop).
func (ls *lampServer) spawn(f func()) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.closed {
		return
	}
	ls.wg.Go(f)
}

func (ls *lampServer) close() {
	ls.mu.Lock()
	ls.closed = true
	subs := make([]*subscription, 0, len(ls.subs))
	for _, sub := range ls.subs {
		subs = append(subs, sub)
	}
	ls.mu.Unlock()
	// Tell watchers the service is going (reason=noresource lets them
	// re-subscribe later), then stop.
	var wg sync.WaitGroup
	for _, sub := range subs {
		wg.Go(func() {
			ls.mu.Lock()
			delete(ls.subs, sub.id)
			delete(ls.byOrbit[sub.orbit], sub)
			ls.mu.Unlock()
			sub.mu.Lock()
			sub.final = "noresource"
			if sub.timer != nil {
				sub.timer.Stop()
			}
			sub.mu.Unlock()
			// Short: a watcher already gone must not hold up the stop.
			ls.send(sub, closeNotifyTimeout)
		})
	}
	wg.Wait()
	ls.cancel()
	ls.wg.Wait()
}

// lampState is what an orbit's lamp shows: the orbit's state, and the
// ring-back of its call: the one in progress, or the one whose answer
// took the last call off the orbit.
type lampState struct {
	OrbitState
	ring       ringing
	returnedAt time.Time // when the call came back from an unanswered ring-back
}

// state is orbit n's lamp state now; n is in the lot.
func (ls *lampServer) state(n int) lampState {
	s := ls.s
	s.mu.Lock()
	defer s.mu.Unlock()
	st := lampState{OrbitState: s.orbitStateLocked(n)}
	switch c := s.lot.at(n); {
	case st.Occupied && c != nil:
		st.returnedAt = c.returnedAt
		// Ringing back, or answered and being bridged (a retrieve
		// clears the ring-back).
		if c.state == stateRinging || c.state == stateRetrieving {
			st.ring = c.ring
		}
	case st.Last != nil:
		if a, ok := ls.answered[n]; ok && a.at.Equal(st.Last.At) {
			st.ring = a.ring
		}
	}
	return st
}

// ringback is the lamp's ring-back element for r; nil when r rings no
// one.
func ringback(r ringing) *dialoginfo.Ringback {
	if r.target == "" {
		return nil
	}
	return &dialoginfo.Ringback{Target: r.target, Since: r.since, Fallback: r.fallback}
}

// orbitDocument is the dialog-info of one orbit: one confirmed dialog
// with the caller as remote when occupied (with the ring-back element
// while the service rings back its parker or the fallback); when free, no
// dialog, or for a while after a call left, one terminated dialog saying
// how (event remote-bye: the caller gave up; replaced: retrieved, by
// whom, with the ring-back element when the ring-back was answered;
// rejected: lost, its phone stopped answering the service's probes).
//
// A park whose 2xx is not ACKed yet is not shown: the lamp lights with
// the ACK. Such a park holds its orbit for at most the ACK wait (64×T1,
// 32 s), meanwhile a directed park onto it gets 486 occupied, and each
// source may have only maxPendingPerSource of them.
func orbitDocument(entity string, version uint32, st lampState) dialoginfo.Document {
	doc := dialoginfo.Document{Version: version, State: dialoginfo.StateFull, Entity: entity}
	if !st.Occupied {
		if e := st.Last; e != nil {
			event := "remote-bye"
			switch e.How {
			case ExitRetrieved:
				event = "replaced"
			case ExitLost:
				event = "rejected"
			}
			doc.Dialogs = []dialoginfo.Dialog{{
				ID:        "orbit-" + strconv.Itoa(st.Orbit) + "-" + strconv.FormatInt(e.ParkedAt.UnixNano(), 36),
				Direction: dialoginfo.DirectionRecipient,
				State:     dialoginfo.DialogTerminated,
				Event:     event,
				Local:     &dialoginfo.Participant{Identity: entity},
				Remote:    &dialoginfo.Participant{Identity: e.CallerURI, Display: e.CallerName},
				Park:      &dialoginfo.ParkInfo{Orbit: st.Orbit, Parker: e.Parker, ParkedAt: e.ParkedAt, RetrievedBy: e.RetrievedBy, For: e.For, Note: e.Note},
				Ringback:  ringback(st.ring),
			}}
		}
		return doc
	}
	doc.Dialogs = []dialoginfo.Dialog{{
		ID:        "orbit-" + strconv.Itoa(st.Orbit) + "-" + strconv.FormatInt(st.ParkedAt.UnixNano(), 36),
		Direction: dialoginfo.DirectionRecipient,
		State:     dialoginfo.DialogConfirmed,
		Duration:  int(time.Since(st.ParkedAt) / time.Second),
		Local:     &dialoginfo.Participant{Identity: entity},
		Remote:    &dialoginfo.Participant{Identity: st.CallerURI, Display: st.CallerName},
		Park:      &dialoginfo.ParkInfo{Orbit: st.Orbit, Parker: st.Parker, ParkedAt: st.ParkedAt, ReturnedAt: st.returnedAt, For: st.For, Note: st.Note},
		Ringback:  ringback(st.ring),
	}}
	return doc
}

// lampEntity is the entity of orbit n's documents: the URI the watcher
// subscribed to, as it wrote it (the To of the SUBSCRIBE, which proxies
// leave alone, or its Request-URI when the To names another resource),
// without parameters; not the service's own address, which a watcher
// behind a proxy never named.
func lampEntity(req *sip.Request, n int) string {
	u := req.Recipient
	if to := req.To(); to != nil {
		if m, ok := parseOrbit(to.Address.User); ok && m == n {
			u = to.Address
		}
	}
	u = *u.Clone()
	u.UriParams, u.Headers = nil, nil
	return u.String()
}

func requestedExpiry(req *sip.Request) time.Duration {
	exp := defaultSubscription
	if h := req.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(h.Value()); err == nil && n >= 0 {
			exp = time.Duration(n) * time.Second
		}
	}
	return min(exp, maxSubscription)
}
