// Presence: the colleagues' busy lamps. Each watched colleague is one
// dialog subscription (subscription.go, the same layer as the orbit
// lamps) to their extension at the PBX; its documents say whether they
// are idle, ringing or on a call.

package sip

import (
	"fmt"
	"slices"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/dialoginfo"
)

// MaxWatched bounds the colleagues watched at once, whatever the window
// asks: a directory of thousands costs the PBX at most this many
// subscriptions. Watch keeps the first MaxWatched targets it is given.
const MaxWatched = 100

// presence is the phone's watched colleagues; guarded by p.mu.
type presence struct {
	watches map[string]*watch // by target as given to Watch
	// pending are the targets asked before Start, watched once started.
	pending []string
}

// watch is one watched colleague.
type watch struct {
	target string
	sub    *subscription
	stop   chan struct{} // closed when no longer watched
	// dialogs are the states of the colleague's dialogs by ID, as the
	// documents told them (a partial document updates only its own).
	dialogs map[string]dialoginfo.Dialog
	state   telephony.Presence
	fault   telephony.LampFault
	known   bool // a document came since the subscription stood
}

// Watch sets the colleagues whose presence is followed: see
// telephony.Phone. A number is watched at the host of the park lamps'
// template (the PBX that serves dialog state), else at the account's
// domain; a SIP URI as it is. Targets that cannot be made a URI are
// left out (logged), as are those past MaxWatched. Before Start the
// targets are kept and watched once started; after Close it does
// nothing.
func (p *Phone) Watch(targets []string) {
	want := make(map[string]sip.Uri, len(targets))
	for _, t := range targets {
		if len(want) == MaxWatched {
			p.log.Warn("presence: too many colleagues to watch; the rest are left out", "max", MaxWatched, "asked", len(targets))
			break
		}
		if _, dup := want[t]; dup {
			continue
		}
		u, err := p.presenceURI(t)
		if err != nil {
			p.log.Debug("presence: not watched", "target", t, "error", err)
			continue
		}
		want[t] = u
	}
	var gone []*watch
	p.mu.Lock()
	if p.presence == nil {
		p.presence = &presence{watches: make(map[string]*watch)}
	}
	if p.readyLocked() != nil {
		if !p.closed {
			p.presence.pending = slices.Clone(targets)
		}
		p.mu.Unlock()
		return
	}
	p.presence.pending = nil
	ws := p.presence.watches
	for t, w := range ws {
		if u, ok := want[t]; !ok || u.String() != w.sub.uri.String() {
			gone = append(gone, w)
			delete(ws, t)
		}
	}
	for t, u := range want {
		if ws[t] != nil {
			continue
		}
		w := &watch{target: t, sub: newSubscription("presence-"+sip.GenerateTagN(6), u), dialogs: make(map[string]dialoginfo.Dialog)}
		w.sub.noted = func(n notice) { p.presenceNoted(w, n) }
		w.sub.faulted = func(f telephony.LampFault, err error) { p.presenceFault(w, f, err) }
		w.stop = make(chan struct{})
		ws[t] = w
		// p.mu is held: Close cannot be waiting on p.wg yet (it sets
		// closed under p.mu first).
		p.wg.Go(func() {
			defer p.subs.forget(w.sub)
			expiry, retryMax := p.cfg.Park.LampExpiry, p.cfg.Park.LampRetryMax
			if expiry <= 0 { // no park service configured: its defaults
				expiry = DefaultLampExpiry
			}
			if retryMax <= 0 {
				retryMax = DefaultLampRetryMax
			}
			p.keepSubscribed(p.ctx, w.stop, w.sub, expiry, retryMax)
		})
	}
	p.mu.Unlock()
	for _, w := range gone {
		close(w.stop) // its goroutine unsubscribes
	}
}

// watchPending watches the targets Watch was given before Start.
func (p *Phone) watchPending() {
	p.mu.Lock()
	var pending []string
	if p.presence != nil {
		pending, p.presence.pending = p.presence.pending, nil
	}
	p.mu.Unlock()
	if pending != nil {
		p.Watch(pending)
	}
}

// Presence returns a watched colleague's state; false when not watched.
func (p *Phone) Presence(target string) (telephony.Presence, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.presence == nil {
		return telephony.PresenceUnknown, false
	}
	w := p.presence.watches[target]
	if w == nil {
		return telephony.PresenceUnknown, false
	}
	return w.state, true
}

// watching counts the colleagues watched and their subscriptions filed
// (for tests and benchmarks).
func (p *Phone) watching() (watched, filed int) {
	p.mu.Lock()
	if p.presence != nil {
		watched = len(p.presence.watches)
	}
	p.mu.Unlock()
	return watched, p.subs.count()
}

// presenceURI is where a colleague's dialog state is subscribed to.
func (p *Phone) presenceURI(target string) (sip.Uri, error) {
	t := strings.TrimSpace(target)
	if t == "" || strings.HasPrefix(t, "sip:") || strings.HasPrefix(t, "sips:") || strings.Contains(t, "@") || p.cfg.Park.Lamp == "" {
		return p.parseTarget(t)
	}
	for _, r := range t {
		if !strings.ContainsRune("0123456789*#+", r) {
			return sip.Uri{}, fmt.Errorf("sip: presence %q: %w", target, ErrBadTarget)
		}
	}
	lamp, err := expand(p.cfg.Park.Lamp, 0, "")
	if err != nil {
		return sip.Uri{}, fmt.Errorf("sip: presence %q: %w", target, err)
	}
	u := sip.Uri{Scheme: lamp.Scheme, User: t, Host: lamp.Host, Port: lamp.Port, UriParams: sip.NewParams(), Headers: sip.NewParams()}
	if tr, ok := lamp.UriParams.Get("transport"); ok {
		u.UriParams.Add("transport", tr)
	}
	return u, nil
}

// kickStalePresence subscribes again the colleagues watched on a
// service that restarted (backend, now instance); it returns how many.
func (p *Phone) kickStalePresence(backend, instance string) int {
	p.mu.Lock()
	var subs []*subscription
	if p.presence != nil {
		for _, w := range p.presence.watches {
			subs = append(subs, w.sub)
		}
	}
	p.mu.Unlock()
	n := 0
	for _, s := range subs {
		if kickIfStale(s, backend, instance) {
			n++
		}
	}
	return n
}

// presenceNoted takes what a NOTIFY of w's subscription said: a
// service's new start (as for the lamps), and the colleague's state
// from a fresh document.
func (p *Phone) presenceNoted(w *watch, n notice) {
	if p.lamps != nil {
		p.lamps.sawInstance(n.backend, n.instance)
	}
	if !n.fresh {
		return
	}
	p.mu.Lock()
	prev := w.dialogs
	if n.doc.State == dialoginfo.StateFull {
		w.dialogs = make(map[string]dialoginfo.Dialog, len(n.doc.Dialogs))
	}
	for _, dl := range n.doc.Dialogs {
		if dl.State == dialoginfo.DialogTerminated {
			delete(w.dialogs, dl.ID)
			continue
		}
		if was, ok := prev[dl.ID]; ok && was.State == dialoginfo.DialogConfirmed {
			// A dialog never goes back from confirmed (RFC 4235
			// §3.7.1): an early state after it is a stale publication
			// (Kamailio's pua_dialoginfo can land a call's 180 after
			// its 200), not a new ring.
			dl.State = dialoginfo.DialogConfirmed
		}
		w.dialogs[dl.ID] = dl
	}
	st := presenceOf(w.dialogs)
	p.setPresenceLocked(w, st, telephony.LampKnown)
}

// presenceFault notes that w's subscription failed: the colleague's
// state is unknown until a document comes again.
func (p *Phone) presenceFault(w *watch, f telephony.LampFault, err error) {
	p.mu.Lock()
	if w.fault != f {
		p.log.Info("presence subscription failing", "target", w.target, "fault", f.String(), "error", err)
	}
	clear(w.dialogs)
	p.setPresenceLocked(w, telephony.PresenceUnknown, f)
}

// setPresenceLocked records w's state and reports a change (of a watch
// still watched); p.mu is held and unlocked here.
func (p *Phone) setPresenceLocked(w *watch, st telephony.Presence, f telephony.LampFault) {
	current := p.presence != nil && p.presence.watches[w.target] == w
	changed := current && (w.state != st || w.fault != f || !w.known)
	w.state, w.fault, w.known = st, f, true
	p.mu.Unlock()
	if changed {
		p.emit(telephony.PresenceChanged{Target: w.target, Presence: st, Fault: f})
	}
}

// presenceOf is a colleague's state from their dialogs: on a call when
// one is confirmed, or when they place one; ringing when one rings them;
// idle when none is up.
func presenceOf(dialogs map[string]dialoginfo.Dialog) telephony.Presence {
	st := telephony.PresenceIdle
	for _, dl := range dialogs {
		switch {
		case dl.State == dialoginfo.DialogConfirmed, dl.Direction == dialoginfo.DirectionInitiator:
			return telephony.PresenceBusy
		default: // trying, proceeding, early: it rings them
			st = telephony.PresenceRinging
		}
	}
	return st
}
