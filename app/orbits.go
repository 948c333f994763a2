package app

import (
	"fmt"
	"time"

	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// orbitChanged lights or darkens an orbit's slot. When an orbit this
// console parked a call on goes dark and nobody here retrieved it, the
// history says how the caller left: gave up (with a call-back button),
// retrieved by whom, went to the fallback, or just left when the park
// service does not say; when its call comes back from a ring-back nobody
// answered, the history says that too.
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
	} else {
		slot.Set(state, "", "", v.since)
	}
	slot.Tick(now)

	n := o.Number
	if o.Occupied && o.ParkedByMe {
		if _, ok := c.parks[n]; !ok {
			c.parks[n] = parkNote{who: who(o.CallerName, o.CallerURI), uri: o.CallerURI, at: v.since}
		}
	}
	if prev.Occupied && o.Occupied && !o.ReturnedAt.IsZero() && !o.ReturnedAt.Equal(prev.ReturnedAt) {
		if note, mine := c.parks[n]; mine {
			c.history.add(now, fmt.Sprintf("%s returned to %d, nobody answered", note.who, n), "")
		}
	}
	if prev.Occupied && !o.Occupied {
		note, mine := c.parks[n]
		if _, retrieving := c.retrieving[n]; !retrieving && mine {
			delete(c.parks, n)
			c.noteLeft(now, n, note, o)
		}
	}
}

// noteLeft tells the history how a call this console parked left its
// orbit, as far as the park service said.
func (c *Console) noteLeft(now time.Time, n int, note parkNote, o telephony.Orbit) {
	after := widgets.Clock(now.Sub(note.at))
	switch o.Left {
	case telephony.LeftGaveUp:
		uri := note.uri
		if uri == "" {
			uri = o.CallerURI
		}
		c.history.add(now, fmt.Sprintf("%s gave up on %d after %s", note.who, n, after), uri)
	case telephony.LeftRetrieved:
		by := shortParty(o.RetrievedBy)
		if by == "" {
			by = "another console"
		}
		c.history.add(now, fmt.Sprintf("%s was retrieved from %d by %s after %s", note.who, n, by, after), "")
	case telephony.LeftFallback:
		c.history.add(now, fmt.Sprintf("%s on %d went to the fallback after %s", note.who, n, after), "")
	case telephony.LeftLost:
		c.history.add(now, fmt.Sprintf("%s was lost from %d after %s: the phone stopped answering", note.who, n, after), "")
	case telephony.LeftRingBack:
		if telephony.SameParty(o.RetrievedBy, c.opts.Identity) || telephony.SameParty(o.RetrievedBy, o.Parker) {
			return // answered here: its line says so
		}
		by := shortParty(o.RetrievedBy)
		if by == "" {
			by = "another console"
		}
		c.history.add(now, fmt.Sprintf("%s on %d was answered by %s after %s", note.who, n, by, after), "")
	default:
		c.history.add(now, fmt.Sprintf("%s left %d after %s", note.who, n, after), "")
	}
}
