// Parking: parks (Park: hold, then REFER with a token), their
// confirmation by a sipfrag's X-Park-Orbit or by a lamp, park by relay
// for callers that refuse REFER, the records of what this console parked
// where, comebacks, and Retrieve. The state is the parking struct's and
// each call's park attempt, guarded by p.mu.

package sip

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony"
)

// parking owns the console's parks: the attempts in progress (each on
// its call, call.park), their confirmation by a sipfrag or a lamp, relay
// parks, what this console parked where (for safe retrieve, to name an
// anonymous lamp and to recognise a comeback), and the park service's
// health as last probed. Its state is guarded by p.mu.
type parking struct {
	p       *Phone
	records map[int]parkRecord // what this console parked, by orbit
	up      bool               // the park service answered its last probe
	seen    bool               // the park service was probed at least once
}

// parkAttempt is one park in progress.
type parkAttempt struct {
	orbit      int // requested; 0: any
	token      string
	uri        sip.Uri
	started    time.Time
	forWhom    telephony.ParkFor
	callerName string
	callerURI  string
	notify     chan int      // REFER NOTIFY sipfrag codes
	lamp       chan int      // an orbit whose lamp shows our caller
	anon       chan struct{} // an anonymous lamp lit after our 2xx (lit has it)
	fragOrbit  atomic.Int64
	// guarded by p.mu
	legGone   bool  // our leg ended while parking
	lampOrbit int   // the orbit whose lamp confirmed it (sent on lamp)
	accepted  bool  // a 2xx sipfrag came: the PBX has taken the caller
	lit       []int // orbits whose anonymous lamp lit since accepted
	early     []int // orbits whose anonymous lamp lit before accepted
}

// parkRecord is what the console remembers of a call it parked, by
// orbit, for safe retrieve, to name its lamp and to recognise its
// return.
type parkRecord struct {
	token      string
	call       telephony.CallID
	callerName string
	callerURI  string
	at         time.Time
	left       time.Time             // when the orbit's lamp went dark; zero while lit
	leftHow    telephony.ParkOutcome // how the call left, when the lamp said so
	// returned is when an unmarked call from the caller was taken for
	// its return while the orbit was still lit (the PBX's INVITE beat
	// the lamp): the record goes once the lamp goes dark, not before.
	returned time.Time
}

// maybePark is what the console keeps of a call the PBX took whose
// orbit no lamp confirmed for certain: it is on one of the call's
// Candidates (kept in call.info, narrowed here).
type maybePark struct {
	token string
	at    time.Time // when it was parked
	order []int     // the candidates in the order they lit: the first is the likeliest
	// returned is when an unmarked call from its caller was taken for
	// its return: the next candidate to go dark is the one it left.
	returned time.Time
}

// How long the console waits for a REFER NOTIFY once the caller's leg
// ended without one (the NOTIFY and the caller's BYE race), and how long
// after its orbit went dark an unmarked call from a caller we parked is
// taken for its return (Asterisk's comebacktoorigin).
const (
	referGrace     = time.Second
	comebackWindow = 15 * time.Second
	legByeTimeout  = 5 * time.Second
	// lampSettle is how long a park-any waits, after the first anonymous
	// lamp lit since its 2xx, for others that light in the same moment
	// (other consoles', desk phones' parks) before it takes the one
	// orbit as its own.
	lampSettle = time.Second
	// probeAfter is how long after a REFER's 202 without an outcome the
	// console asks the PBX whether it still holds our leg (an in-dialog
	// OPTIONS answered within probeTimeout), rather than waiting the
	// whole park timeout: a PBX that took the caller answers 481.
	probeAfter   = 2 * time.Second
	probeTimeout = 2 * time.Second
)

// relay is the console's own leg to the park service of a call it
// parks by relay.
type relayPark struct {
	d    *diago.DialogClientSession
	leg  *leg
	done chan struct{} // closed when the relay is torn down
}

// Park parks a call on orbit (0: the next free one); see the package
// documentation for the protocol. It returns once the park is under way;
// the outcome arrives as CallChanged events.
func (p *Phone) Park(ctx context.Context, id telephony.CallID, orbit int) error {
	return p.ParkFor(ctx, id, orbit, telephony.ParkFor{})
}

// ParkFor parks a call like Park, for someone (message.go): whom it is
// for and the note go on the park URI where the park service is
// Switchboard's, and once the park is confirmed the colleague gets a
// park notice.
func (p *Phone) ParkFor(ctx context.Context, id telephony.CallID, orbit int, f telephony.ParkFor) error {
	forURI, ferr := p.checkParkFor(f)
	if ferr != nil {
		return ferr
	}
	pc := p.cfg.Park
	if !pc.Enabled() {
		return fmt.Errorf("sip: park: %w", ErrNoParkService)
	}
	if orbit != 0 && !pc.Orbits.Contains(orbit) {
		return fmt.Errorf("sip: park on %d: %w (%s)", orbit, ErrBadOrbit, pc.Orbits)
	}
	if orbit != 0 && pc.ParkOrbit == "" {
		return fmt.Errorf("sip: park on %d: this park service takes no directed parks", orbit)
	}
	if _, err := p.lookup(id); err != nil {
		return err
	}
	p.mu.Lock()
	down := p.parking.seen && !p.parking.up
	p.mu.Unlock()
	if down {
		return fmt.Errorf("sip: park %s: %w", id, ErrParkUnavailable)
	}
	a := &parkAttempt{orbit: orbit, token: newToken(), started: time.Now(),
		notify: make(chan int, 8), lamp: make(chan int, 1), anon: make(chan struct{}, 1)}
	tmpl := pc.ParkAny
	if orbit != 0 {
		tmpl = pc.ParkOrbit
	}
	var err error
	a.uri, err = expand(tmpl, orbit, a.token)
	if err != nil {
		return fmt.Errorf("sip: park: %w", err)
	}
	if a.uri.UriParams == nil {
		a.uri.UriParams = sip.NewParams()
	}
	a.uri.UriParams.Add("token", a.token)
	addParker(&a.uri.UriParams, p.aor)
	a.forWhom = f
	if p.switchboardLot() {
		forWhomParams(&a.uri.UriParams, forURI, f.Note)
	}

	// Our leg stays up, on hold, until the park is confirmed. The hold
	// goes over the network: the caller may hang up meanwhile, and the
	// phone forget the call, or be about to (its dialog ended: the BYE
	// came, the call's end is on its way).
	var c *call
	var op *lineOp
	err = p.runLineOp(ctx, id, telephony.OpPark, lineSteps{
		begin: func(o *lineOp) error {
			c, op = o.c, o
			if err := checkHandOver(c, telephony.OpPark); err != nil {
				return err
			}
			a.callerName, a.callerURI = c.info.RemoteName, c.info.RemoteURI
			o.holdLocked(c)
			return nil
		},
		wait: func() error {
			if op.holdErr != nil {
				// A caller who hangs up while we hold answers the hold
				// (481) once its BYE is answered, and diago answers a
				// BYE before it ends the dialog: give that a moment.
				select {
				case <-c.sess().Context().Done():
				case <-time.After(referGrace):
				case <-ctx.Done():
				}
			}
			if c.sess().Context().Err() == nil {
				return nil
			}
			// The BYE came and the call's end is on its way: once Park
			// says so, the phone has forgotten the call.
			select {
			case <-c.ended:
			case <-ctx.Done():
			}
			return fmt.Errorf("the caller hung up: %w", ErrNoSuchCall)
		},
		end: func(o *lineOp, waited error) error {
			if waited != nil {
				return waited
			}
			if !c.moveLocked(telephony.EvParkRequested) {
				return fmt.Errorf("the caller hung up: %w", ErrNoSuchCall)
			}
			c.park = a
			c.info.Orbit, c.info.Token, c.info.Reason = orbit, a.token, ""
			return nil
		},
	})
	if err != nil {
		return err
	}
	p.log.Info("parking", "call", c.id, "orbit", orbit, "uri", a.uri.String())
	p.changed(c)
	p.wg.Go(func() { p.parking.run(c, a) })
	return nil
}

// addParker names us as the parker in a park URI. Where the AOR's user
// and host need no escaping it uses parker-user and parker-host: baresip
// 1.0 runs a Refer-To through printf and eats percent escapes, and it
// drops Referred-By, so the escaped form reached the service mangled.
// Otherwise it falls back to the percent-escaped parker parameter of
// PARK-PROTOCOL.md.
func addParker(params *sip.HeaderParams, aor sip.Uri) {
	hostport := aor.Host
	if aor.Port != 0 {
		hostport += ":" + strconv.Itoa(aor.Port)
	}
	if aor.User != "" && plainParam(aor.User) && plainParam(hostport) {
		params.Add("parker-user", aor.User)
		params.Add("parker-host", hostport)
		return
	}
	params.Add("parker", parkerParam(aor))
}

// plainParam reports whether s may stand in a URI parameter unescaped
// (RFC 3261 paramchar without escapes).
func plainParam(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-_.!~*'()[]/:&+$", r):
		default:
			return false
		}
	}
	return true
}

// parkerParam is the parker URI parameter: the AOR without its scheme,
// percent-escaped (console%40host%3A5060).
func parkerParam(aor sip.Uri) string {
	s := strings.TrimPrefix(strings.TrimPrefix(uriString(aor), "sips:"), "sip:")
	return strings.NewReplacer("@", "%40", ":", "%3A", ";", "%3B", "=", "%3D", "?", "%3F", "&", "%26").Replace(url.PathEscape(s))
}

// run sends the REFER and waits for the park's outcome. A 200
// sipfrag alone does not prove the park (PARK-PROTOCOL.md, "Interworking
// with another PBX": Asterisk says 200 and then hangs up a caller it
// could not park): the park is done when X-Park-Orbit came back in the
// sipfrag, when a lamp naming the caller lights, or when an anonymous
// lamp lights after the 2xx: the requested orbit's for a directed park;
// for a park-any the one orbit that lit within lampSettle of the first
// (more than one: the call may be on any of them, and the console does
// not guess). Until the 2xx our leg stays up, and a failed park leaves
// the call with the console, held, saying why. After it the PBX has the
// caller and answers nothing on our leg: a park no lamp confirmed leaves
// the lines (tookUnconfirmed).
func (pk *parking) run(c *call, a *parkAttempt) {
	p := pk.p
	timeout := p.cfg.Park.Timeout
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	referredBy := sip.NewHeader("Referred-By", "<"+p.aor.String()+">")
	// The sipfrag codes come from peekReferNotify, which sees every NOTIFY
	// (also one that arrives after the caller's BYE); a non-nil OnNotify
	// keeps diago from hanging up by itself.
	err := c.refer(ctx, a.uri, []sip.Header{referredBy}, func(int) {})
	if err != nil {
		if c.sess().Context().Err() != nil {
			pk.failed(c, a, endAs(telephony.EndHungUpByFarEnd, "caller hung up while parking"))
			return
		}
		if res := responseOf(err); res != nil {
			switch res.StatusCode {
			case sip.StatusMethodNotAllowed, sip.StatusNotAcceptable, sip.StatusNotImplemented:
				p.log.Info("caller refuses REFER: parking by relay", "call", c.id, "status", res.StatusCode)
				pk.relay(ctx, c, a)
				return
			case sip.StatusServiceUnavailable:
				// chan_sip's "can't handle one-legged xfers": the call
				// is not bridged through yet (park pressed just after
				// answering).
				pk.failed(c, a, endAs(telephony.EndFailed, fmt.Sprintf("the PBX was not ready to park yet: try again (%s)", strings.TrimPrefix(res.StartLine(), "SIP/2.0 "))))
				return
			}
			pk.failed(c, a, endAs(telephony.EndFailed, fmt.Sprintf("caller cannot be transferred (%s)", strings.TrimPrefix(res.StartLine(), "SIP/2.0 "))))
			return
		}
		if ctx.Err() != nil {
			pk.failed(c, a, endAs(telephony.EndFailed, "caller cannot be transferred (no answer to REFER)"))
			return
		}
		pk.failed(c, a, endAs(telephony.EndFailed, "caller cannot be transferred: "+err.Error()))
		return
	}
	ended := c.sess().Context().Done()
	var grace, settle <-chan time.Time
	referOK := false
	probe := time.After(probeAfter)
	probed := make(chan bool, 1)
	for {
		select {
		case <-probe:
			probe = nil
			if !referOK && ended != nil {
				p.wg.Go(func() { probed <- c.legGone(ctx) })
			}
		case gone := <-probed:
			if gone && !referOK {
				p.log.Warn("the PBX no longer knows our leg of a call it accepted to park", "call", c.id)
				pk.tookUnconfirmed(c, a, pk.legGoneWords(a))
				return
			}
		case code := <-a.notify:
			switch {
			case code < 200 || referOK:
				continue
			case code < 300:
				if n := int(a.fragOrbit.Load()); n != 0 {
					pk.confirmed(c, a, n, "X-Park-Orbit")
					return
				}
				referOK, grace = true, nil
				p.log.Info("REFER accepted; waiting for the lamp to confirm the park", "call", c.id, "orbit", a.orbit, "code", code)
			default:
				pk.failed(c, a, endAs(telephony.EndFailed, parkReason(code, a.orbit)))
				return
			}
		case n := <-a.lamp:
			pk.confirmed(c, a, n, "lamp")
			return
		case <-a.anon:
			if settle == nil {
				settle = time.After(lampSettle)
			}
		case <-settle:
			p.mu.Lock()
			lit := slices.Compact(slices.Sorted(slices.Values(a.lit)))
			if len(lit) == 1 && c.park == a {
				a.lampOrbit = lit[0]
			}
			p.mu.Unlock()
			if len(lit) == 1 {
				pk.confirmed(c, a, lit[0], "lamp")
			} else {
				pk.uncertain(c, a, lit)
			}
			return
		case <-ctx.Done():
			switch {
			case p.ctx.Err() != nil:
				pk.failed(c, a, endAs(telephony.EndClosed, ""))
			case referOK:
				p.mu.Lock()
				lit := slices.Compact(slices.Sorted(slices.Values(slices.Concat(a.lit, a.early))))
				p.mu.Unlock()
				pk.tookUnconfirmed(c, a, unconfirmed(a, timeout, lit))
			case ended != nil && c.legGone(p.ctx):
				pk.tookUnconfirmed(c, a, pk.legGoneWords(a))
			default:
				pk.failed(c, a, endAs(telephony.EndFailed, fmt.Sprintf("park service unreachable (no outcome in %s)", timeout)))
			}
			return
		case <-ended:
			ended = nil
			p.mu.Lock()
			byUs := c.endReason.set()
			if c.park == a {
				a.legGone = true
			}
			p.mu.Unlock()
			switch {
			case byUs:
				pk.failed(c, a, ending{})
				return
			case !referOK:
				grace = time.After(referGrace)
			}
		case <-grace:
			pk.failed(c, a, endAs(telephony.EndHungUpByFarEnd, "caller hung up while parking"))
			return
		}
	}
}

// unconfirmed says why a park the REFER accepted is not taken as done;
// lit are the orbits that lit since, where the call may be.
func unconfirmed(a *parkAttempt, timeout time.Duration, lit []int) string {
	what := fmt.Sprintf("no orbit's lamp lit within %s", timeout)
	if a.orbit != 0 {
		what = fmt.Sprintf("the lamp of orbit %d did not light within %s", a.orbit, timeout)
	}
	if len(lit) == 0 {
		return fmt.Sprintf("the PBX took %s but %s: the PBX may have dropped the call", callerLabel(a), what)
	}
	return fmt.Sprintf("the PBX took %s but %s: it may be on %s, which lit at the same time", callerLabel(a), what, orbitList(lit))
}

// legGoneWords says why a park whose REFER the PBX accepted (202), with
// no outcome since, leaves the lines: the PBX no longer knows our leg,
// so it has the caller, maybe on an orbit that lit meanwhile.
func (pk *parking) legGoneWords(a *parkAttempt) string {
	pk.p.mu.Lock()
	lit := slices.Compact(slices.Sorted(slices.Values(slices.Concat(a.lit, a.early))))
	pk.p.mu.Unlock()
	what := fmt.Sprintf("the PBX took %s without saying how it went", callerLabel(a))
	if len(lit) == 0 {
		return what + ": the PBX may have dropped the call"
	}
	return fmt.Sprintf("%s: it may be on %s, which lit since", what, orbitList(lit))
}

// legGone asks the far end, with an in-dialog OPTIONS, whether it still
// knows c's dialog: true only when it says it does not (481). No answer
// within probeTimeout, or any other, proves nothing.
func (c *call) legGone(parent context.Context) bool {
	ctx, cancel := context.WithTimeout(parent, probeTimeout)
	defer cancel()
	var res *sip.Response
	var err error
	switch d := c.sess().(type) {
	case *diago.DialogServerSession:
		res, err = d.Do(ctx, sip.NewRequest(sip.OPTIONS, d.RemoteContact().Address))
	case *diago.DialogClientSession:
		res, err = d.Do(ctx, sip.NewRequest(sip.OPTIONS, d.RemoteContact().Address))
	default:
		return false
	}
	if err != nil {
		c.p.log.Debug("probing a doubtful leg", "call", c.id, "error", err)
		return false
	}
	c.p.log.Info("probed a doubtful leg", "call", c.id, "status", res.StatusCode)
	return res.StatusCode == sip.StatusCallTransactionDoesNotExists
}

// callerLabel names the caller being parked.
func callerLabel(a *parkAttempt) string {
	if a.callerName != "" {
		return a.callerName
	}
	if a.callerURI != "" {
		return a.callerURI
	}
	return "the call"
}

// orbitList words orbits as "701 and 702" or "701, 702 and 703".
func orbitList(orbits []int) string {
	words := make([]string, len(orbits))
	for i, n := range orbits {
		words[i] = strconv.Itoa(n)
	}
	if len(words) < 2 {
		return "orbit " + strings.Join(words, "")
	}
	return "orbits " + strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// litLocked tells the parks in progress that an anonymous lamp
// (Asterisk's) lit orbit n; p.mu is held. Only a park the PBX accepted
// (a 2xx sipfrag) may take it: one lighting before is another parker's.
// A directed park takes its own orbit's lamp (others it notes, to say
// where the call may be); a park-any collects the orbits that light and
// decides once they settle (run).
func (pk *parking) litLocked(cands []*parkAttempt, n int) {
	for _, a := range cands {
		switch {
		case !a.accepted:
			a.early = append(a.early, n) // never ours, but where it may be if nothing lights after
		case a.orbit == n:
			a.lampOrbit = n
			a.lamp <- n // buffered for the one orbit it is given
		case a.orbit != 0:
			a.lit = append(a.lit, n) // where it may be, when its own orbit does not light
		default:
			a.lit = append(a.lit, n)
			select {
			case a.anon <- struct{}{}:
			default:
			}
		}
	}
}

// tookUnconfirmed ends a call the PBX took (a 2xx sipfrag) but no lamp
// confirmed for certain. Our leg is gone whatever follows (Asterisk
// answers nothing on it any more): the call leaves the lines with words,
// and the console ends its leg.
func (pk *parking) tookUnconfirmed(c *call, a *parkAttempt, words string) {
	p := pk.p
	p.mu.Lock()
	if c.park != a {
		p.mu.Unlock()
		return
	}
	gone := a.legGone
	c.info.Orbit = 0 // no orbit is known to be its
	why := endAs(telephony.EndParkUnconfirmed, words)
	c.endReason = why
	p.endLocked(c, why)
	p.mu.Unlock()
	p.log.Warn("park taken by the PBX but not confirmed", "call", c.id, "reason", words)
	p.changed(c)
	if gone {
		return
	}
	if err := c.endLeg(p.ctx); err != nil {
		p.log.Debug("ending our leg after an unconfirmed park", "call", c.id, "error", err)
	}
}

// uncertain decides a park-any the PBX took (a 2xx sipfrag) when more
// than one orbit lit after it: its caller is on one of them and the
// console cannot tell which (lamps are anonymous; PARK-PROTOCOL.md: never
// guess). The call stays on the lines, parked "on 701 or 702", with the
// candidates still lit, the first to light the likeliest; they narrow as
// the lamps change (orbitChangedLocked). The console ends its leg. With
// none still lit the call leaves the lines (tookUnconfirmed).
func (pk *parking) uncertain(c *call, a *parkAttempt, lit []int) {
	p := pk.p
	p.mu.Lock()
	if c.park != a {
		p.mu.Unlock()
		return
	}
	var order []int
	for _, n := range a.lit {
		if !slices.Contains(order, n) && pk.mayBeOnLocked(c, n, a.callerURI) {
			order = append(order, n)
		}
	}
	if len(order) > telephony.MaxCandidates {
		p.mu.Unlock()
		pk.tookUnconfirmed(c, a, fmt.Sprintf("the PBX took %s but %s lit at the same time: it may be on any of them", callerLabel(a), orbitList(lit)))
		return
	}
	if len(order) == 0 {
		p.mu.Unlock()
		pk.tookUnconfirmed(c, a, fmt.Sprintf("the PBX took %s but %s lit at the same time and none of them holds a call it may be now: it may have left", callerLabel(a), orbitList(lit)))
		return
	}
	c.park = nil
	c.moveLocked(telephony.EvParkConfirmed)
	c.maybe = &maybePark{token: a.token, at: a.started, order: order}
	c.info.Orbit = 0
	c.setCandidatesLocked(order)
	c.endReason = endAs(telephony.EndParked, "")
	gone := a.legGone
	if gone {
		p.forgetDialogLocked(c)
	}
	p.mu.Unlock()
	p.log.Warn("parked, but on which orbit is not certain", "call", c.id, "candidates", order, "lit", lit)
	p.changed(c)
	if gone {
		return
	}
	if err := c.endLeg(p.ctx); err != nil {
		p.log.Debug("ending our leg after an uncertain park", "call", c.id, "error", err)
	}
}

// mayBeOnLocked reports whether the caller at uri, parked by call c,
// may be on orbit n: it is lit, by no other call this console parked
// there for certain, and its lamp names no other caller or parker. p.mu
// is held.
func (pk *parking) mayBeOnLocked(c *call, n int, uri string) bool {
	p := pk.p
	o := p.orbits[n]
	if o == nil || !o.Occupied {
		return false
	}
	if rec, ok := pk.records[n]; ok && rec.left.IsZero() && rec.call != c.id {
		return false
	}
	if o.Parker != "" && !telephony.SameParty(o.Parker, p.aor.String()) {
		return false
	}
	return o.CallerURI == "" || o.ParkedByMe || telephony.SameParty(o.CallerURI, uri)
}

// setCandidatesLocked shows an uncertain park on the orbits order lists
// (the likeliest first, at most telephony.MaxCandidates); p.mu is held.
func (c *call) setCandidatesLocked(order []int) {
	c.info.Candidates, _ = telephony.NewOrbitSet(order...)
	c.info.Likely = order[0]
	c.info.Reason = candidateWords(c.info.Candidates.List())
}

// candidateWords words where an uncertain park is: "parked, on 701 or
// 702", "parked, probably on 702".
func candidateWords(cands []int) string {
	if len(cands) == 1 {
		return fmt.Sprintf("parked, probably on %d", cands[0])
	}
	return "parked, on " + orWords(cands)
}

// orWords words orbits as "701", "701 or 702", "701, 702 or 703".
func orWords(orbits []int) string {
	words := make([]string, len(orbits))
	for i, n := range orbits {
		words[i] = strconv.Itoa(n)
	}
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// notOursLocked takes orbit n, where call c of ours is now parked for
// certain, off the candidates of the other uncertain parks; p.mu is
// held. It returns the calls it changed, to publish.
func (pk *parking) notOursLocked(n int, c *call) []*call {
	var touched []*call
	for _, o := range pk.p.calls {
		if o != c && o.info.Uncertain() && o.info.Candidates.Contains(n) {
			pk.dropCandidateLocked(o, n, false, telephony.LeftUnknown)
			touched = append(touched, o)
		}
	}
	return touched
}

// orbitChangedLocked narrows the uncertain parks by orbit n's change
// from prev to next; p.mu is held. A candidate that goes dark, or lights
// naming another caller or parker, is not where the call is now. It
// returns the calls it changed, to publish. A park record is never
// dropped here: a dark one waits for its return (comebackLocked).
func (pk *parking) orbitChangedLocked(prev, next telephony.Orbit) []*call {
	p := pk.p
	n := next.Number
	dark := prev.Occupied && !next.Occupied
	var touched []*call
	for _, c := range p.calls {
		if !c.info.Uncertain() || !c.info.Candidates.Contains(n) {
			continue
		}
		switch {
		case dark:
		case next.Occupied && next.Parker != "" && !telephony.SameParty(next.Parker, p.aor.String()):
		case next.Occupied && next.CallerURI != "" && !telephony.SameParty(next.CallerURI, c.info.RemoteURI):
		default:
			continue
		}
		pk.dropCandidateLocked(c, n, dark, next.Left)
		touched = append(touched, c)
	}
	return touched
}

// dropCandidateLocked takes orbit n off uncertain park c's candidates;
// p.mu is held. dark: n went dark (how, as its lamp said): the call may
// have left from it, so a record of it stays for its return; when its
// caller rang back moments ago, or n was its last candidate, it has
// left. The caller publishes the change.
func (pk *parking) dropCandidateLocked(c *call, n int, dark bool, how telephony.ParkOutcome) {
	p := pk.p
	m := c.maybe
	if m == nil {
		return
	}
	m.order = slices.DeleteFunc(slices.Clone(m.order), func(o int) bool { return o == n })
	now := time.Now()
	if dark {
		if _, ok := pk.records[n]; !ok {
			pk.records[n] = parkRecord{token: m.token, call: c.id, callerName: c.info.RemoteName, callerURI: c.info.RemoteURI, at: m.at, left: now, leftHow: how}
		}
	}
	switch {
	case dark && !m.returned.IsZero() && now.Sub(m.returned) <= comebackWindow, dark && len(m.order) == 0:
		p.log.Info("uncertain park left its orbit", "call", c.id, "orbit", n)
		p.endLocked(c, endAs(telephony.EndLeftOrbit, fmt.Sprintf("left orbit %d", n)))
	case len(m.order) == 0:
		p.log.Info("uncertain park: every orbit it may be on holds another call", "call", c.id, "orbit", n)
		p.endLocked(c, endAs(telephony.EndParkUnconfirmed, fmt.Sprintf("the PBX took %s but orbit %d, where it may have been, holds another call now: it may have left", who(c.info.RemoteName, c.info.RemoteURI), n)))
	default:
		c.setCandidatesLocked(m.order)
		p.log.Info("uncertain park narrowed", "call", c.id, "without", n, "candidates", c.info.Candidates)
	}
}

// who names a caller for the words of a call: the name, or the URI.
func who(name, uri string) string {
	if name != "" {
		return name
	}
	if uri != "" {
		return uri
	}
	return "the call"
}

// responseOf returns the SIP response an error carries, if any.
func responseOf(err error) *sip.Response {
	var ptr *sipgo.ErrDialogResponse
	if errors.As(err, &ptr) {
		return ptr.Res
	}
	var val sipgo.ErrDialogResponse
	if errors.As(err, &val) {
		return val.Res
	}
	return nil
}

// parkReason words a failed park's final status.
func parkReason(code, orbit int) string {
	switch code {
	case sip.StatusBusyHere, sip.StatusGlobalBusyEverywhere:
		if orbit != 0 {
			return fmt.Sprintf("orbit %d is busy", orbit)
		}
		return "parking lot is full"
	case sip.StatusNotFound:
		if orbit != 0 {
			return fmt.Sprintf("orbit %d does not exist", orbit)
		}
		return "park service does not know the park address"
	case sip.StatusForbidden, sip.StatusUnauthorized, sip.StatusProxyAuthRequired:
		return fmt.Sprintf("park service refused the call (%d)", code)
	case sip.StatusRequestTimeout, sip.StatusServiceUnavailable, sip.StatusTemporarilyUnavailable, 504:
		return fmt.Sprintf("park service unreachable (%d)", code)
	}
	return fmt.Sprintf("park failed (%d)", code)
}

// confirmed ends our leg: the call is on its orbit.
func (pk *parking) confirmed(c *call, a *parkAttempt, orbit int, by string) {
	p := pk.p
	p.mu.Lock()
	if c.park != a {
		p.mu.Unlock()
		return
	}
	c.park = nil
	c.moveLocked(telephony.EvParkConfirmed)
	c.info.Orbit = orbit
	c.info.Reason = ""
	c.endReason = endAs(telephony.EndParked, "")
	pk.parkedForLocked(a, orbit)
	gone := a.legGone
	if gone {
		p.forgetDialogLocked(c)
	}
	rec := parkRecord{token: a.token, call: c.id, callerName: a.callerName, callerURI: a.callerURI, at: a.started}
	o := p.orbits[orbit]
	if o != nil && o.Occupied && (o.Parker == "" || telephony.SameParty(o.Parker, p.aor.String())) {
		c.orbitLit = true
	}
	// A lamp that lit for it and went dark before the park was decided
	// (the caller hung up at once, or was taken): it has left already.
	// Its record stays, dark, for its return.
	left := by == "lamp" && o != nil && !o.Occupied && o.Lamp == telephony.LampKnown
	if left {
		rec.left, rec.leftHow = time.Now(), o.Left
		p.endLocked(c, endAs(telephony.EndLeftOrbit, fmt.Sprintf("left orbit %d", orbit)))
	}
	pk.records[orbit] = rec
	p.keepLocked()
	others := pk.notOursLocked(orbit, c)
	p.mu.Unlock()
	p.log.Info("parked", "call", c.id, "orbit", orbit, "confirmed_by", by, "left_already", left)
	// The orbit first (now ours), then the call: whoever sees the call
	// parked finds its orbit already showing it.
	p.lamps.refreshOrbit(orbit)
	p.changed(c)
	for _, o := range others {
		p.changed(o)
	}
	if gone {
		return // the caller ended our leg itself once transferred
	}
	if err := c.endLeg(p.ctx); err != nil {
		p.log.Debug("ending our leg after park", "call", c.id, "error", err)
	}
}

// failed ends a park that did not happen: the call stays with the
// console, held, with the reason's words. A call whose leg has ended
// meanwhile (the caller hung up, or left after a REFER that no lamp
// confirmed) is over, with the reason; ours when we ended it.
func (pk *parking) failed(c *call, a *parkAttempt, reason ending) {
	p := pk.p
	c.attemptFailed("park failed", reason.text(), func() bool {
		switch {
		case c.park != a:
			return false
		case a.legGone:
			why := reason
			if c.endReason.set() {
				why = c.endReason
			}
			p.endLocked(c, why)
		default:
			c.park = nil
			if c.moveLocked(telephony.EvParkFailed) {
				c.info.Orbit, c.info.Token, c.info.Relayed = 0, "", false
			}
		}
		return true
	})
}

// attemptFailed ends a park or transfer of c that did not happen: under
// p.mu, clear forgets the attempt and reports whether it was still the
// call's; the call then stays with the console, with the reason.
func (c *call) attemptFailed(what, reason string, clear func() bool) {
	p := c.p
	p.mu.Lock()
	if !clear() {
		p.mu.Unlock()
		return
	}
	if c.info.State != telephony.StateEnded {
		c.info.Reason = strings.TrimSpace(reason)
	}
	p.mu.Unlock()
	p.log.Info(what, "call", c.id, "reason", reason)
	p.changed(c)
}

// peekReferNotify takes the outcome of a park's REFER from its NOTIFY,
// before diago answers it: the sipfrag's status code, and an
// X-Park-Orbit header where the referee copied more than the status
// line.
func (pk *parking) peekReferNotify(req *sip.Request) {
	p := pk.p
	c := p.byDialogCallID(req)
	if c == nil {
		return
	}
	lines := strings.Split(string(req.Body()), "\n")
	code := sipfragCode(lines[0])
	if code == 0 {
		return
	}
	p.mu.Lock()
	a := c.park
	if a != nil && code >= 200 && code < 300 {
		a.accepted = true // before any lamp this NOTIFY's answer lets through
	}
	p.mu.Unlock()
	if a == nil {
		return
	}
	for _, line := range lines[1:] {
		name, value, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(name), "X-Park-Orbit") {
			if n, err := strconv.Atoi(strings.TrimSpace(value)); err == nil && p.cfg.Park.Orbits.Contains(n) {
				a.fragOrbit.Store(int64(n))
			}
		}
	}
	select {
	case a.notify <- code:
	default:
	}
}

// sipfragCode is the status code of a sipfrag's status line
// ("SIP/2.0 200 OK"), or 0.
func sipfragCode(line string) int {
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "SIP/") {
		return 0
	}
	code, err := strconv.Atoi(f[1])
	if err != nil || code < 100 || code > 699 {
		return 0
	}
	return code
}

// relay parks a caller that cannot be transferred: the console calls
// the park URI itself, speaking for the caller, and bridges the legs.
func (pk *parking) relay(ctx context.Context, c *call, a *parkAttempt) {
	p := pk.p
	d, err := p.dg.NewDialog(a.uri, diago.NewDialogOptions{Transport: p.net.routedTransport(a.uri)})
	if err != nil {
		pk.failed(c, a, endAs(telephony.EndFailed, "relay park: "+err.Error()))
		return
	}
	hdrs := []sip.Header{
		p.fromHeader(a.callerName, a.callerURI),
		sip.NewHeader("Referred-By", "<"+p.aor.String()+">"),
		sip.NewHeader("X-Park-Parker", "<"+p.aor.String()+">"),
	}
	if p.net.route != nil {
		hdrs = append(hdrs, sip.HeaderClone(p.net.route))
	}
	m, err := d.Invite(ctx, diago.InviteClientOptions{Headers: hdrs, Username: p.cfg.Account.Username, Password: p.cfg.Account.Password})
	if err != nil {
		d.Close()
		if res := responseOf(err); res != nil {
			pk.failed(c, a, endAs(telephony.EndFailed, parkReason(res.StatusCode, a.orbit)))
		} else {
			pk.failed(c, a, endAs(telephony.EndFailed, "park service unreachable (relay park: "+err.Error()+")"))
		}
		return
	}
	if err := d.Ack(ctx); err != nil {
		d.Close()
		pk.failed(c, a, endAs(telephony.EndFailed, "relay park not confirmed: "+err.Error()))
		return
	}
	orbit := a.orbit
	if h := d.InviteResponse.GetHeader("X-Park-Orbit"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			orbit = n
		}
	}
	relayLeg, err := newLeg(m, p.log.With("call", c.id, "leg", "relay"), nil)
	if err != nil {
		_ = d.Hangup(ctx)
		d.Close()
		pk.failed(c, a, endAs(telephony.EndFailed, "relay park: "+err.Error()))
		return
	}
	// The caller must hear the park service's music: off hold. The
	// call is parking: no other operation changes its line meanwhile.
	if err := c.sess().Unhold(ctx); err != nil {
		p.log.Warn("relay park: caller not taken off hold", "call", c.id, "error", err)
	}
	rp := &relayPark{d: d, leg: relayLeg, done: make(chan struct{})}
	p.mu.Lock()
	callerLeg := c.leg
	if c.park != a || callerLeg == nil {
		p.mu.Unlock()
		relayLeg.close()
		_ = d.Hangup(ctx)
		d.Close()
		pk.failed(c, a, endAs(telephony.EndHungUpByFarEnd, "caller hung up while parking"))
		return
	}
	c.park = nil
	c.relay = rp
	c.moveLocked(telephony.EvParkConfirmed)
	c.info.Relayed = true
	c.info.Orbit = orbit
	c.info.Reason = ""
	if orbit != 0 {
		pk.records[orbit] = parkRecord{token: a.token, call: c.id, callerName: a.callerName, callerURI: a.callerURI, at: a.started}
		pk.parkedForLocked(a, orbit)
		p.keepLocked()
	}
	p.mu.Unlock()
	callerLeg.relayTo(relayLeg)
	relayLeg.relayTo(callerLeg)
	p.log.Info("parked by relay", "call", c.id, "orbit", orbit)
	if orbit != 0 {
		p.lamps.refreshOrbit(orbit)
	}
	p.changed(c)
	p.wg.Go(func() {
		defer close(rp.done)
		defer d.Close()
		defer relayLeg.close()
		select {
		case <-d.Context().Done():
			// The park service ended the relayed call (retriever hung
			// up, service stopped): the caller goes too.
			p.mu.Lock()
			still := c.relay == rp
			if still && !c.endReason.set() {
				c.endReason = endAs(telephony.EndRelayEnded, "")
			}
			p.mu.Unlock()
			if still {
				_ = c.endLeg(p.ctx)
			}
		case <-c.sess().Context().Done():
			bye, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = d.Hangup(bye)
			cancel()
		case <-p.ctx.Done():
		}
	})
}

// comebackLocked returns the orbit an unmarked inbound call from uri
// returns from, or 0, and an uncertain park it shows has left (to
// publish), or nil; p.mu is held. Asterisk's comebacktoorigin re-dials
// the parker with only the caller's ID (PARK-PROTOCOL.md), so the call
// is matched to a park this console remembers: the same caller, on an
// orbit still lit or dark for less than comebackWindow, and not said by
// the lamp to have given up or been retrieved (such a caller calls
// anew), the latest such park. Failing that, an uncertain park of that
// caller: its likeliest orbit, and the next of its candidates to go dark
// is the one it left.
// A dark park record is then forgotten: its call has left the orbit. A
// lit one is kept: the PBX's INVITE may beat the lamp, or the caller
// may be calling anew while still parked, and its real return is still
// to come.
func (pk *parking) comebackLocked(uri string, now time.Time) (int, *call) {
	p := pk.p
	orbit := 0
	var at time.Time
	for n, rec := range pk.records {
		if !telephony.SameParty(rec.callerURI, uri) || rec.leftHow != telephony.LeftUnknown || !rec.left.IsZero() && now.Sub(rec.left) > comebackWindow {
			continue // another caller, or one who gave up or was retrieved
		}
		if orbit == 0 || rec.at.After(at) {
			orbit, at = n, rec.at
		}
	}
	if orbit != 0 {
		rec := pk.records[orbit]
		p.log.Info("unmarked call taken for the return of a park", "orbit", orbit, "caller", uri, "parked_at", at, "orbit_lit", rec.left.IsZero())
		if rec.left.IsZero() {
			rec.returned = now
			pk.records[orbit] = rec
			return orbit, nil
		}
		delete(pk.records, orbit)
		p.keepLocked()
		// A dark candidate of an uncertain park: it left from there.
		if c := p.calls[rec.call]; c != nil && c.info.Uncertain() {
			p.endLocked(c, endAs(telephony.EndLeftOrbit, fmt.Sprintf("left orbit %d", orbit)))
			return orbit, c
		}
		return orbit, nil
	}
	for _, c := range p.calls {
		if c.info.Uncertain() && c.maybe != nil && telephony.SameParty(c.info.RemoteURI, uri) {
			c.maybe.returned = now
			p.log.Info("unmarked call taken for the return of an uncertain park", "call", c.id, "orbit", c.info.Likely, "candidates", c.info.Candidates, "caller", uri)
			return c.info.Likely, nil
		}
	}
	return 0, nil
}

// relayDone waits for a relay park's teardown once the caller's leg is
// over.
func (pk *parking) relayDone(c *call) {
	p := pk.p
	p.mu.Lock()
	rp := c.relay
	p.mu.Unlock()
	if rp != nil {
		<-rp.done
	}
}

// Retrieve picks up the call parked on orbit as a new call; when this
// console parked a call there, it asks for that call only (safe
// retrieve with its token). A call this console relay-parked comes back
// without the service.
func (p *Phone) Retrieve(ctx context.Context, orbit int) (telephony.CallID, error) {
	pc := p.cfg.Park
	if err := p.ready(); err != nil {
		return "", err
	}
	if !pc.Enabled() {
		return "", fmt.Errorf("sip: retrieve: %w", ErrNoParkService)
	}
	if !pc.Orbits.Contains(orbit) {
		return "", fmt.Errorf("sip: retrieve %d: %w (%s)", orbit, ErrBadOrbit, pc.Orbits)
	}
	p.mu.Lock()
	rec, mine := p.parking.records[orbit]
	var relayed, maybe *call
	for _, c := range p.calls {
		if c.info.Relayed && c.info.State == telephony.StateParkedAway && c.info.Orbit == orbit && c.relay != nil {
			relayed = c
		}
		if c.info.Uncertain() && c.info.Candidates.Contains(orbit) && (maybe == nil || c.info.Likely == orbit) {
			maybe = c
		}
	}
	delete(p.parking.records, orbit)
	if mine {
		p.keepLocked()
	}
	var out outbound
	var ended *call
	switch {
	case mine && rec.left.IsZero() && !(maybe != nil && rec.call == maybe.id):
		// Still lit with the call this console parked there: it is
		// named after its caller until the PBX says otherwise.
		out.memory = &telephony.Call{RemoteName: rec.callerName, RemoteURI: rec.callerURI}
	case maybe != nil:
		// One of the orbits an uncertain park may be on: what comes
		// back is probably (or maybe) its caller, and it is not on this
		// orbit any more.
		out.maybeOf, out.likely = maybe, maybe.info.Likely == orbit
		out.memory = &telephony.Call{RemoteName: maybe.info.RemoteName, RemoteURI: maybe.info.RemoteURI, Candidates: maybe.info.Candidates}
		if maybe.info.Candidates.Len() == 1 {
			p.parking.retrievedMaybeLocked(maybe, orbit)
			ended = maybe
		} else {
			p.parking.dropCandidateLocked(maybe, orbit, false, telephony.LeftUnknown)
			ended = maybe // changed
		}
		mine = false
	}
	p.mu.Unlock()
	if ended != nil {
		p.changed(ended)
	}
	if relayed != nil {
		return relayed.id, p.parking.unrelay(ctx, relayed, orbit)
	}
	tmpl, token := pc.Retrieve, ""
	if mine && pc.SafeRetrieve != "" {
		tmpl, token = pc.SafeRetrieve, rec.token
	}
	u, err := expand(tmpl, orbit, token)
	if err != nil {
		return "", fmt.Errorf("sip: retrieve %d: %w", orbit, err)
	}
	// No name until the service names the caller: the window names the
	// card after the orbit (Call.RetrievedFrom).
	c := p.newCall(telephony.Outbound, "", uriString(u), "", nil)
	p.log.Info("retrieving", "call", c.id, "orbit", orbit, "safe", token != "", "maybe_of", out.maybeOf != nil)
	out.uri, out.retrieve, out.safe = u, orbit, token != ""
	p.startOutbound(c, out)
	return c.id, nil
}

// RetrieveCall picks up a call this console parked as a new call: the
// one on its orbit, or, for a park whose orbit is not certain
// (Call.Uncertain), the candidate most likely its (Call.Likely); the new
// call says so until the PBX names its caller. It returns the new call.
func (p *Phone) RetrieveCall(ctx context.Context, id telephony.CallID) (telephony.CallID, error) {
	var orbit int
	_, err := p.lookupWith(id, func(c *call) error {
		switch {
		case c.info.State != telephony.StateParkedAway:
			return fmt.Errorf("sip: retrieve %s: %w", id, ErrWrongState)
		case c.info.Orbit != 0:
			orbit = c.info.Orbit
		default:
			orbit = c.info.Likely
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if orbit == 0 {
		return "", fmt.Errorf("sip: retrieve %s: %w", id, ErrWrongState)
	}
	return p.Retrieve(ctx, orbit)
}

// retrievedMaybeLocked ends uncertain park c: this console retrieved its
// caller from orbit n (its last candidate, or the PBX named the caller
// it retrieved). p.mu is held; the caller publishes the change.
func (pk *parking) retrievedMaybeLocked(c *call, n int) {
	pk.p.log.Info("uncertain park retrieved here", "call", c.id, "orbit", n)
	pk.p.endLocked(c, endAs(telephony.EndLeftOrbit, fmt.Sprintf("retrieved from orbit %d", n)))
}

// retrieveNamedLocked names retrieve call c after the caller the PBX
// says it is (the 200's or a later request's P-Asserted-Identity and
// the like); p.mu is held. A retrieve of an uncertain park's candidate
// that names its caller ends that park: the caller is here. It reports
// whether anything changed, and the uncertain park it ended, to publish.
func (pk *parking) retrieveNamedLocked(c *call, name, uri string) (bool, *call) {
	if c.retrieve == 0 || uri == "" || name == c.info.RemoteName && uri == c.info.RemoteURI && !c.guessed {
		return false, nil
	}
	c.info.RemoteName, c.info.RemoteURI = name, uri
	c.guessed = false
	if c.info.State == telephony.StateActive {
		c.info.Reason = ""
	}
	m := c.maybeOf
	c.maybeOf = nil
	if m != nil && m.info.Uncertain() && telephony.SameParty(m.info.RemoteURI, uri) {
		pk.retrievedMaybeLocked(m, c.retrieve)
		return true, m
	}
	return true, nil
}

// guessWords says whom a retrieve of an uncertain park's candidate
// probably brings back, until the PBX names the caller.
func guessWords(o outbound) string {
	how := "maybe"
	if o.likely {
		how = "probably"
	}
	return fmt.Sprintf("%s %s (parked on %s)", how, who(o.memory.RemoteName, o.memory.RemoteURI), orWords(o.memory.Candidates.List()))
}

// unrelay takes back a call this console relay-parked: the park leg is
// hung up and the caller is the live line again.
func (pk *parking) unrelay(ctx context.Context, c *call, orbit int) error {
	p := pk.p
	p.mu.Lock()
	rp := c.relay
	c.relay = nil
	l := c.leg
	p.mu.Unlock()
	if rp == nil || l == nil {
		return fmt.Errorf("sip: retrieve %d: %w", orbit, ErrWrongState)
	}
	l.unrelay()
	rp.leg.unrelay()
	if err := rp.d.Hangup(ctx); err != nil {
		p.log.Debug("relay leg hangup", "call", c.id, "error", err)
	}
	<-rp.done
	err := p.goLive(ctx, c, telephony.EvRetrievedRelay, func(c *call) {
		c.info.Relayed = false
		c.info.Orbit, c.info.Token = 0, ""
		c.info.RetrievedFrom = orbit
	})
	if err != nil {
		return fmt.Errorf("sip: retrieve %d: %w", orbit, err)
	}
	return nil
}

// newToken returns a fresh 120-bit park token.
func newToken() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}
