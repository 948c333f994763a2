package apptest

import (
	"slices"

	"github.com/switchboard/switchboard/telephony"
)

// presenceState is the fake phone's presence: what is watched and the
// states the test set.
type presenceState struct {
	watched []string
	states  map[string]telephony.Presence
	// deferTransfers holds a transferred call instead of ending it.
	deferTransfers bool
}

// DeferTransfers makes a blind transfer leave its call held, as under
// way, until the test ends it with FailTransfer or CompleteTransfer.
func (p *Phone) DeferTransfers(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.presence.deferTransfers = on
}

// CompleteTransfer ends a deferred transfer of call id: transferred.
func (p *Phone) CompleteTransfer(id telephony.CallID, target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.lookupLocked(id)
	if err != nil || c.State == telephony.StateEnded {
		return
	}
	move(c, telephony.EvEnded)
	c.End, c.Reason = telephony.EndTransferred, "transferred to "+target
	p.changedLocked(c)
}

// Watch keeps the targets watched (Watched), in order. It is not an
// action on a call: Actions does not list it.
func (p *Phone) Watch(targets []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.presence.watched = slices.Clone(targets)
	for _, t := range targets {
		if st, ok := p.presence.states[t]; ok {
			p.emit(telephony.PresenceChanged{Target: t, Presence: st})
		}
	}
}

// Presence returns a watched target's state, as the test set it.
func (p *Phone) Presence(target string) (telephony.Presence, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Contains(p.presence.watched, target) {
		return telephony.PresenceUnknown, false
	}
	return p.presence.states[target], true
}

// Watched returns the targets watched now.
func (p *Phone) Watched() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.presence.watched)
}

// SetPresence plays a colleague's lamp: target's state becomes st,
// reported when target is watched.
func (p *Phone) SetPresence(target string, st telephony.Presence) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.presence.states == nil {
		p.presence.states = make(map[string]telephony.Presence)
	}
	p.presence.states[target] = st
	if slices.Contains(p.presence.watched, target) {
		p.emit(telephony.PresenceChanged{Target: target, Presence: st})
	}
}

// FailTransfer plays a transfer of call id that the far end reports
// failed (why, code): the call stays held, and TransferFailed follows.
func (p *Phone) FailTransfer(id telephony.CallID, target string, why telephony.TransferFailure, code int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.lookupLocked(id)
	if err != nil || c.State == telephony.StateEnded {
		return
	}
	c.Reason = "transfer failed"
	p.changedLocked(c)
	p.emit(telephony.TransferFailed{Call: id, Target: target, Why: why, Code: code})
}
