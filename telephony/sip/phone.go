// Package sip is the receptionist's SIP user agent on diago: it listens
// for calls, answers, places, holds and transfers them, keeps one live
// line on the sound device, parks and retrieves calls on a call-park
// service (PARK-PROTOCOL.md), lights the orbit lamps from RFC 4235
// subscriptions and registers to a PBX. Phone implements telephony.Phone.
//
// Park: the console REFERs the caller to the park URI with a fresh token
// and its own AOR as the parker, keeps its leg up on hold, and ends it
// once the park is confirmed: by an X-Park-Orbit header in the REFER
// NOTIFY's sipfrag, where the referee copies one, or by the orbit's lamp
// lighting for the caller (for a park on the next free orbit, the lamp
// that lights during the park names the orbit). A 200 sipfrag alone
// proves nothing (Asterisk sends it, then hangs up a caller it could not
// park: PARK-PROTOCOL.md, "Interworking with another PBX"): without a
// confirmation within ParkConfig.Timeout the call stays with the
// console, held, saying that the PBX did not confirm the park. A caller
// that refuses REFER (405, 406, 501) is parked by relay: the console
// INVITEs the park URI itself with the caller's identity and bridges the
// two legs. A park that fails (final NOTIFY >= 300, REFER refused, no
// outcome within ParkConfig.Timeout) takes the call back on hold, with
// the reason. Lamps that name nobody (Asterisk's) show the caller this
// console parked there; an inbound call that no X-Park-Orbit marks is
// taken for the return of a park of ours when its caller is the one we
// parked on an orbit that is lit or went dark moments before.
package sip

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/freeport"
	"github.com/switchboard/switchboard/internal/sipconn"
	"github.com/switchboard/switchboard/internal/sipgate"
	"github.com/switchboard/switchboard/internal/sipready"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/dialoginfo"
)

// Errors returned by Phone methods; they are wrapped with details. The
// first six are telephony's, shared by every telephony.Phone.
var (
	ErrNoSuchCall      = telephony.ErrNoSuchCall
	ErrWrongState      = telephony.ErrWrongState
	ErrParkUnavailable = telephony.ErrParkUnavailable
	ErrBadOrbit        = telephony.ErrBadOrbit
	ErrNoParkService   = telephony.ErrNoParkService
	ErrBadTarget       = telephony.ErrBadTarget
	ErrClosed          = errors.New("phone is closed")
	ErrNotStarted      = errors.New("phone is not started")
)

var _ telephony.Phone = (*Phone)(nil)

// Phone is the console's SIP user agent. Create it with New, start it
// with Start, end it with Close.
type Phone struct {
	cfg Config
	log *slog.Logger

	ua      *sipgo.UserAgent
	dg      *diago.Diago
	clients map[string]*sipgo.Client // by transport, for requests outside dialogs
	contact map[string]sip.ContactHeader
	aor     sip.Uri
	route   *sip.RouteHeader
	addrs   map[string]netip.AddrPort

	events *telephony.EventQueue

	ctx         context.Context // the phone's work: registration, lamps, calls
	cancel      context.CancelFunc
	stopServing func() // closes the listeners, last
	wg          sync.WaitGroup

	// soundMu serialises changes of the sound device (syncSound): which
	// leg it is attached to, sound. It is taken before p.mu, never across
	// network I/O.
	soundMu sync.Mutex
	sound   *leg

	mu       sync.Mutex
	started  bool
	running  bool
	closed   bool
	seq      uint64
	calls    map[telephony.CallID]*call
	byCallID map[string]*call
	orbits   map[int]*telephony.Orbit
	parks    map[int]parkRecord // what this console parked, by orbit
	parkUp   bool
	parkSeen bool
	lamps    *lamps
}

// New validates cfg and prepares a Phone; Start makes it listen.
func New(cfg Config) (*Phone, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Phone{
		cfg:      cfg,
		log:      cfg.Logger,
		events:   telephony.NewEventQueue(cfg.EventBuffer),
		calls:    make(map[telephony.CallID]*call),
		byCallID: make(map[string]*call),
		orbits:   make(map[int]*telephony.Orbit),
		parks:    make(map[int]parkRecord),
		clients:  make(map[string]*sipgo.Client),
		contact:  make(map[string]sip.ContactHeader),
		addrs:    make(map[string]netip.AddrPort),
	}
	if cfg.Park.Enabled() {
		for n := range cfg.Park.Orbits.All() {
			p.orbits[n] = &telephony.Orbit{Number: n}
		}
	}
	if cfg.Account.OutboundProxy != "" {
		p.route, _ = proxyRoute(cfg.Account.OutboundProxy)
	}
	return p, nil
}

// Start binds the listeners and starts registration, lamps and the park
// service health check. The phone runs until Close; ctx only bounds the
// start.
func (p *Phone) Start(ctx context.Context) error {
	p.mu.Lock()
	if p.started || p.closed {
		p.mu.Unlock()
		return errors.New("sip: phone already started or closed")
	}
	p.started = true
	p.mu.Unlock()

	listeners, err := resolvePorts(p.cfg.Listen)
	if err != nil {
		return fmt.Errorf("sip: %w", err)
	}
	first := listeners[0]
	host := advertised(first)
	// Connections the console opens over TLS check the PBX's certificate
	// with the account's settings (nil: the system's roots).
	// Every request passes the gate before diago or our handlers see it:
	// a malformed one is answered 400 (505 for another SIP version) and
	// logged, and a handler's panic becomes a 500, never a crash.
	gate := sipgate.New(p.log, host)
	uaOpts := append(sipconn.UserAgentOptions(), sipgo.WithUserAgent(p.cfg.User), sipgo.WithUserAgentHostname(host),
		sipgo.WithUserAgenTLSConfig(p.cfg.Account.tls), gate.UserAgentOption())
	p.ua, err = sipgo.NewUA(uaOpts...)
	if err != nil {
		return fmt.Errorf("sip: user agent: %w", err)
	}
	// diago serves on this server; the methods it does not handle
	// (SUBSCRIBE, MESSAGE, REGISTER, ...) meet the gate too.
	srv, err := sipgo.NewServer(p.ua, sipgo.WithServerLogger(p.log))
	if err != nil {
		return fmt.Errorf("sip: server: %w", err)
	}
	// On a stream, a request whose framing cannot be trusted closes its
	// connection: outermost, so that it closes even when the gate answers.
	framing := sipconn.Framing(p.ua.TransportLayer(), host, p.log)
	srv.OnNoRoute(framing(gate.Middleware(notAllowed)))
	opts := []diago.DiagoOption{
		diago.WithLogger(p.log),
		diago.WithServer(srv),
		diago.WithServerRequestMiddleware(func(next sipgo.RequestHandler) sipgo.RequestHandler {
			return framing(gate.Middleware(p.middleware(next)))
		}),
	}
	for _, l := range listeners {
		ap, _ := parseHostPort(l.Addr)
		p.addrs[l.Transport] = ap
		t := diago.Transport{
			ID:        l.Transport,
			Transport: l.Transport,
			BindHost:  ap.Addr().String(),
			BindPort:  int(ap.Port()),
			TLSConf:   l.TLS,
		}
		if l.Advertise != "" {
			t.ExternalHost = l.Advertise
			t.ExternalPort = int(ap.Port())
		}
		if l.Transport == "tls" {
			t.TLSURINoSIPS = true
		}
		opts = append(opts, diago.WithTransport(t))
		p.clients[l.Transport], err = newClient(p.ua, l, ap, p.log)
		if err != nil {
			return fmt.Errorf("sip: %s client: %w", l.Transport, err)
		}
		ch := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.cfg.User, Host: advertised(l), Port: int(ap.Port()),
			UriParams: sip.NewParams(), Headers: sip.NewParams()}}
		ch.Address.UriParams.Add("transport", l.Transport)
		p.contact[l.Transport] = ch
	}
	if p.cfg.Account.AOR != "" {
		_ = sip.ParseUri(p.cfg.Account.AOR, &p.aor)
	} else {
		ap := p.addrs[first.Transport]
		p.aor = sip.Uri{Scheme: "sip", User: p.cfg.User, Host: host, Port: int(ap.Port())}
	}
	p.dg = diago.NewDiago(p.ua, opts...)
	if p.cfg.Park.Enabled() {
		p.lamps = newLamps(p)
	}

	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.dg.HandleFunc(p.serve)
	stopServing, err := serveListeners(srv, listeners, p.log)
	if err != nil {
		p.cancel()
		p.ua.Close()
		return fmt.Errorf("sip: listen: %w", err)
	}
	p.stopServing = stopServing
	if ap, ok := p.addrs["udp"]; ok {
		if err := sipready.WaitUDP(ctx, p.ua, ap.String()); err != nil {
			p.cancel()
			stopServing()
			p.ua.Close()
			return fmt.Errorf("sip: listen: %w", err)
		}
	}
	p.log.Info("console listening", "aor", p.aor.String(), "listen", listeners)

	if p.cfg.Account.AOR != "" {
		r := newRegistrar(p)
		p.wg.Go(func() { r.run(p.ctx) })
	} else {
		p.emit(telephony.RegistrationChanged{State: telephony.RegistrationNone})
	}
	if p.lamps != nil {
		p.wg.Go(func() { p.lamps.run(p.ctx) })
	}
	p.mu.Lock()
	p.running = true
	p.mu.Unlock()
	return nil
}

// Close hangs up every call, unregisters, ends the lamp subscriptions
// and stops listening. It waits for every goroutine of the phone.
func (p *Phone) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	started := p.running
	calls := make([]*call, 0, len(p.calls))
	for _, c := range p.calls {
		calls = append(calls, c)
	}
	p.mu.Unlock()
	if !started {
		return nil
	}
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			c.terminate(ctx, endAs(telephony.EndClosed, ""))
		})
	}
	wg.Wait()
	// Unregister and unsubscribe while still listening for the answers.
	p.cancel()
	p.wg.Wait()
	p.stopServing()
	p.ua.Close()
	return nil
}

// Addr returns the address the phone listens on for transport ("udp",
// "tcp" or "tls"), once started.
func (p *Phone) Addr(transport string) netip.AddrPort { return p.addrs[transport] }

// AOR returns the console's address of record: the account's, or its own
// address when it has none.
func (p *Phone) AOR() string { return p.aor.String() }

// Events delivers every change in order; see telephony.Phone.
func (p *Phone) Events() <-chan telephony.Event { return p.events.Events() }

// emit queues ev without blocking. When the channel is full the event
// is counted, logged, and reported as one EventsLost once there is room.
func (p *Phone) emit(ev telephony.Event) {
	if p.events.Emit(ev) == 1 {
		p.log.Error("events channel full: events are being dropped", "capacity", p.events.Cap())
	}
}

// Calls returns every call the phone knows, oldest first.
func (p *Phone) Calls() []telephony.Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	cs := make([]*call, 0, len(p.calls))
	for _, c := range p.calls {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *call) int { return int(a.seq) - int(b.seq) })
	out := make([]telephony.Call, len(cs))
	for i, c := range cs {
		out[i] = c.info
	}
	return out
}

// Orbits returns every orbit of the lot as the lamps show it.
func (p *Phone) Orbits() []telephony.Orbit {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]telephony.Orbit, 0, len(p.orbits))
	for n := range p.cfg.Park.Orbits.All() {
		if o := p.orbits[n]; o != nil { // none while park is off
			out = append(out, *o)
		}
	}
	return out
}

// ready reports whether the phone takes actions.
func (p *Phone) ready() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.readyLocked()
}

func (p *Phone) readyLocked() error {
	if p.closed {
		return ErrClosed
	}
	if !p.running {
		return ErrNotStarted
	}
	return nil
}

// lookup returns call id of a running phone.
func (p *Phone) lookup(id telephony.CallID) (*call, error) { return p.lookupWith(id, nil) }

// lookupWith returns call id after running f (when set) on it under
// p.mu: f reads or checks the call's state in the same moment as the
// lookup, and its error is returned.
func (p *Phone) lookupWith(id telephony.CallID, f func(*call) error) (*call, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.lookupLocked(id)
	if err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	if f != nil {
		if err := f(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// lookupLocked returns call id of a running phone; p.mu is held.
func (p *Phone) lookupLocked(id telephony.CallID) (*call, error) {
	if err := p.readyLocked(); err != nil {
		return nil, err
	}
	c := p.calls[id]
	if c == nil {
		return nil, fmt.Errorf("call %s: %w", id, ErrNoSuchCall)
	}
	return c, nil
}

// notAllowed answers a request whose method the console does not serve.
func notAllowed(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, sip.StatusMethodNotAllowed, "Method Not Allowed", nil)
	res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, NOTIFY, REFER, INFO"))
	_ = tx.Respond(res)
}

// middleware sees every request before diago: lamp NOTIFYs are ours,
// REFER NOTIFYs and re-INVITEs are looked at on their way.
func (p *Phone) middleware(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		switch req.Method {
		case sip.NOTIFY:
			if p.lamps != nil && p.lamps.onNotify(req, tx) {
				return
			}
			if ev := req.GetHeader("Event"); ev != nil && strings.EqualFold(dialoginfo.EventType(ev.Value()), "refer") {
				p.peekReferNotify(req)
			}
		case sip.INFO:
			if p.onInfoDTMF(req, tx) {
				return
			}
		case sip.INVITE:
			if tag, ok := req.To().Params.Get("tag"); ok && tag != "" {
				next(req, tx)
				p.onReinvite(req)
				return
			}
		}
		next(req, tx)
	}
}

// onReinvite shows a remote hold or resume from a re-INVITE's SDP.
func (p *Phone) onReinvite(req *sip.Request) {
	if len(req.Body()) == 0 {
		return
	}
	c := p.byDialogCallID(req)
	if c == nil {
		return
	}
	held := sdpHolds(req.Body())
	p.mu.Lock()
	if c.info.RemoteHold == held || c.info.State == telephony.StateEnded {
		p.mu.Unlock()
		return
	}
	c.info.RemoteHold = held
	p.mu.Unlock()
	p.changed(c)
}

// onInfoDTMF takes a SIP INFO that carries a DTMF digit (the
// application/dtmf-relay of many PBXs and phones, or application/dtmf)
// in the dialog of one of our calls: it answers 200 and publishes the
// digit. It reports whether it took the request; diago answers the
// others (406, or 481 outside our dialogs).
func (p *Phone) onInfoDTMF(req *sip.Request, tx sip.ServerTransaction) bool {
	ct := req.ContentType()
	if ct == nil {
		return false
	}
	d, ok := parseInfoDTMF(ct.Value(), req.Body())
	if !ok {
		return false
	}
	c := p.byDialogCallID(req)
	if c == nil {
		return false
	}
	if err := tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)); err != nil {
		p.log.Debug("answering INFO", "call", c.id, "error", err)
	}
	p.dtmfReceived(c.id, d)
	return true
}

// parseInfoDTMF reads the digit of an INFO body of content type ct:
// "Signal=5" lines of application/dtmf-relay (the signal may be an
// RFC 4733 event number, 10 for *, 11 for #), or the bare digit of
// application/dtmf.
func parseInfoDTMF(ct string, body []byte) (rune, bool) {
	ct, _, _ = strings.Cut(ct, ";")
	var sig string
	switch strings.ToLower(strings.TrimSpace(ct)) {
	case "application/dtmf-relay":
		for _, line := range strings.Split(string(body), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
				sig = strings.TrimSpace(v)
				break
			}
		}
	case "application/dtmf":
		sig = strings.TrimSpace(string(body))
	default:
		return 0, false
	}
	if n, err := strconv.Atoi(sig); err == nil && n >= 10 && n <= 15 {
		return rune("*#ABCD"[n-10]), true
	}
	sig = strings.ToUpper(sig)
	if len(sig) != 1 || validDTMF(sig) != nil {
		return 0, false
	}
	return rune(sig[0]), true
}

func (p *Phone) byDialogCallID(req *sip.Request) *call {
	id := req.CallID()
	if id == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byCallID[string(*id)]
}

// sdpHolds reports whether an SDP offer puts us on hold: sendonly or
// inactive audio, or the old c=0.0.0.0.
func sdpHolds(body []byte) bool {
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "a=sendonly", line == "a=inactive":
			return true
		case strings.HasPrefix(line, "c=") && strings.HasSuffix(line, " 0.0.0.0"):
			return true
		}
	}
	return false
}

// newToken returns a fresh 120-bit park token.
func newToken() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// resolvePorts gives listeners with port 0 a free port: one port free
// for UDP and TCP where both ask for it on one host, so the console has
// a single address.
func resolvePorts(ls []Listener) ([]Listener, error) {
	out := slices.Clone(ls)
	chosen := map[string]int{} // host -> port for udp/tcp
	for i := range out {
		ap, _ := parseHostPort(out[i].Addr)
		if ap.Port() != 0 {
			continue
		}
		host := ap.Addr().String()
		if out[i].Transport != "tls" {
			if port, ok := chosen[host]; ok {
				out[i].Addr = net.JoinHostPort(host, strconv.Itoa(port))
				continue
			}
		}
		port, err := freeport.UDPAndTCP(ap.Addr())
		if err != nil {
			return nil, fmt.Errorf("no free port on %s: %w", host, err)
		}
		if out[i].Transport != "tls" {
			chosen[host] = port
		}
		out[i].Addr = net.JoinHostPort(host, strconv.Itoa(port))
	}
	return out, nil
}

// advertised is the host a listener puts in Contact.
func advertised(l Listener) string {
	if l.Advertise != "" {
		return l.Advertise
	}
	ap, _ := parseHostPort(l.Addr)
	if ap.Addr().IsUnspecified() {
		if ip, _, err := sip.ResolveInterfacesIP("ip4", nil); err == nil {
			return ip.String()
		}
	}
	return ap.Addr().String()
}

// newClient makes a sipgo client that sends from the listener's socket
// (UDP) so that answers and NOTIFYs come back to it.
func newClient(ua *sipgo.UserAgent, l Listener, ap netip.AddrPort, log *slog.Logger) (*sipgo.Client, error) {
	opts := []sipgo.ClientOption{sipgo.WithClientNAT(), sipgo.WithClientLogger(log), sipgo.WithClientHostname(advertised(l))}
	if l.Transport == "udp" && !ap.Addr().IsUnspecified() {
		opts = append(opts, sipgo.WithClientConnectionAddr(ap.String()))
	}
	if l.Advertise != "" {
		opts = append(opts, sipgo.WithClientPort(int(ap.Port())))
	}
	return sipgo.NewClient(ua, opts...)
}

// clientFor returns the client for a request to u, and its transport;
// routed says the request goes through the outbound proxy, when there
// is one (see routedTransport).
func (p *Phone) clientFor(u sip.Uri, routed bool) (*sipgo.Client, string) {
	t := p.transportFor(u)
	if routed {
		t = p.routedTransport(u)
	}
	return p.clients[t], t
}

// routedTransport picks the transport of a request to u that goes
// through the outbound proxy when one is configured (a request outside
// a dialog, with the proxy's preloaded Route): the proxy is its next
// hop, so the transport the proxy's URI names wins (sips: or
// ;transport=tls: TLS); else, or without a proxy, as transportFor.
func (p *Phone) routedTransport(u sip.Uri) string {
	if p.route != nil {
		if t := transportOf(p.route.Address); t != "" {
			if _, ok := p.clients[t]; ok {
				return t
			}
			p.log.Warn("no listener for the outbound proxy's transport", "transport", t, "proxy", p.route.Address.String())
		}
	}
	return p.transportFor(u)
}

// transportFor picks the transport of a request to u: its transport
// parameter when we listen on it, else UDP (or whatever we have).
func (p *Phone) transportFor(u sip.Uri) string {
	want := "udp"
	if u.Scheme == "sips" {
		want = "tls"
	}
	if u.UriParams != nil {
		if t, ok := u.UriParams.Get("transport"); ok && t != "" {
			want = strings.ToLower(t)
		}
	}
	if t := p.cfg.Account.pbxTransport(u); t != "" {
		want = t // the PBX of a TCP or TLS account
	}
	if _, ok := p.clients[want]; ok {
		return want
	}
	for _, l := range p.cfg.Listen {
		return l.Transport
	}
	return "udp"
}

// parseTarget turns a number, user@host or SIP URI into a SIP URI; a bare
// number goes to the account's domain.
func (p *Phone) parseTarget(target string) (sip.Uri, error) {
	t := strings.TrimSpace(target)
	var u sip.Uri
	switch {
	case t == "":
		return u, fmt.Errorf("sip: dial %q: %w", target, ErrBadTarget)
	case strings.HasPrefix(t, "sip:") || strings.HasPrefix(t, "sips:"):
	case strings.Contains(t, "@"):
		t = "sip:" + t
	default:
		for _, r := range t {
			if !strings.ContainsRune("0123456789*#+", r) {
				return u, fmt.Errorf("sip: dial %q: %w", target, ErrBadTarget)
			}
		}
		if p.cfg.Account.AOR == "" {
			return u, fmt.Errorf("sip: dial %q: a number needs an account's domain: %w", target, ErrBadTarget)
		}
		t = "sip:" + t + "@" + p.aor.HostPort()
	}
	if err := sip.ParseUri(t, &u); err != nil || u.Host == "" {
		return u, fmt.Errorf("sip: dial %q: %w", target, ErrBadTarget)
	}
	return u, nil
}
