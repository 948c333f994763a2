package sip

import "github.com/switchboard/switchboard/telephony"

// HealthProbes is how many health probes the lamp board has made (for
// tests that wait for some to pass).
func (p *Phone) HealthProbes() int64 {
	if p.lamps == nil {
		return 0
	}
	return p.lamps.probes.Load()
}

// OnOrbitWritten has f called with each orbit state the console writes,
// on the goroutine that wrote it, once the console's lock is released:
// a test may pause that goroutine there.
func (p *Phone) OnOrbitWritten(f func(telephony.Orbit)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lamps.written = f
}
