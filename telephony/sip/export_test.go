package sip

import "github.com/switchboard/switchboard/telephony"

// Call returns one call's current state, for the tests (package sip_test)
// that check a call's state after an action without waiting for an event.
func (p *Phone) Call(id telephony.CallID) (telephony.Call, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.calls[id]
	if c == nil {
		return telephony.Call{}, false
	}
	return c.info, true
}

// ParkAvailable reports whether the park service answered its last
// health check, for the tests that wait for the park service's health.
func (p *Phone) ParkAvailable() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.parking.up
}
