package sip

// HealthProbes is how many health probes the lamp board has made (for
// tests that wait for some to pass).
func (p *Phone) HealthProbes() int64 {
	if p.lamps == nil {
		return 0
	}
	return p.lamps.probes.Load()
}
