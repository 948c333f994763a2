package park

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony/park/store"
)

// parkedCall is a caller held by the service on an orbit.
type parkedCall struct {
	orbit      int
	token      string
	parker     string // URI to ring back, may be empty
	forURI     string // whom the call was parked for (forwhom.go), may be empty
	note       string // the parker's note, may be empty
	callerName string
	callerURI  string
	parkedAt   time.Time
	leg        *sipLeg
	confirmed  chan struct{} // closed when the parking INVITE is settled

	// guarded by Service.mu. state, timer and probe are changed only by
	// moveLocked (state.go), which also cancels stopRing, the ring-back
	// in progress that startRingback records.
	state      callState
	timer      *time.Timer // the park timer: rings the parker back
	stopRing   context.CancelFunc
	ringbacks  int
	rungAt     time.Time // when its last ring-back began
	retriever  string    // who claimed it (stateRetrieving), for the lamps
	ring       ringing   // whom it rings back (stateRinging), or rang when answered
	returnedAt time.Time // when it last came back from a ring-back nobody answered
	// pendingFrom is the source host of a park whose 2xx is not ACKed
	// yet (Service.pending counts it); empty otherwise.
	pendingFrom string
	probe       *time.Timer // the next in-dialog OPTIONS probe (probe.go)
}

// ringing is a ring-back of a parked call, for the lamps: whom the
// service rings, since when, and whether that is the fallback.
type ringing struct {
	target   string // empty: not ringing back
	since    time.Time
	fallback bool
}

// visible says whether the orbit shows the call (lamp lit). A park whose
// 2xx is not ACKed yet (stateParking) is not shown: the lamp lights with
// the ACK, and until then the park holds its orbit for at most the ACK
// wait (64×T1); see orbitDocument.
func (c *parkedCall) visible() bool {
	return c.state == stateParked || c.state == stateRinging || c.state == stateRetrieving
}

// onHold says whether the service holds c's caller (music on hold, or
// its park's 2xx on the way): a re-INVITE of it is answered as a hold.
func (c *parkedCall) onHold() bool {
	return c.state == stateParking || c.state == stateParked || c.state == stateRinging
}

func (c *parkedCall) callerString() string {
	if c.callerName != "" {
		return fmt.Sprintf("%q <%s>", c.callerName, c.callerURI)
	}
	return c.callerURI
}

// sipLeg is one SIP dialog of the service with its RTP leg.
type sipLeg struct {
	s     *Service
	id    string
	uas   atomic.Pointer[sipgo.DialogServerSession] // nil while a caller sleeps (dormant.go): use dialog()
	uac   *sipgo.DialogClientSession
	dmu   sync.Mutex    // guards kept, and uas's changes by sleep and wake
	kept  *store.Dialog // a sleeping caller's dialog, as the store keeps it
	media *leg
	sess  uint64

	mu         sync.Mutex
	ver        uint64      // version of our last SDP in this dialog
	sdp        sdpParams   // our last SDP answer or offer in this dialog
	call       *parkedCall // set on a caller's leg while it is parked
	partner    *sipLeg     // set while bridged
	ended      bool
	reinviting bool // our re-INVITE is pending: the peer's gets 491 (RFC 3261 §14.2)

	peers peerSet // the remote peer's addresses (peerAddrs), set by register
}

// hangup sends BYE (once) and forgets the leg. The leg stays counted
// until its BYE is done, so a draining service does not exit under it.
func (l *sipLeg) hangup(ctx context.Context, why string) {
	if !l.markEnded() {
		return
	}
	l.s.media.remove(l.media)
	var err error
	switch uas := l.dialog(); {
	case uas != nil:
		err = uas.Bye(ctx)
	case l.uac != nil:
		err = l.uac.Bye(ctx)
	}
	if err != nil {
		l.s.log.Debug("bye failed", "dialog", l.id, "reason", why, "error", err)
	}
	l.unregister()
}

// finish marks the leg ended and unregisters it; false if it already was.
func (l *sipLeg) finish() bool {
	if !l.markEnded() {
		return false
	}
	l.unregister()
	return true
}

func (l *sipLeg) markEnded() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return false
	}
	l.ended = true
	return true
}

func (l *sipLeg) unregister() {
	s := l.s
	s.media.remove(l.media)
	s.mu.Lock()
	delete(s.dialogs, l.id)
	delete(s.legs, l)
	s.notifyChangedLocked()
	s.mu.Unlock()
	s.forget(l)
}

func (s *Service) newLeg(o offer) *sipLeg {
	return &sipLeg{s: s, media: newLeg(o), sess: rand.Uint64() >> 2, ver: 1}
}

// register makes a leg reachable by in-dialog requests and by Close.
func (s *Service) register(l *sipLeg) {
	l.mu.Lock()
	l.peers = peerAddrs(l)
	l.mu.Unlock()
	l.media.sig = l.signalIP()
	s.media.add(l.media)
	s.mu.Lock()
	s.dialogs[l.id] = l
	s.legs[l] = struct{}{}
	s.notifyChangedLocked()
	s.mu.Unlock()
}

// answerSDP answers the peer's offer o with the format chosen from it,
// under the number the offer gave it (RFC 3264), and telephone-event
// under the offer's number when offered (the bridge relays DTMF).
func (s *Service) answerSDP(l *sipLeg, o offer) []byte {
	return s.answerSDPDir(l, o, answerDirection(o.direction))
}

// answerHold is answerSDP for a call the service holds: music on hold
// is a hold (RFC 3264 §6.1), so the answer says we only send.
func (s *Service) answerHold(l *sipLeg, o offer) []byte {
	return s.answerSDPDir(l, o, holdDirection(o.direction))
}

// answerSDPDir is answerSDP with the direction dir. It remembers the
// answer as l's current SDP, which a later offer of ours (resume)
// repeats with a new version.
func (s *Service) answerSDPDir(l *sipLeg, o offer, dir string) []byte {
	p := sdpParams{
		sessionID: l.sess, addr: s.media.local, formats: []format{{pt: o.pt, codec: o.codec}},
		eventPT: o.eventPT, direction: dir, lines: o.lines, audioIdx: o.audioIndex,
	}
	l.mu.Lock()
	p.version = l.ver
	l.sdp = p
	l.mu.Unlock()
	return buildSDP(p)
}

// target is what the Request-URI of an INVITE asks for.
type target struct {
	park  bool
	orbit int // 0: any
	token string
}

// parseTarget reads the Request-URI's user part strictly (parseOrbit):
// "park", "park-N" or "N", N in the lot; anything else is ErrOutsideLot.
func (s *Service) parseTarget(u sip.Uri) (target, error) {
	user := u.User
	var t target
	switch {
	case user == "park":
		t.park = true
	case strings.HasPrefix(user, "park-"):
		t.park = true
		n, ok := parseOrbit(user[len("park-"):])
		if !ok {
			return t, ErrOutsideLot
		}
		t.orbit = n
	default:
		n, ok := parseOrbit(user)
		if !ok {
			return t, ErrOutsideLot
		}
		t.orbit = n
	}
	if t.orbit != 0 && !s.opts.Orbits.Contains(t.orbit) {
		return t, ErrOutsideLot
	}
	if u.UriParams != nil {
		t.token, _ = u.UriParams.Get("token")
	}
	return t, nil
}

func (s *Service) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil {
		if _, ok := to.Params.Get("tag"); ok {
			s.onReinvite(req, tx)
			return
		}
	}
	if !s.admit(req, tx) {
		return
	}
	t, err := s.parseTarget(req.Recipient)
	if err != nil {
		s.event("refused", nil, "reason", "no such orbit", "uri", req.Recipient.String())
		s.reply(req, tx, sip.StatusNotFound, "Not Found", ReasonNoSuchOrbit.header())
		return
	}
	o, err := s.readOffer(req.Body())
	if err != nil {
		s.refuseMedia(req, tx, err)
		return
	}
	if t.park {
		s.park(req, tx, t, o)
	} else {
		s.retrieve(req, tx, t, o)
	}
}

// parkerOf finds who parked: Referred-By, else the parker-user and
// parker-host URI parameters, else the percent-escaped parker parameter,
// else X-Park-Parker. baresip drops Referred-By, and baresip 1.0.0 runs
// the Refer-To through printf, which eats percent escapes: the
// escape-free parker-user/parker-host pair survives it.
func parkerOf(req *sip.Request) string {
	if h := req.GetHeader("Referred-By"); h != nil {
		if v := uriFromHeader(h.Value()); v != "" {
			return v
		}
	}
	if req.Recipient.UriParams != nil {
		user, _ := req.Recipient.UriParams.Get("parker-user")
		host, _ := req.Recipient.UriParams.Get("parker-host")
		if user != "" && host != "" {
			return "sip:" + user + "@" + host
		}
	}
	if req.Recipient.UriParams != nil {
		if p, ok := req.Recipient.UriParams.Get("parker"); ok && p != "" {
			if v, err := url.PathUnescape(p); err == nil {
				p = v
			}
			if !strings.HasPrefix(p, "sip:") && !strings.HasPrefix(p, "sips:") && !strings.HasPrefix(p, "tel:") {
				p = "sip:" + p
			}
			return p
		}
	}
	if h := req.GetHeader("X-Park-Parker"); h != nil {
		return uriFromHeader(h.Value())
	}
	return ""
}

// uriFromHeader takes the URI out of `"Name" <sip:x@y>;param` or a bare URI.
func uriFromHeader(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return v[i+1 : i+j]
		}
	}
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return v
}

func (s *Service) park(req *sip.Request, tx sip.ServerTransaction, t target, o offer) {
	fw, bad, why := forWhomOf(req.Recipient)
	if bad != "" {
		s.refuseForWhom(req, tx, bad, why)
		return
	}
	from := req.From()
	c := &parkedCall{
		token:     t.token,
		parker:    parkerOf(req),
		forURI:    fw.uri,
		note:      fw.note,
		parkedAt:  time.Now(),
		state:     stateParking,
		confirmed: make(chan struct{}),
	}
	if from != nil {
		c.callerName = from.DisplayName
		u := from.Address
		u.UriParams = nil
		u.Headers = nil
		c.callerURI = u.String()
	}
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		s.event("refused", c, "reason", "service is stopping")
		s.reply(req, tx, sip.StatusServiceUnavailable, "Service Unavailable", sip.NewHeader("Retry-After", "30"), ReasonStopping.header())
		return
	}
	source := sourceHost(req)
	if s.pending[source] >= maxPendingPerSource {
		s.mu.Unlock()
		const why = "too many unconfirmed parks from this source"
		s.event("refused", c, "reason", why, "source", req.Source())
		s.reply(req, tx, sip.StatusServiceUnavailable, "Service Unavailable", s.retryAfter(),
			sip.NewHeader("Warning", `399 park "`+why+`"`), ReasonPendingLimit.header())
		return
	}
	var err error
	if t.orbit != 0 {
		c.orbit, err = t.orbit, s.lot.take(t.orbit, c)
	} else {
		c.orbit, err = s.lot.takeAny(c)
	}
	if err == nil {
		delete(s.exits, c.orbit)
		s.holdPendingLocked(c, source)
	}
	s.mu.Unlock()
	if err != nil {
		reason, why := "orbit occupied", ReasonOccupied
		if errors.Is(err, ErrLotFull) {
			reason, why = "lot full", ReasonLotFull
		}
		s.event("refused", c, "reason", reason, "requested", t.orbit)
		s.reply(req, tx, sip.StatusBusyHere, "Busy Here", sip.NewHeader("Warning", `399 park "`+reason+`"`), why.header())
		return
	}

	d, err := s.duaFor(req.Transport()).ReadInvite(req, tx)
	if err != nil {
		s.unpark(c, "refused", "reason", err.Error())
		s.reply(req, tx, sip.StatusBadRequest, "Bad Request")
		return
	}
	l := s.newLeg(o)
	l.id, l.call = d.ID, c
	l.uas.Store(d)
	c.leg = l
	s.register(l)
	if err := s.saveCall(c, nil); err != nil {
		// Never confirm a park the store does not have.
		l.finish()
		s.unpark(c, "refused", "reason", "park store: "+err.Error())
		s.reply(req, tx, sip.StatusInternalServerError, "Server Internal Error", sip.NewHeader("Warning", `399 park "the park store could not write the call"`))
		return
	}

	// Music starts with the ACK, never at the 200: an unconfirmed 200
	// sends no media anywhere. Without an ACK within the ACK wait the
	// orbit is freed at once and the dialog hung up.
	res := sip.NewSDPResponseFromRequest(d.InviteRequest, s.answerHold(l, o))
	res.AppendHeader(sip.NewHeader("X-Park-Orbit", strconv.Itoa(c.orbit)))
	err = s.answer(d, tx, res, func() {
		s.unpark(c, "unconfirmed", "reason", "no ACK within "+s.opts.ackWait.String(), "source", req.Source())
	})
	if errors.Is(err, errNoAck) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		l.hangup(ctx, "no ACK")
		cancel()
		return
	}
	if errors.Is(err, errStopped) {
		return
	}
	if err != nil {
		if l.finish() { // else the caller's BYE already settled it
			s.unpark(c, "refused", "reason", "caller did not confirm: "+err.Error())
		}
		return
	}
	s.mu.Lock()
	if !s.moveLocked(c, evAcked) { // the caller hung up before its ACK
		s.mu.Unlock()
		return
	}
	c.parkedAt = time.Now()
	// The music starts with the move to parked, under s.mu, which a
	// retrieve takes to claim the call: its bridge comes after the music
	// and replaces it. Started after the write below, the music could
	// land on a bridge a retrieve had made meanwhile and take the
	// caller's leg out of it (the retriever heard nothing).
	l.playMusic()
	draining := s.draining
	s.mu.Unlock()
	_ = s.saveCall(c, nil)
	s.event("parked", c, "token_set", c.token != "", "codec", codecName(o.codec), "pt", o.pt)
	s.lamps.changed(c.orbit)
	if draining {
		// Parked while the service began to stop: ring back now like
		// every other parked call.
		s.startRingback(c, "shutdown")
	}
}

// unpark frees c's orbit (if c still holds it) and logs why.
func (s *Service) unpark(c *parkedCall, event string, kv ...any) {
	s.mu.Lock()
	held := s.lot.release(c.orbit, c)
	if held {
		// The lamps say how a visible call left: the caller gave up, or
		// someone retrieved it (settle, with the retriever noted).
		exit := OrbitExit{CallerName: c.callerName, CallerURI: c.callerURI, Parker: c.parker, ParkedAt: c.parkedAt, For: c.forURI, Note: c.note, At: time.Now()}
		switch {
		case !c.visible():
			delete(s.exits, c.orbit)
		case event == "gave up":
			exit.How = ExitGaveUp
			s.exits[c.orbit] = exit
		case event == "lost":
			exit.How = ExitLost
			s.exits[c.orbit] = exit
		case event == "" && c.state == stateRetrieving:
			exit.How, exit.RetrievedBy = ExitRetrieved, c.retriever
			s.exits[c.orbit] = exit
			if c.ring.target != "" && s.lamps != nil {
				// Left by an answered ring-back: the lamp says so.
				s.lamps.answered[c.orbit] = answeredRing{at: exit.At, ring: c.ring}
			}
		default:
			delete(s.exits, c.orbit)
		}
	}
	wasVisible := c.visible()
	s.moveLocked(c, evLeft) // refused only when c already left
	s.mu.Unlock()
	if event != "" {
		s.event(event, c, kv...)
	}
	if held && wasVisible {
		s.lamps.changed(c.orbit)
	}
}

func (s *Service) retrieve(req *sip.Request, tx sip.ServerTransaction, t target, o offer) {
	s.mu.Lock()
	c := s.lot.at(t.orbit)
	if c != nil && c.state == stateParking {
		// The caller's ACK is on its way: a retrieve right behind a park
		// waits for it rather than calling the orbit empty.
		s.mu.Unlock()
		select {
		case <-c.confirmed:
		case <-time.After(2 * time.Second):
		}
		s.mu.Lock()
		c = s.lot.at(t.orbit)
	}
	var why string
	var reason Reason
	switch {
	case c == nil || !c.allows(evClaimed):
		why, reason = "orbit is empty", ReasonEmpty
	case t.token != "" && !sameToken(t.token, c.token):
		why, reason = "token does not match the call on the orbit", ReasonTokenMismatch
	default:
		s.moveLocked(c, evClaimed)
		c.retriever = uriFromHeader(req.From().Value())
		c.ring = ringing{} // retrieved, not answered: no ring-back on the lamp
	}
	s.mu.Unlock()
	if why != "" {
		s.event("refused", nil, "reason", why, "orbit", t.orbit, "source", req.Source())
		s.reply(req, tx, sip.StatusNotFound, "Not Found", sip.NewHeader("Warning", `399 park "`+why+`"`), reason.header())
		return
	}
	retriever := uriFromHeader(req.From().Value())
	// The caller is taken off hold before the retriever's 200, so the
	// bridge can be linked the moment the retriever's ACK comes.
	if !s.resume(c) {
		s.event("refused", c, "reason", "caller hung up", "source", req.Source())
		s.reply(req, tx, sip.StatusNotFound, "Not Found", sip.NewHeader("Warning", `399 park "orbit is empty"`), ReasonEmpty.header())
		return
	}
	if _, err := s.answerBridge(req, tx, c, o); err != nil {
		if errors.Is(err, errStopped) {
			return
		}
		s.requeue(c, "retrieve failed: "+err.Error())
		return
	}
	s.event("retrieved", c, "by", retriever)
}

// answerBridge answers a retrieving INVITE and bridges it to c once the
// retriever's ACK confirms: only then is the media linked and the orbit
// freed. Until then the caller stays on its orbit with music, and the
// retriever's leg stands alone, so a BYE on it before the ACK ends that
// leg only. Without the ACK within the ACK wait (or after such a BYE) the
// caller is put back on its orbit at once (requeue) and the retriever's
// dialog is hung up: no orbit is ever left lit by nobody.
func (s *Service) answerBridge(req *sip.Request, tx sip.ServerTransaction, c *parkedCall, o offer) (*sipLeg, error) {
	d, err := s.duaFor(req.Transport()).ReadInvite(req, tx)
	if err != nil {
		s.reply(req, tx, sip.StatusBadRequest, "Bad Request")
		return nil, err
	}
	// Prefer the caller's codec so the relay need not transcode.
	if caller, _ := s.media.ours(c.leg.media); o.codec != caller.codec {
		o.prefer(caller.codec)
	}
	l := s.newLeg(o)
	l.id = d.ID
	l.uas.Store(d)
	s.register(l)
	body := s.answerSDP(l, o)
	if err := s.saveCall(c, l); err != nil {
		// Never confirm a retrieve the store does not have.
		l.finish()
		s.reply(req, tx, sip.StatusInternalServerError, "Server Internal Error", sip.NewHeader("Warning", `399 park "the park store could not write the call"`))
		return nil, err
	}

	res := sip.NewSDPResponseFromRequest(d.InviteRequest, body)
	res.AppendHeader(sip.NewHeader("P-Asserted-Identity", identity(c.callerName, c.callerURI)))
	res.AppendHeader(sip.NewHeader("X-Park-Caller", identity(c.callerName, c.callerURI)))
	res.AppendHeader(sip.NewHeader("X-Park-Orbit", strconv.Itoa(c.orbit)))
	addForWhom(res, c)
	err = s.answer(d, tx, res, func() { s.requeue(c, "retriever did not ACK") })
	if errors.Is(err, errNoAck) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		l.hangup(ctx, "no ACK")
		cancel()
		return nil, err
	}
	if err != nil {
		l.finish() // a BYE before the ACK already ended it
		return nil, err
	}
	s.link(c, l)
	// Off its orbit now whatever happens next: a caller ended by its
	// retriever's BYE (legGone found the partner) is not left holding it.
	s.settleBridged(c, l)
	switch {
	case c.leg.isEnded():
		// The caller hung up while the retriever's ACK was on its way:
		// its leg went with no partner to hang up, so end this one.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		l.hangup(ctx, "caller hung up")
		cancel()
		return nil, errors.New("caller hung up before the retriever's ACK")
	case l.isEnded():
		// The retriever hung up right after its ACK, before the link: its
		// BYE found no partner to hang up (legGone reads the partner after
		// marking the leg ended, link sets it before this check), so the
		// caller gets its BYE here instead of a bridge to nobody.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c.leg.hangup(ctx, "retriever hung up")
		cancel()
	}
	return l, nil
}

// link relays c's caller and l to each other; c keeps its orbit until
// settle, so a failed answer can put it back.
func (s *Service) link(c *parkedCall, l *sipLeg) {
	caller := c.leg
	caller.mu.Lock()
	caller.partner = l
	caller.mu.Unlock()
	l.mu.Lock()
	l.partner = caller
	l.mu.Unlock()
	s.media.bridge(caller.media, l.media)
}

// settle takes a linked call off its orbit: from now on it is a plain
// two-party call through the service.
func (s *Service) settle(c *parkedCall) {
	c.leg.mu.Lock()
	c.leg.call = nil
	c.leg.mu.Unlock()
	s.unpark(c, "")
}

// requeue puts a claimed call back on its orbit with music (a retrieve
// whose answer was never confirmed).
func (s *Service) requeue(c *parkedCall, why string) {
	c.leg.mu.Lock()
	c.leg.partner = nil
	c.leg.mu.Unlock()
	s.mu.Lock()
	if !s.lot.holds(c.orbit, c) || c.leg.isEnded() || !s.moveLocked(c, evReturned) {
		s.mu.Unlock()
		return
	}
	c.retriever = ""
	c.leg.playMusic() // under s.mu, with the move: see park
	again := s.owesDrainRingLocked(c)
	s.mu.Unlock()
	_ = s.saveCall(c, nil) // without the retriever's leg
	s.event("returned", c, "reason", why)
	s.lamps.changed(c.orbit)
	if again {
		s.startRingback(c, "shutdown")
	}
}

// playMusic puts l on music on hold unless it has ended: a leg whose
// caller hung up meanwhile is never put back in the media engine. A
// caller's leg is put on music under s.mu, with the move that puts its
// call on hold (park, requeue), so that no claim, and no bridge after
// it, comes in between; or before the service serves anyone (restore).
func (l *sipLeg) playMusic() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ended {
		l.s.media.playMusic(l.media)
	}
}

func identity(name, uri string) string {
	if name == "" {
		return "<" + uri + ">"
	}
	return strconv.Quote(name) + " <" + uri + ">"
}

// parseOfferPreferring parses an SDP and chooses the law codec in it,
// under whatever number it is offered; errNoCodec when it is absent.
func parseOfferPreferring(body []byte, codec uint8) (offer, error) {
	o, err := parseOffer(body)
	if err != nil {
		return o, err
	}
	if !o.prefer(codec) {
		return o, errNoCodec
	}
	return o, nil
}

func (s *Service) onAck(req *sip.Request, tx sip.ServerTransaction) {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return
	}
	s.mu.Lock()
	l := s.dialogs[id]
	s.mu.Unlock()
	if !s.admitInDialog(req, tx, l) {
		return
	}
	if l == nil {
		return
	}
	// A sleeping caller's ACK (of its own re-INVITE: a hold, a session
	// refresh) changes nothing that sleeps, and does not wake it.
	if uas := l.uas.Load(); uas != nil {
		_ = uas.ReadAck(req, tx)
	}
}

// lookupInDialog finds the leg of an in-dialog request, as UAS or UAC.
func (s *Service) lookupInDialog(req *sip.Request) *sipLeg {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, err := sip.DialogIDFromRequestUAS(req); err == nil {
		if l := s.dialogs[id]; l != nil {
			return l
		}
	}
	if id, err := sip.DialogIDFromRequestUAC(req); err == nil {
		return s.dialogs[id]
	}
	return nil
}

func (s *Service) onBye(req *sip.Request, tx sip.ServerTransaction) {
	l := s.lookupInDialog(req)
	if !s.admitInDialog(req, tx, l) {
		return
	}
	if l == nil {
		s.reply(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	if uas := l.dialog(); uas != nil {
		if err := uas.ReadBye(req, tx); errors.Is(err, sipgo.ErrDialogInvalidCseq) {
			// Out of order (RFC 3261 §12.2.2): not an end of the call.
			s.reply(req, tx, sip.StatusInternalServerError, "Invalid CSeq")
			return
		}
	} else if l.uac != nil {
		_ = l.uac.ReadBye(req, tx)
	}
	s.legGone(l, "remote hung up")
}

// legGone handles a leg the far end ended: a parked caller gave up, or
// one side of a bridge hung up and the other is hung up too.
func (s *Service) legGone(l *sipLeg, why string) {
	if !l.finish() {
		return
	}
	l.mu.Lock()
	c, partner := l.call, l.partner
	l.mu.Unlock()
	if c != nil {
		// Answered (even if its ACK raced with its BYE), the caller was
		// parked from its point of view: it gave up.
		s.unpark(c, "gave up")
	}
	if partner != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		partner.hangup(ctx, why)
		cancel()
	}
}

// onInDialog answers in-dialog requests other than BYE/ACK/INVITE.
func (s *Service) onInDialog(req *sip.Request, tx sip.ServerTransaction) {
	l := s.lookupInDialog(req)
	if !s.admitInDialog(req, tx, l) {
		return
	}
	if l == nil {
		s.reply(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	s.reply(req, tx, sip.StatusOK, "OK")
}

// onReinvite answers a re-INVITE (hold, address change, refresh). A
// parked caller's is answered as its park was (holdDirection: we only
// send music); a bridged leg's mirrors its direction. While our own
// re-INVITE to the leg is pending (resume) the peer's gets 491 (RFC 3261
// §14.2) and it retries later.
func (s *Service) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	l := s.lookupInDialog(req)
	if !s.admitInDialog(req, tx, l) {
		return
	}
	if l == nil {
		s.reply(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	l.mu.Lock()
	pending, c, cur := l.reinviting, l.call, l.sdp
	l.mu.Unlock()
	if pending {
		s.reply(req, tx, sip.StatusRequestPending, "Request Pending")
		return
	}
	held := false
	if c != nil {
		s.mu.Lock()
		held = c.onHold()
		s.mu.Unlock()
	}
	ourFormat, ourEvent := s.media.ours(l.media)
	o := offer{}
	if len(req.Body()) > 0 {
		var err error
		if o, err = s.readOfferPreferring(req.Body(), ourFormat.codec); err != nil {
			s.refuseMedia(req, tx, err) // the call keeps its media
			return
		}
		s.media.update(l.media, o)
	} else {
		// No offer: the 200 is our offer, with the numbers we receive
		// and the m-lines of our last SDP.
		o = offer{codec: ourFormat.codec, pt: ourFormat.pt, eventPT: ourEvent, direction: "sendrecv",
			audioIndex: 0, lines: []mediaLine{{kind: "audio", proto: "RTP/AVP"}}}
		if cur.lines != nil {
			o.lines, o.audioIndex = cur.lines, cur.audioIdx
		}
	}
	l.mu.Lock()
	l.ver++
	l.mu.Unlock()
	var body []byte
	if held {
		body = s.answerHold(l, o)
	} else {
		body = s.answerSDP(l, o)
	}
	s.saveLeg(l) // the new SDP and media, before the peer has them
	res := sip.NewSDPResponseFromRequest(req, body)
	res.AppendHeader(&s.dua.ContactHDR)
	if err := tx.Respond(res); err != nil {
		s.log.Debug("re-INVITE answer failed", "error", err)
	}
}

// startRingback rings the parker of c (then the fallback); unanswered,
// c stays on its orbit with music and rings back again a park time later.
func (s *Service) startRingback(c *parkedCall, why string) {
	s.mu.Lock()
	if !c.allows(evTimedOut) {
		s.mu.Unlock()
		return
	}
	targets := []string{}
	if c.parker != "" {
		targets = append(targets, c.parker)
	}
	if s.opts.Fallback != "" {
		targets = append(targets, s.opts.Fallback)
	}
	if len(targets) == 0 {
		s.moveLocked(c, evNobodyRung)
		s.mu.Unlock()
		_ = s.saveCall(c, nil)
		s.event("timed out", c, "outcome", "nobody to ring back; stays parked")
		return
	}
	s.moveLocked(c, evTimedOut)
	c.rungAt = time.Now()
	c.ringbacks++
	c.ring = ringing{target: targets[0], since: time.Now(), fallback: c.parker == ""}
	ctx, cancel := context.WithCancel(context.Background())
	c.stopRing = cancel
	s.mu.Unlock()
	_ = s.saveCall(c, nil)
	s.event("timed out", c, "reason", why)
	s.lamps.changed(c.orbit)
	s.bg.Go(func() {
		defer cancel()
		for i, uri := range targets {
			fallback := i > 0 || c.parker == ""
			name := "rang back"
			if fallback {
				name = "fell back"
			}
			if i > 0 && !s.ringNext(c, uri, fallback) {
				return // retrieved or gone meanwhile
			}
			answered, err := s.ring(ctx, c, uri)
			if answered {
				s.event(name, c, "to", uri, "answered", true)
				return
			}
			s.event(name, c, "to", uri, "answered", false, "error", errString(err))
			if ctx.Err() != nil {
				return // retrieved or gone meanwhile
			}
		}
		s.mu.Lock()
		if !s.moveLocked(c, evUnanswered) {
			s.mu.Unlock()
			return
		}
		c.ring = ringing{}
		c.returnedAt = time.Now() // the park time runs again from here
		again := s.owesDrainRingLocked(c)
		s.mu.Unlock()
		_ = s.saveCall(c, nil)
		s.event("returned", c, "reason", "nobody answered the ring-back")
		s.lamps.changed(c.orbit)
		if again {
			s.startRingback(c, "shutdown")
		}
	})
}

// owesDrainRingLocked says whether c, back on its orbit during a drain,
// has not been rung back since the drain began: the drain rings every
// parked call back, including one whose ring-back was under way when it
// began, or that a failed retrieve put back. Once rung within the drain
// it waits on its orbit (the drain's deadline then ends it), so an
// unreachable parker is not rung in a loop. s.mu is held.
func (s *Service) owesDrainRingLocked(c *parkedCall) bool {
	return s.draining && !s.drainAt.IsZero() && c.rungAt.Before(s.drainAt)
}

// ringNext moves c's ring-back on to uri (the fallback) and tells the
// lamps; false when c no longer rings back.
func (s *Service) ringNext(c *parkedCall, uri string, fallback bool) bool {
	s.mu.Lock()
	if c.state != stateRinging {
		s.mu.Unlock()
		return false
	}
	c.ring = ringing{target: uri, since: time.Now(), fallback: fallback}
	s.notifyChangedLocked()
	s.mu.Unlock()
	_ = s.saveCall(c, nil)
	s.lamps.changed(c.orbit)
	return true
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// ring INVITEs uri on behalf of c for up to the ring-back time and, when
// answered, bridges it to c. It reports whether c was bridged.
func (s *Service) ring(ctx context.Context, c *parkedCall, uri string) (bool, error) {
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil {
		return false, fmt.Errorf("ring-back uri %q: %w", uri, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.RingbackTime)
	defer cancel()

	l := &sipLeg{s: s, sess: rand.Uint64() >> 2, ver: 1}
	caller, _ := s.media.ours(c.leg.media)
	offerSDP := buildSDP(sdpParams{sessionID: l.sess, version: l.ver, addr: s.media.local,
		formats: otherFirst(caller.codec), eventPT: ringEventPT, direction: "sendrecv"})
	req := sip.NewRequest(sip.INVITE, u)
	req.SetBody(offerSDP)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	var callerURI sip.Uri
	if err := sip.ParseUri(c.callerURI, &callerURI); err == nil {
		from := &sip.FromHeader{DisplayName: c.callerName, Address: callerURI, Params: sip.NewParams()}
		from.Params.Add("tag", sip.GenerateTagN(16))
		req.AppendHeader(from)
	}
	req.AppendHeader(sip.NewHeader("P-Asserted-Identity", identity(c.callerName, c.callerURI)))
	req.AppendHeader(sip.NewHeader("X-Park-Caller", identity(c.callerName, c.callerURI)))
	req.AppendHeader(sip.NewHeader("X-Park-Orbit", strconv.Itoa(c.orbit)))
	addForWhom(req, c)
	if s.opts.OutboundProxy != "" {
		// Through the site's proxy, on its transport.
		proxy, _ := outboundRoute(s.opts.OutboundProxy) // checked by New
		dest, t := routeRequest(req, []sip.Uri{proxy})
		req.SetDestination(dest)
		if t != "" {
			req.SetTransport(t)
		}
	} else if t, _ := u.UriParams.Get("transport"); t != "" {
		req.SetTransport(strings.ToUpper(t))
	}
	// Over TCP on a connection to the parker (or its proxy), never one
	// another peer opened that the listening address's client may pick.
	d, err := s.duaFor(req.Transport()).WriteInvite(ctx, req)
	if err != nil {
		return false, err
	}
	if err := waitAnswer(ctx, d); err != nil {
		d.Close()
		return false, err
	}
	// We offered both laws: the answer may keep either (the relay
	// transcodes), the caller's preferred.
	o, err := s.readOffer(d.InviteResponse.Body())
	if err == nil {
		o.prefer(caller.codec)
	}
	l.uac, l.id = d, d.ID
	if err != nil {
		// Answered without usable audio: hang it up, keep the caller.
		_ = d.Ack(context.Background())
		bye, cancelBye := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelBye()
		_ = d.Bye(bye)
		return false, err
	}
	l.media = answered(o)
	// Registered before the ACK: the far end may hang up right after it.
	s.register(l)
	if err := d.Ack(context.Background()); err != nil {
		l.finish()
		return false, err
	}
	s.mu.Lock()
	ok := c.state == stateRinging && s.lot.holds(c.orbit, c) && !c.leg.isEnded()
	if ok {
		// Taken off its orbit by the one who answered: the lamp goes
		// dark as for a retrieve by uri, saying it was the ring-back.
		s.moveLocked(c, evAnswered)
		c.retriever = uri
	}
	s.mu.Unlock()
	if !ok {
		bye, cancelBye := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelBye()
		l.hangup(bye, "call no longer parked")
		return false, errors.New("call left the orbit while ringing")
	}
	if !s.resume(c) {
		bye, cancelBye := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelBye()
		l.hangup(bye, "caller hung up")
		return false, errors.New("caller hung up while taken off hold")
	}
	s.link(c, l)
	s.settleBridged(c, l)
	if l.isEnded() {
		// The answerer hung up before the bridge stood: end the call
		// as any bridged call ends.
		bye, cancelBye := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelBye()
		c.leg.hangup(bye, "answerer hung up")
	}
	return true, nil
}

// waitAnswer waits for d's final answer until ctx ends. A ring that got
// a provisional answer is CANCELled; one that got nothing at all (the
// parker is unreachable) is abandoned at once rather than waiting out
// the transaction timer, so the caller is back on music without delay.
func waitAnswer(ctx context.Context, d *sipgo.DialogClientSession) error {
	var provisional atomic.Bool
	waitCtx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stop := context.AfterFunc(ctx, func() {
		if provisional.Load() {
			cancel(context.Canceled)
		} else {
			cancel(sipgo.WaitAnswerForceCancelErr)
		}
	})
	defer stop()
	err := d.WaitAnswer(waitCtx, sipgo.AnswerOptions{OnResponse: func(r *sip.Response) error {
		if r.IsProvisional() {
			provisional.Store(true)
		}
		return nil
	}})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("no answer: %w", ctx.Err())
	}
	return err
}

// otherFirst is our offer's formats, static numbers, codec first.
func otherFirst(codec uint8) []format {
	pcmu, pcma := format{pt: ptPCMU, codec: ptPCMU}, format{pt: ptPCMA, codec: ptPCMA}
	if codec == ptPCMA {
		return []format{pcma, pcmu}
	}
	return []format{pcmu, pcma}
}

func (l *sipLeg) isEnded() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ended
}
