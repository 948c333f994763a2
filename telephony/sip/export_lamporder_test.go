package sip

import "sync"

// HoldOrbits takes the lock the console's orbits are written under and
// keeps it until release is called (once or more): a lamp NOTIFY that
// arrives meanwhile cannot be shown.
func (p *Phone) HoldOrbits() (release func()) {
	p.mu.Lock()
	return sync.OnceFunc(p.mu.Unlock)
}
