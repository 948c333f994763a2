package sip

// Watching is how many colleagues the phone watches and how many dialog
// subscriptions (lamps and presence) it has filed.
func (p *Phone) Watching() (watched, filed int) { return p.watching() }
