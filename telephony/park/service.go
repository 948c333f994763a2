// Package park is Switchboard's call-park service: a SIP server that holds
// callers on numbered orbits with music on hold, tells every console what
// each orbit holds (RFC 4235 busy lamps), bridges a caller to whoever
// retrieves the orbit, and rings the parker back when nobody does. The
// contract is PARK-PROTOCOL.md; cmd/parkd runs it alone and the console
// embeds it.
package park

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/sipconn"
	"github.com/switchboard/switchboard/internal/sipgate"
	"github.com/switchboard/switchboard/internal/sipready"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park/store"
)

// Defaults of Options.
const (
	DefaultListen       = "127.0.0.1:5070"
	DefaultParkTime     = 120 * time.Second
	DefaultRingbackTime = 30 * time.Second
	DefaultDrain        = 60 * time.Second
	// DefaultProbeInterval is how often parked callers are probed.
	DefaultProbeInterval = 2 * time.Minute
)

// Options configures a Service. The zero value of a field means its default.
type Options struct {
	// Listen is the host:port of SIP over UDP and TCP (DefaultListen).
	// Port 0 picks a free port; read it back with Addr.
	Listen string
	// TCPIdleTimeout closes a TCP connection a peer opened once nothing
	// was read from it for that long (sipconn.DefaultIdleTimeout, 5
	// minutes); negative: never.
	TCPIdleTimeout time.Duration
	// TCPMaxPerSource is how many TCP connections one source IP address
	// may hold open (sipconn.DefaultMaxPerSource, 32); the next is closed
	// at once. Negative: no cap.
	TCPMaxPerSource int
	// Advertise is the host put in Contact and SDP when Listen's host is
	// unspecified (0.0.0.0); by default the first non-loopback IPv4.
	Advertise string
	// Orbits is the lot (telephony.DefaultLot).
	Orbits telephony.Lot
	// ParkTime is how long a call stays parked before it rings back its
	// parker (DefaultParkTime).
	ParkTime time.Duration
	// RingbackTime is how long the parker (and then the fallback) rings
	// before the call returns to its orbit (DefaultRingbackTime).
	RingbackTime time.Duration
	// Fallback, when set, is the URI a call goes to when its parker does
	// not answer the ring-back.
	Fallback string
	// OutboundProxy, when set, is the SIP URI of the proxy every request
	// the service starts outside a dialog (the ring-backs, to the parker
	// and to the fallback) goes through: a loose route (;lr is implied)
	// and the next hop, on the transport it names. Requests inside a
	// dialog follow the dialog's route set instead.
	OutboundProxy string
	// Music is the music on hold, 8 kHz 16-bit mono PCM, looped. Required.
	Music []int16
	// Allow lists the sources that may use the service (DefaultAllow).
	Allow []netip.Prefix
	// Username and Password, when Password is set, require digest
	// authentication of INVITE and SUBSCRIBE.
	Username, Password string
	// Realm is the digest realm ("switchboard-park").
	Realm string
	// RTPPort fixes the even media port (RTCP is the next); 0 picks one.
	RTPPort int
	// Senders is how many OS threads share each 20 ms music tick, each
	// with its own descriptor of the RTP socket (DefaultSenders when 0:
	// one per GOMAXPROCS, at most 8). Off Linux the clock sends alone.
	Senders int
	// SenderPriority, when above 0, runs the music clock and its senders
	// at that real-time priority (SCHED_RR, 1 to 99; Linux): a sender
	// preempted by other work for a few milliseconds delays every frame of
	// its share. Where the process may not (neither root, CAP_SYS_NICE nor
	// an RLIMIT_RTPRIO that high) they run at normal priority and one
	// line says so. 0, the default, leaves the scheduling alone.
	SenderPriority int
	// Logger receives the park events and diagnostics (slog.Default()).
	Logger *slog.Logger
	// ProbeInterval is how often a parked caller is probed with an
	// in-dialog OPTIONS (DefaultProbeInterval); one without an answer
	// for a whole interval, or answering 481 or 408, is taken off its
	// orbit as lost.
	ProbeInterval time.Duration
	// Store, when set, keeps every parked and bridged call across
	// restarts of the service: each step is written to it before the
	// service confirms it, Start takes back the calls it holds, and Close
	// stops without hanging anybody up (persist.go, restore.go). nil: the
	// calls live and die with the service. The owner opens it
	// (store.Open) and closes it after Close or Shutdown returned.
	Store store.Store

	// ackWait is how long a 2xx waits for its ACK (64×T1, 32 s); tests
	// shorten it (export_test.go).
	ackWait time.Duration
	// refusalLogEvery is how often a refusal of one host is logged
	// (sipgate.LogInterval); tests that count every refusal set it to -1.
	refusalLogEvery time.Duration
	// afterSettle, for tests, runs as a retrieved call has left its
	// orbit and before the store hears of its bridge.
	afterSettle func(orbit int)
}

func (o *Options) withDefaults() (Options, error) {
	out := *o
	if out.Listen == "" {
		out.Listen = DefaultListen
	}
	if out.Orbits == (telephony.Lot{}) {
		out.Orbits = telephony.DefaultLot
	}
	if err := out.Orbits.Validate(); err != nil {
		return out, fmt.Errorf("orbit range %s: %w", out.Orbits, err)
	}
	if out.ParkTime == 0 {
		out.ParkTime = DefaultParkTime
	}
	if out.RingbackTime == 0 {
		out.RingbackTime = DefaultRingbackTime
	}
	if out.ParkTime < 0 || out.RingbackTime < 0 {
		return out, errors.New("park time and ring-back time must be positive")
	}
	if out.ProbeInterval == 0 {
		out.ProbeInterval = DefaultProbeInterval
	}
	if out.ProbeInterval < 0 {
		return out, errors.New("probe interval must be positive")
	}
	if out.Senders < 0 {
		return out, errors.New("music senders must be 0 (default) or more")
	}
	if out.Senders == 0 {
		out.Senders = DefaultSenders()
	}
	if out.SenderPriority < 0 || out.SenderPriority > 99 {
		return out, errors.New("music sender priority must be 0 (normal) or a real-time priority of 1 to 99")
	}
	if out.refusalLogEvery == 0 {
		out.refusalLogEvery = sipgate.LogInterval
	}
	if out.ackWait <= 0 {
		out.ackWait = ackWait
	}
	if out.Fallback != "" {
		var u sip.Uri
		if err := sip.ParseUri(out.Fallback, &u); err != nil || u.Host == "" {
			return out, fmt.Errorf("fallback %q is not a SIP URI", out.Fallback)
		}
	}
	if out.OutboundProxy != "" {
		if _, err := outboundRoute(out.OutboundProxy); err != nil {
			return out, err
		}
	}
	if len(out.Allow) == 0 {
		out.Allow = DefaultAllow()
	}
	if out.Password != "" && out.Username == "" {
		return out, errors.New("a password needs a username")
	}
	if out.Realm == "" {
		out.Realm = "switchboard-park"
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	if len(out.Music) < frameSamples {
		return out, errors.New("music on hold is missing or shorter than 20 ms")
	}
	return out, nil
}

// OrbitState is what one orbit holds at one moment.
type OrbitState struct {
	Orbit       int
	Occupied    bool
	CallerName  string
	CallerURI   string
	Parker      string
	ParkedAt    time.Time
	RingingBack bool
	// For is whom the call was parked for (a URI), Note the parker's
	// note; empty when the park named none.
	For, Note string
	// Last says how the last call left a free orbit, for ExitShown after
	// it left; nil otherwise.
	Last *OrbitExit
}

// How a call left its orbit (OrbitExit.How).
const (
	ExitGaveUp    = "gave up"   // the caller hung up while parked
	ExitRetrieved = "retrieved" // someone retrieved it
	ExitLost      = "lost"      // its phone vanished: probes went unanswered
)

// ExitShown is how long the lamps keep saying how the last call left a
// free orbit.
const ExitShown = 30 * time.Second

// OrbitExit is how a call left its orbit.
type OrbitExit struct {
	How         string // ExitGaveUp or ExitRetrieved
	CallerName  string
	CallerURI   string
	Parker      string
	ParkedAt    time.Time
	For, Note   string // whom it was parked for, the parker's note
	RetrievedBy string // the retriever's URI, for ExitRetrieved
	At          time.Time
}

// Service is a running call-park service.
type Service struct {
	opts   Options
	log    *slog.Logger
	guard  *guard
	ua     *sipgo.UserAgent
	server *sipgo.Server
	client *sipgo.Client // bound to the listening address: UDP
	dua    *sipgo.DialogUA
	// streamClient and streamDUA send over TCP, down the connection of
	// the peer (see Start).
	streamClient *sipgo.Client
	streamDUA    *sipgo.DialogUA
	// targetDUA sends over TCP to a dialog's remote target (its
	// Contact), opening a connection when none is there: for the
	// restored dialogs whose peer's connection closed with the service
	// that answered it (see restoreLeg).
	targetDUA  *sipgo.DialogUA
	refusalLog *sipgate.LogLimiter // refusals are logged once per host a minute
	acks       *sentTable[ackKey]  // the ACKs of re-INVITEs' 2xx, for their copies
	answers    *sentTable[string]  // final answers to BYEs over UDP, by transaction key
	media      *engine
	lamps      *lampServer

	addr    netip.AddrPort // SIP, as listened
	host    string         // advertised host
	cancel  context.CancelFunc
	bg      sync.WaitGroup
	closing chan struct{}

	instance string // X-Park-Instance, new at every start

	mu       sync.Mutex
	lot      *lot              // the one record of which orbits are taken, by which call
	exits    map[int]OrbitExit // how the last call left each free orbit
	dialogs  map[string]*sipLeg
	legs     map[*sipLeg]struct{}
	pending  map[string]int // unconfirmed parks (2xx not ACKed) by source host
	draining bool
	drainAt  time.Time     // when Shutdown began the drain; zero for Close alone
	changed  chan struct{} // closed and replaced on every call change (drain waits on it)

	keep         keeper   // what is written to Options.Store (persist.go)
	afterRestore []func() // the restored legs' probes, run once Start serves (restore.go)
}

// New validates opts and prepares a service; Start makes it listen.
func New(opts Options) (*Service, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("park: %w", err)
	}
	m, err := newMusic(o.Music)
	if err != nil {
		return nil, fmt.Errorf("park: %w", err)
	}
	s := &Service{
		opts:       o,
		log:        o.Logger,
		refusalLog: sipgate.NewLogLimiter(max(o.refusalLogEvery, 0)),
		acks:       newSentTable[ackKey](sip.Timer_M),
		answers:    newSentTable[string](sip.Timer_J),
		guard:      newGuard(o.Allow, o.Username, o.Password, o.Realm),
		lot:        newLot(o.Orbits),
		exits:      make(map[int]OrbitExit),
		dialogs:    make(map[string]*sipLeg),
		legs:       make(map[*sipLeg]struct{}),
		pending:    make(map[string]int),
		changed:    make(chan struct{}),
		closing:    make(chan struct{}),
	}
	s.instance = newInstanceID()
	s.media = &engine{music: m}
	return s, nil
}

// Start binds SIP (UDP and TCP on one port) and RTP and serves until
// Shutdown or Close. It returns once the service is listening.
func (s *Service) Start(ctx context.Context) error {
	host, portStr, err := net.SplitHostPort(s.opts.Listen)
	if err != nil {
		return fmt.Errorf("park: listen %q: %w", s.opts.Listen, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("park: listen %q: host must be an IP address", s.opts.Listen)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return fmt.Errorf("park: listen %q: bad port", s.opts.Listen)
	}
	adv, err := advertiseAddr(ip, s.opts.Advertise)
	if err != nil {
		return fmt.Errorf("park: %w", err)
	}
	s.host = adv.String()
	if adv.Is6() {
		s.host = "[" + s.host + "]"
	}

	udp, tcp, err := listenPair(ip, port)
	if err != nil {
		return fmt.Errorf("park: listen %s: %w", s.opts.Listen, err)
	}
	s.addr = udp.LocalAddr().(*net.UDPAddr).AddrPort()

	mediaHost := ip
	if ip.IsUnspecified() {
		mediaHost = adv
	}
	snap, err := s.loadStore()
	if err != nil {
		udp.Close()
		tcp.Close()
		return err
	}
	rtpPort := s.opts.RTPPort
	if rtpPort == 0 {
		rtpPort = storedRTPPort(snap, mediaHost) // where the kept calls' peers send
	}
	eng, err := listenEngine(mediaHost, rtpPort, s.media.music, s.log)
	if err != nil {
		udp.Close()
		tcp.Close()
		return fmt.Errorf("park: %w", err)
	}
	eng.senders, eng.priority = s.opts.Senders, s.opts.SenderPriority
	s.media = eng

	// Every request passes the gate before a handler sees it: a malformed
	// one is answered 400 (505 for another SIP version) with a Warning and
	// logged, over UDP even when sipgo's parser refuses it; a handler's
	// panic becomes a 500 and an ERROR line, never a crash.
	gate := sipgate.New(s.log, s.HostPort())
	gate.OnStrayResponse(s.onStrayResponse)
	s.ua, err = sipgo.NewUA(append(sipconn.UserAgentOptions(), gate.UserAgentOption(),
		sipgo.WithUserAgent("park"), sipgo.WithUserAgentHostname(s.host))...)
	if err != nil {
		return fmt.Errorf("park: %w", err)
	}
	s.server, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(s.log))
	if err != nil {
		return fmt.Errorf("park: %w", err)
	}
	s.client, err = sipgo.NewClient(s.ua,
		sipgo.WithClientHostname(s.host),
		sipgo.WithClientConnectionAddr(s.addr.String()),
		sipgo.WithClientLogger(s.log))
	if err != nil {
		return fmt.Errorf("park: %w", err)
	}
	// What the service sends over TCP goes down the connection of the
	// dialog's peer: a client bound to the listening address (as UDP
	// needs, so that answers come back to it) makes sipgo pick any
	// pooled connection with that local address, whoever is at its far
	// end.
	s.streamClient, err = sipgo.NewClient(s.ua,
		sipgo.WithClientHostname(s.host),
		sipgo.WithClientLogger(s.log))
	if err != nil {
		return fmt.Errorf("park: %w", err)
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "park", Host: s.hostOnly(), Port: int(s.addr.Port())}}
	s.dua = &sipgo.DialogUA{Client: s.client, ContactHDR: contact, RewriteContact: true}
	s.streamDUA = &sipgo.DialogUA{Client: s.streamClient, ContactHDR: contact, RewriteContact: true}
	s.targetDUA = &sipgo.DialogUA{Client: s.streamClient, ContactHDR: contact}
	s.lamps = newLampServer(s)

	// The listeners serve before the restore, so that what it starts (a
	// ring-back the stop cut short, the probes, a BYE) can be sent: a
	// request sent on the listening address before sipgo serves it fails
	// (sipready.ServeUDP). Requests wait for the restore: a restored
	// call's BYE must find it.
	restored := make(chan struct{})
	gated := func(h sipgo.RequestHandler) sipgo.RequestHandler {
		return gate.Middleware(func(req *sip.Request, tx sip.ServerTransaction) {
			<-restored
			h(req, tx)
		})
	}
	s.server.OnInvite(gated(s.onInvite))
	s.server.OnAck(gated(s.onAck))
	s.server.OnBye(gated(s.answeredOnce(s.onBye)))
	s.server.OnCancel(gated(func(req *sip.Request, tx sip.ServerTransaction) {
		if !s.admitAny(req, tx) {
			return
		}
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
	}))
	s.server.OnOptions(gated(s.onOptions))
	s.server.OnSubscribe(gated(s.lamps.onSubscribe))
	s.server.OnNotify(gated(s.onInDialog))
	s.server.OnInfo(gated(s.onInDialog))
	s.server.OnUpdate(gated(s.onInDialog))
	s.server.OnRefer(gated(func(req *sip.Request, tx sip.ServerTransaction) {
		if !s.admitAny(req, tx) {
			return
		}
		s.reply(req, tx, sip.StatusNotImplemented, "Not Implemented")
	}))
	// A method nobody handles is often what is left of a stream whose
	// Content-Length lied: Framing answers that 400 and closes the stream
	// (before the gate, which would answer it without closing).
	s.server.OnNoRoute(sipconn.Framing(s.ua.TransportLayer(), "park", s.log)(gated(func(req *sip.Request, tx sip.ServerTransaction) {
		s.reply(req, tx, sip.StatusMethodNotAllowed, "Method Not Allowed",
			sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, SUBSCRIBE, NOTIFY"))
	})))
	// TCP through a sipconn.Listener: it keeps accepting through EMFILE,
	// caps connections per source and closes idle ones.
	tcpL := sipconn.NewListener(tcp, sipconn.Options{MaxPerSource: s.opts.TCPMaxPerSource,
		IdleTimeout: s.opts.TCPIdleTimeout, Logger: s.log})

	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	sipready.ServeUDP(&s.bg, s.server, udp)
	s.bg.Go(func() { _ = s.server.ServeTCP(tcpL) })

	// The calls of the previous start, before any request is handled.
	s.restore(snap)
	close(restored)
	s.bg.Go(func() { s.media.run(runCtx) })
	for _, probe := range s.afterRestore {
		s.bg.Go(probe)
	}
	s.afterRestore = nil
	s.bg.Go(func() {
		<-runCtx.Done()
		udp.Close()
		tcpL.Close()
	})
	s.log.Info("park service listening", "sip", s.addr.String(), "transports", "udp,tcp",
		"rtp", s.media.local.String(), "orbits", s.opts.Orbits.String(),
		"park_time", s.opts.ParkTime, "ringback", s.opts.RingbackTime, "fallback", s.opts.Fallback)
	return nil
}

// Addr is the SIP address the service listens on (UDP and TCP).
func (s *Service) Addr() netip.AddrPort { return s.addr }

// HostPort is the advertised host:port, the H of PARK-PROTOCOL.md.
func (s *Service) HostPort() string {
	return s.host + ":" + strconv.Itoa(int(s.addr.Port()))
}

// Instance is the service's X-Park-Instance (PARK-PROTOCOL.md "Restarts
// are visible"): 16 hex digits, new for every service.
func (s *Service) Instance() string { return s.instance }

// Orbits is the lot the service serves.
func (s *Service) Orbits() telephony.Lot { return s.opts.Orbits }

func (s *Service) hostOnly() string { return strings.Trim(s.host, "[]") }

// State returns every orbit's state, in orbit order.
func (s *Service) State() []OrbitState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]OrbitState, 0, s.opts.Orbits.Size())
	for n := range s.opts.Orbits.All() {
		out = append(out, s.orbitStateLocked(n))
	}
	return out
}

// Orbit returns one orbit's state; false when n is outside the lot.
func (s *Service) Orbit(n int) (OrbitState, bool) {
	if !s.opts.Orbits.Contains(n) {
		return OrbitState{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orbitStateLocked(n), true
}

func (s *Service) orbitStateLocked(n int) OrbitState {
	st := OrbitState{Orbit: n}
	if c := s.lot.at(n); c != nil && c.visible() {
		st.Occupied = true
		st.CallerName, st.CallerURI = c.callerName, c.callerURI
		st.Parker, st.ParkedAt = c.parker, c.parkedAt
		st.For, st.Note = c.forURI, c.note
		st.RingingBack = c.state == stateRinging
	} else if e, ok := s.exits[n]; ok && time.Since(e.At) < ExitShown {
		st.Last = &e
	}
	return st
}

// Parked is the number of calls on orbits now.
func (s *Service) Parked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lot.len()
}

// Shutdown stops the service gracefully: new parks are refused, the
// parkers of calls still parked are rung back, and it waits until no
// call is parked or bridged through it, or ctx ends; then it closes,
// hanging up what is left.
func (s *Service) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	if s.drainAt.IsZero() {
		s.drainAt = time.Now()
	}
	parked := s.lot.all()
	s.mu.Unlock()
	s.log.Info("park service draining", "parked", len(parked))
	for _, c := range parked {
		s.startRingback(c, "shutdown")
	}
	var err error
	for {
		s.mu.Lock()
		n, ch := len(s.legs), s.changed
		s.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-ch:
			continue
		case <-ctx.Done():
			err = fmt.Errorf("park: drain ended with %d call legs up: %w", n, ctx.Err())
		}
		break
	}
	s.stop(true)
	return err
}

// Close stops the service at once. With Options.Store it hangs nobody
// up: every call stays in the store as it is, for the next start to take
// back, and Close returns once the store's writes are done and the
// sockets are closed (within about a second). Without a store it hangs
// up every leg it still has. Shutdown is the drain that decommissions.
func (s *Service) Close() { s.stop(!s.keeps()) }

// stop closes the service, hanging up every leg when hangup is set.
func (s *Service) stop(hangup bool) {
	select {
	case <-s.closing:
		return
	default:
		close(s.closing)
	}
	if !hangup {
		// Nothing after this moment reaches the store: the calls stay
		// there as the callers last saw them confirmed, each sender's
		// RTP position last.
		s.saveMediaPositions()
		s.stopWriting()
	}
	s.mu.Lock()
	s.draining = true
	legs := make([]*sipLeg, 0, len(s.legs))
	if hangup {
		for l := range s.legs {
			legs = append(legs, l)
		}
	} else {
		s.keepCallsLocked()
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, l := range legs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			l.hangup(ctx, "service stopped")
		})
	}
	wg.Wait()
	if s.lamps != nil {
		s.lamps.close()
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.bg.Wait()
	if s.ua != nil {
		s.ua.Close()
	}
	s.acks.close()
	s.answers.close()
}

// notifyChangedLocked wakes whoever waits for calls to change.
func (s *Service) notifyChangedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Service) reply(req *sip.Request, tx sip.ServerTransaction, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("respond failed", "code", code, "error", err)
	}
}

// admit applies the allowlist and digest auth; false means answered.
func (s *Service) admit(req *sip.Request, tx sip.ServerTransaction) bool {
	v := s.guard.judge(req, time.Now())
	if v.code == 0 {
		return true
	}
	s.refuse(req, tx, v)
	return false
}

func (s *Service) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	// Every answer says which start of the service gave it.
	if !s.guard.allowed(req.Source()) {
		s.refuse(req, tx, refusal(whyNotAllowed), s.instanceHeader())
		return
	}
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	allow := sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, SUBSCRIBE, NOTIFY")
	accept := sip.NewHeader("Accept", "application/sdp, application/dialog-info+xml")
	if draining {
		s.reply(req, tx, sip.StatusServiceUnavailable, "Service Unavailable", allow, sip.NewHeader("Retry-After", "30"),
			ReasonStopping.header(), s.instanceHeader())
		return
	}
	s.reply(req, tx, sip.StatusOK, "OK", allow, accept, sip.NewHeader("Supported", ""), s.instanceHeader())
}

// clientFor is the client of a request sent over transport.
func (s *Service) clientFor(transport string) *sipgo.Client {
	if sip.IsReliable(sip.NetworkToLower(transport)) {
		return s.streamClient
	}
	return s.client
}

// duaFor is the dialog UA of a dialog whose INVITE came over transport.
func (s *Service) duaFor(transport string) *sipgo.DialogUA {
	if sip.IsReliable(sip.NetworkToLower(transport)) {
		return s.streamDUA
	}
	return s.dua
}

// event logs one park event as a single structured line.
func (s *Service) event(name string, c *parkedCall, kv ...any) {
	args := []any{"event", name}
	if c != nil {
		args = append(args, "orbit", c.orbit, "caller", c.callerString(), "parker", c.parker,
			"duration", time.Since(c.parkedAt).Round(time.Millisecond).String())
	}
	args = append(args, kv...)
	s.log.Info("park", args...)
}

// listenPair binds UDP and TCP on the same port; with port 0 it retries
// until a port free for both is found.
func listenPair(ip netip.Addr, port int) (*net.UDPConn, *net.TCPListener, error) {
	var lastErr error
	for try := 0; try < 20; try++ {
		udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
		if err != nil {
			return nil, nil, err
		}
		got := udp.LocalAddr().(*net.UDPAddr).AddrPort()
		tcp, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(got))
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		lastErr = err
		if port != 0 {
			break
		}
	}
	return nil, nil, lastErr
}

func advertiseAddr(listen netip.Addr, advertise string) (netip.Addr, error) {
	if advertise != "" {
		a, err := netip.ParseAddr(advertise)
		if err != nil {
			return a, fmt.Errorf("advertise %q: not an IP address", advertise)
		}
		return a, nil
	}
	if !listen.IsUnspecified() {
		return listen, nil
	}
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().Is4() && !ip.IsLoopback() {
					return ip.Unmap(), nil
				}
			}
		}
	}
	return netip.MustParseAddr("127.0.0.1"), nil
}
