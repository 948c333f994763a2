package sip

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/switchboard/switchboard/telephony"
)

// KeptPark is one call this console parked and that is still parked,
// as kept across the console's restarts (Config.KeptParks).
type KeptPark struct {
	Orbit int
	// Token is the park's token, sent again by a safe retrieve.
	Token      string
	CallerName string
	CallerURI  string
	// For is whom the park is for and its note; zero: nobody.
	For      telephony.ParkFor
	ParkedAt time.Time
}

// KeptParks is where a console keeps its parks across its restarts: a
// file in its state directory (telephony/sip/keptparks.SQLite). Its
// methods are called from one goroutine at a time, never with the
// phone's lock held.
type KeptParks interface {
	// Parks returns the parks kept.
	Parks(ctx context.Context) ([]KeptPark, error)
	// Keep replaces the parks kept with parks (sorted by orbit).
	Keep(ctx context.Context, parks []KeptPark) error
}

// keptWriteTimeout bounds one write of the kept parks.
const keptWriteTimeout = 10 * time.Second

// keeper writes the console's parks to Config.KeptParks on its own
// goroutine: the latest set wins, earlier ones not yet written are
// skipped.
type keeper struct {
	p    *Phone
	mu   sync.Mutex
	next []KeptPark // the set to write; nil: none pending
	kick chan struct{}
}

// loadKept reads the kept parks into the records (before the lamps run:
// the first lamp of such an orbit shows it as this console's) and starts
// the keeper. Call it from Start.
func (p *Phone) loadKept(ctx context.Context) {
	if p.cfg.KeptParks == nil {
		return
	}
	kept, err := p.cfg.KeptParks.Parks(ctx)
	if err != nil {
		p.log.Warn("kept parks: cannot read them: a retrieve of a call parked before this start is a plain one", "error", err)
	}
	p.mu.Lock()
	for _, k := range kept {
		if !p.cfg.Park.Orbits.Contains(k.Orbit) || k.Token == "" {
			continue
		}
		if _, ok := p.parking.records[k.Orbit]; ok {
			continue
		}
		p.parking.records[k.Orbit] = parkRecord{token: k.Token, callerName: k.CallerName, callerURI: k.CallerURI, at: k.ParkedAt}
		if !k.For.Nobody() {
			if p.forWhom == nil {
				p.forWhom = make(map[int]telephony.ParkFor)
			}
			p.forWhom[k.Orbit] = k.For
		}
	}
	p.keep = &keeper{p: p, kick: make(chan struct{}, 1)}
	p.mu.Unlock()
	if len(kept) > 0 {
		p.log.Info("kept parks read", "parks", len(kept))
	}
	p.wg.Go(p.keep.run)
}

// keepLocked hands the parks now lit (this console's records of calls
// still parked) to the keeper; p.mu is held.
func (p *Phone) keepLocked() {
	if p.keep == nil || p.closed {
		return // closing: its lamps going dark is no park ending
	}
	parks := []KeptPark{}
	for _, n := range slices.Sorted(maps.Keys(p.parking.records)) {
		rec := p.parking.records[n]
		if !rec.left.IsZero() || rec.token == "" {
			continue
		}
		parks = append(parks, KeptPark{Orbit: n, Token: rec.token, CallerName: rec.callerName,
			CallerURI: rec.callerURI, For: p.forWhom[n], ParkedAt: rec.at})
	}
	k := p.keep
	k.mu.Lock()
	k.next = parks
	k.mu.Unlock()
	select {
	case k.kick <- struct{}{}:
	default:
	}
}

// run writes each set handed over until the phone closes, and the last
// one then.
func (k *keeper) run() {
	for {
		select {
		case <-k.kick:
			k.write()
		case <-k.p.ctx.Done():
			k.write()
			return
		}
	}
}

// write writes the pending set, if any.
func (k *keeper) write() {
	k.mu.Lock()
	parks := k.next
	k.next = nil
	k.mu.Unlock()
	if parks == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), keptWriteTimeout)
	defer cancel()
	if err := k.p.cfg.KeptParks.Keep(ctx, parks); err != nil {
		k.p.log.Warn("kept parks: cannot write them: after a restart this console retrieves them with the plain retrieve", "error", err)
	}
}
