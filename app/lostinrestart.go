package app

import (
	"time"

	"github.com/switchboard/switchboard/telephony"
)

// lostUnseen notes a call this console parked on o in an earlier run
// that the park service lost in its restart before this console saw it
// lit again (its built-in service, started again with the console,
// found the caller gone at once): the entry the call log kept ("Parked
// Alice Martin on 701") says it was lost when the park service stopped,
// with Call back.
func (c *Console) lostUnseen(o telephony.Orbit, now time.Time) {
	if !telephony.SameParty(o.Parker, c.opts.Identity) || c.book.parked[o.Number] != nil {
		return
	}
	e, ok := c.history.parkedOn(o.Number, o.CallerURI)
	if !ok {
		return
	}
	c.leftOrbit(&tracked{e: e, logged: true, answered: true, ended: true}, o, now)
}
