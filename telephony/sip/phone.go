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
// lighting for the caller. A lamp that names nobody (Asterisk's) counts
// only after the PBX's 2xx sipfrag, and our leg is never ended before
// it: for a park on the next free orbit, the one orbit that lit then
// names it; when more than one lit in the same moment the console does
// not guess: the call stays on the lines, parked on one of them
// (telephony.Call.Uncertain), narrowed as their lamps change. A REFER
// the PBX accepted (202) with no outcome within 2 s is probed with an
// in-dialog OPTIONS: a 481 says the PBX took the caller. A 200 sipfrag
// alone proves nothing (Asterisk sends it, then
// hangs up a caller it could not park: PARK-PROTOCOL.md, "Interworking
// with another PBX"), but after it the PBX answers nothing on our leg:
// without a certain confirmation within ParkConfig.Timeout the call
// leaves the lines (telephony.EndParkUnconfirmed, naming the orbits it
// may be on) and the console ends its leg. A caller
// that refuses REFER (405, 406, 501) is parked by relay: the console
// INVITEs the park URI itself with the caller's identity and bridges the
// two legs. A park that fails (final NOTIFY >= 300, REFER refused, no
// outcome within ParkConfig.Timeout) takes the call back on hold, with
// the reason. Lamps that name nobody (Asterisk's) show the caller this
// console parked there; an inbound call that no X-Park-Orbit marks is
// taken for the return of a park of ours when its caller is the one we
// parked on an orbit that is lit or went dark moments before.
//
// Where things are. phone.go: the Phone (start, close, events, the
// routing of in-dialog requests) and its one lock, p.mu, which guards
// every call, orbit, park and lamp record and is never held across
// network I/O. calls.go: the calls and the one place that writes their
// state. lines.go: answer, hold, resume, hang up, dial, DTMF and the
// live line on the sound device, with the operation that waits on the
// network outside the lock and checks the call again after (runLineOp);
// transfer.go: transfers. park.go: parking. lamps.go: the lamp board.
// register.go: registration. transport.go: listeners, clients,
// transports, targets. media.go: the RTP legs. config.go: the Config.
package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
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

	ua  *sipgo.UserAgent
	dg  *diago.Diago
	net transports // where requests go; set up by Start
	aor sip.Uri

	events *telephony.EventQueue

	ctx         context.Context // the phone's work: registration, lamps, calls
	cancel      context.CancelFunc
	stopServing func() // closes the listeners, last
	wg          sync.WaitGroup

	sound soundDevice // the live line's sound device

	mu       sync.Mutex
	started  bool
	running  bool
	closed   bool
	seq      uint64
	calls    map[telephony.CallID]*call
	byCallID map[string]*call
	orbits   map[int]*telephony.Orbit
	forWhom  map[int]telephony.ParkFor
	keep     *keeper // writes the parks kept across restarts; nil: none kept
	parking  parking // parks, their records, the park service's health
	lamps    *lamps  // the lamp board; nil while park is off (or before Start)
	// parkRestarted: NoteParkRestart came before Start made the lamps.
	parkRestarted bool
	// subs are the dialog subscriptions (lamps and presence) by Call-ID.
	subs     subscriptions
	presence *presence // the colleagues watched (presence.go)
	// notices are the park notices watched for lamp changes (message.go).
	notices []telephony.ParkedForYou
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
	}
	p.net = transports{account: &p.cfg.Account, listen: cfg.Listen, log: cfg.Logger,
		clients: make(map[string]*sipgo.Client),
		contact: make(map[string]sip.ContactHeader),
		addrs:   make(map[string]netip.AddrPort)}
	p.parking = parking{p: p, records: make(map[int]parkRecord)}
	p.sound = soundDevice{dev: cfg.Audio, log: cfg.Logger}
	if cfg.Park.Enabled() {
		for n := range cfg.Park.Orbits.All() {
			p.orbits[n] = &telephony.Orbit{Number: n}
		}
	}
	if cfg.Account.OutboundProxy != "" {
		p.net.route, _ = proxyRoute(cfg.Account.OutboundProxy)
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
	srv.OnMessage(framing(gate.Middleware(p.onMessage)))
	opts := []diago.DiagoOption{
		diago.WithLogger(p.log),
		diago.WithServer(srv),
		diago.WithServerRequestMiddleware(func(next sipgo.RequestHandler) sipgo.RequestHandler {
			return framing(gate.Middleware(p.middleware(next)))
		}),
	}
	for _, l := range listeners {
		ap, _ := parseHostPort(l.Addr)
		p.net.addrs[l.Transport] = ap
		t := diago.Transport{
			ID:        l.Transport,
			Transport: l.Transport,
			BindHost:  ap.Addr().String(),
			BindPort:  int(ap.Port()),
			TLSConf:   l.TLS,
			MediaSRTP: p.cfg.Account.mediaSRTP(l.Transport),
		}
		if l.Advertise != "" {
			t.ExternalHost = l.Advertise
			t.ExternalPort = int(ap.Port())
		}
		if l.Transport == "tls" {
			t.TLSURINoSIPS = true
		}
		opts = append(opts, diago.WithTransport(t))
		if plain, ok := p.cfg.Account.plainTwin(t); ok {
			opts = append(opts, diago.WithTransport(plain))
		}
		p.net.clients[l.Transport], err = newClient(p.ua, l, ap, p.log)
		if err != nil {
			return fmt.Errorf("sip: %s client: %w", l.Transport, err)
		}
		ch := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.cfg.User, Host: advertised(l), Port: int(ap.Port()),
			UriParams: sip.NewParams(), Headers: sip.NewParams()}}
		ch.Address.UriParams.Add("transport", l.Transport)
		p.net.contact[l.Transport] = ch
	}
	if p.cfg.Account.AOR != "" {
		_ = sip.ParseUri(p.cfg.Account.AOR, &p.aor)
	} else {
		ap := p.net.addrs[first.Transport]
		p.aor = sip.Uri{Scheme: "sip", User: p.cfg.User, Host: host, Port: int(ap.Port())}
	}
	p.dg = diago.NewDiago(p.ua, opts...)
	if p.cfg.Park.Enabled() {
		ls := newLamps(p)
		p.mu.Lock()
		if p.parkRestarted {
			ls.markAllRestarted()
		}
		p.lamps = ls
		p.mu.Unlock()
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
	if ap, ok := p.net.addrs["udp"]; ok {
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
	p.loadKept(ctx)
	if p.lamps != nil {
		p.wg.Go(func() { p.lamps.run(p.ctx) })
	}
	p.mu.Lock()
	p.running = true
	p.mu.Unlock()
	p.watchPending() // colleagues the window asked for before the start
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
func (p *Phone) Addr(transport string) netip.AddrPort { return p.net.addrs[transport] }

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
			if p.subs.onNotify(p, req, tx) {
				return
			}
			if ev := req.GetHeader("Event"); ev != nil && strings.EqualFold(dialoginfo.EventType(ev.Value()), "refer") {
				p.parking.peekReferNotify(req)
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

func (p *Phone) byDialogCallID(req *sip.Request) *call {
	id := req.CallID()
	if id == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byCallID[string(*id)]
}
