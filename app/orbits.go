package app

import (
	"time"

	"github.com/switchboard/switchboard/calllog"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// orbitChanged lights or darkens an orbit's slot. When an orbit this
// console parked a call on goes dark and nobody here retrieved it, the
// call's entry in the log says how the caller left: gave up (with a
// call-back button), retrieved by whom, went to the fallback, or just
// left when the park service does not say; when its call comes back from
// a ring-back nobody answered, the entry says that too. A ringing call
// taken for a return while its caller was still here is judged again.
func (c *Console) orbitChanged(o telephony.Orbit) {
	slot := c.grid.Slot(o.Number)
	if slot == nil {
		return
	}
	now := c.now()
	v := c.orbits[o.Number]
	if v == nil {
		v = &orbitView{}
		c.orbits[o.Number] = v
	}
	prev := v.o
	v.o = o
	c.status.setLamp(o.Number, o.Lamp)
	if o.Lamp != telephony.LampKnown {
		// Unknown, never free: o is the last state known, the changes
		// are judged when the lamp is known again.
		slot.Set(widgets.SlotUnavailable, "", "", time.Time{})
		slot.Tick(now)
		return
	}
	switch {
	case !o.Occupied:
		v.since = now
	case !o.ParkedAt.IsZero():
		v.since = o.ParkedAt
	case !prev.Occupied || prev.CallerURI != o.CallerURI:
		v.since = now
	}
	state, caller, parker := slotView(o, c.opts.Identity)
	if o.Occupied {
		slot.Set(state, caller, parker, slotSince(o, v.since))
		c.showFor(o)
	} else {
		slot.Set(state, "", "", v.since)
		c.showFor(o)
	}
	slot.Tick(now)

	n := o.Number
	if o.Occupied && o.ParkedByMe {
		c.parkedHere(o, v.since)
		c.anyParkLanded(o)
	}
	if prev.Occupied && o.Occupied && !o.ReturnedAt.IsZero() && !o.ReturnedAt.Equal(prev.ReturnedAt) {
		if t := c.book.parked[n]; t != nil {
			t.e.Outcome, t.e.OutcomeAt = calllog.Returned, now
			c.write(t)
		}
	}
	if prev.Occupied && !o.Occupied {
		t := c.book.parked[n]
		if _, retrieving := c.retrieving[n]; !retrieving && t != nil {
			delete(c.book.parked, n)
			c.leftOrbit(t, o, now)
		}
	}
	if !prev.Occupied && !o.Occupied && o.Left == telephony.LeftServiceStopped {
		c.lostUnseen(o, now)
	}
	c.rejudge(o)
}
