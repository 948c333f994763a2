// The lamp board: one RFC 4235 subscription per orbit of the lot
// (lamps, lamp), the park service's health probe, and the orbits they
// light (applyLamp, updateOrbit: an orbit's state, matched to the parks
// of this console).

package sip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/dialoginfo"
)

// lamps keeps one RFC 4235 subscription per orbit (subscription.go)
// and probes the park service with OPTIONS.
type lamps struct {
	p    *Phone
	subs map[int]*lamp // by orbit, fixed at creation

	mu sync.Mutex
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
	// restarts are the orbits whose service restarted lately
	// (restartloss.go).
	restarts restartMarks
	// written, when set (by tests, under p.mu), is called with each
	// orbit state updateOrbit wrote, once p.mu is released: a test
	// pauses a lamp's goroutine there to force an interleaving.
	written func(telephony.Orbit)
}

// lamp is the subscription to one orbit's dialog state.
type lamp struct {
	orbit int
	*subscription
}

// instanceHeader names the park service's start (PARK-PROTOCOL.md,
// "Restarts are visible").
const instanceHeader = "X-Park-Instance"

func newLamps(p *Phone) *lamps {
	ls := &lamps{p: p, subs: make(map[int]*lamp), instances: make(map[string]string), faults: make(map[int]telephony.LampFault)}
	ls.restarts.born = time.Now()
	pc := p.cfg.Park
	for n := range pc.Orbits.All() {
		u, _ := expand(pc.Lamp, n, "")
		l := &lamp{orbit: n, subscription: newSubscription("lamp-"+strconv.Itoa(n), u)}
		l.noted = func(nt notice) { ls.noted(l, nt) }
		l.faulted = func(f telephony.LampFault, err error) { ls.lampFault(n, f, err) }
		ls.subs[n] = l
	}
	return ls
}

// run keeps every lamp subscribed and the health probe going until ctx
// ends; then it unsubscribes.
func (ls *lamps) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { ls.health(ctx) })
	for _, l := range ls.subs {
		wg.Go(func() {
			ls.p.keepSubscribed(ctx, nil, l.subscription, ls.p.cfg.Park.LampExpiry, ls.p.cfg.Park.LampRetryMax)
		})
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

// noted takes what a NOTIFY of lamp l said: the service's instance,
// and the orbit's state from a fresh document.
func (ls *lamps) noted(l *lamp, n notice) {
	ls.sawInstance(n.backend, n.instance)
	if n.fresh {
		ls.applyLamp(l.orbit, n.doc)
		ls.lampKnown(l.orbit)
	}
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
		if kickIfStale(l.subscription, backend, id) {
			kicked++
		}
	}
	// The colleagues watched on that service forgot us too.
	kicked += ls.p.kickStalePresence(backend, id)
	if prev != "" {
		ls.markRestart(backend)
		ls.p.log.Info("park service restarted: subscribing again", "backend", backend, "instance", id, "previous", prev, "lamps", kicked)
	}
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
	next.Left = ls.restarts.leftOf(n, prev, next, time.Now())
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
		p.keepLocked() // the park ended: forgotten
	}
	if rec, ok := p.parking.records[n]; ok && rec.call == "" && rec.left.IsZero() && next.Lamp == telephony.LampKnown &&
		(!next.Occupied || !byUs || next.CallerURI != "" && !telephony.SameParty(next.CallerURI, rec.callerURI)) {
		// A park kept from before this console's restart whose orbit is
		// free, or holds another's call, when its lamp is first known:
		// it ended while the console was closed.
		rec.left, rec.leftHow = time.Now(), next.Left
		p.parking.records[n] = rec
		p.keepLocked()
	}
	touched = append(touched, p.parking.orbitChangedLocked(prev, next)...) // uncertain parks narrow
	// A call of ours parked on n: lit, then dark means it left.
	for _, c := range p.calls {
		if c.info.State != telephony.StateParkedAway || c.info.Orbit != n || c.info.Relayed {
			continue
		}
		if next.Occupied && byUs {
			c.orbitLit = true
		} else if !next.Occupied && c.orbitLit {
			p.endLocked(c, leftOrbitEnd(n, next.Left))
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
	if !next.ParkedByMe && ls.restarts.earlierPark(next, me) {
		next.ParkedByMe = true
	}
	p.forWhomLocked(n, &next)
	changed := next != prev
	*o = next
	var notices []telephony.ParkedForYou
	if changed {
		notices = p.recheckNoticesLocked(next)
		// Published before p.mu is released (Emit never blocks): the
		// orbit's writers (a lamp's NOTIFY, a park's confirmation and its
		// refreshOrbit) run on goroutines of their own, and one paused
		// between its write and its event would publish an older state
		// after a newer one, which the app would show for good: a park
		// of ours lit but never shown as ours.
		p.emit(telephony.OrbitChanged{Orbit: next})
	}
	written := ls.written
	p.mu.Unlock()
	if written != nil {
		written(next)
	}
	for _, nt := range notices {
		p.emit(nt)
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
