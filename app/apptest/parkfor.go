package apptest

import (
	"context"
	"fmt"

	"github.com/switchboard/switchboard/telephony"
)

// ParkFor parks like Park, for someone: the orbit shows f.For and
// f.Note. It is recorded as "park ID ORBIT for URI note "NOTE"" (a zero
// f as Park's "park ID ORBIT"). The fake tells nobody: the SIP MESSAGE
// is telephony/sip's.
func (p *Phone) ParkFor(ctx context.Context, id telephony.CallID, orbit int, f telephony.ParkFor) error {
	if f.Nobody() {
		return p.Park(ctx, id, orbit)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.record("park %s %d for %s note %q", id, orbit, f.For, f.Note); err != nil {
		return err
	}
	return p.parkLocked(id, orbit, f)
}

// RetrieveParked retrieves the orbit n names, recorded as
// "retrieve-parked ORBIT TOKEN" and then as Retrieve. Like the SIP
// phone it refuses (telephony.ErrNoticeNotConfirmed) a notice its orbit
// does not confirm now (telephony.CheckNotice; the fake's lamps never
// say whom a call is for), or, where the fake has no such orbit, one
// whose Check is not confirmed.
func (p *Phone) RetrieveParked(ctx context.Context, n telephony.ParkedForYou) (telephony.CallID, error) {
	p.mu.Lock()
	if o := p.orbits[n.Orbit]; o != nil {
		n.Check, n.Left = telephony.CheckNotice(n, *o, "", false)
	}
	p.mu.Unlock()
	if n.Check != telephony.NoticeConfirmed {
		return "", fmt.Errorf("apptest: retrieve %d: %w", n.Orbit, &telephony.NoticeError{Notice: n})
	}
	p.mu.Lock()
	err := p.record("retrieve-parked %d %s", n.Orbit, n.Token)
	p.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("apptest: %w", err)
	}
	return p.Retrieve(ctx, n.Orbit)
}

// TellParkedFor delivers a park notice, as another console's MESSAGE
// would.
func (p *Phone) TellParkedFor(n telephony.ParkedForYou) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.emit(n)
}

// RingBackFor simulates the park service ringing back a call parked on
// orbit for forURI with note (X-Park-For, X-Park-Note), that nobody
// retrieved.
func (p *Phone) RingBackFor(name, uri string, orbit int, forURI, note string) telephony.CallID {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.newCallLocked(telephony.Inbound, name, uri)
	c.BackFrom, c.ParkedFor, c.ParkNote = orbit, forURI, note
	p.changedLocked(c)
	return c.ID
}
