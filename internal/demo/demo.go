// Package demo runs simulated callers for the console's demo mode
// (cmd/attendant --demo) and for tests: real SIP user agents (diago on
// sipgo, in the same process) with names and numbers that call the
// console every few seconds, talk (a synthesised voice-like babble) or
// play music, follow the console's REFER when it parks them, and now and
// then hang up while parked, as impatient callers do. They also answer
// when the console calls them back.
//
// Nothing here is Fyne: it is SIP code, used by the console's demo mode
// and by the app's tests, so it sits under internal/ rather than app/.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/audio"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/sipready"
)

// Defaults of Options.
const (
	DefaultInterval = 8 * time.Second
	DefaultMaxCalls = 3
	DefaultGiveUp   = 0.3
	DefaultGiveUpIn = 45 * time.Second
	DefaultPatience = 45 * time.Second
	DefaultLongest  = 4 * time.Minute
)

// Caller is one simulated caller.
type Caller struct {
	// Name is the display name sent in From; Number the user part.
	Name, Number string
	// Sound is what the caller sends, 8 kHz 16-bit mono, looped; nil
	// makes silence. Use Voice, Melody or Tone.
	Sound func() []int16
}

// Roster returns the demo's callers: names and numbers from the
// ranges reserved for fiction (+44 20 7946 0xxx, +1 555 01xx), voices
// of different pitch, two with music.
func Roster() []Caller {
	voice := func(seed uint64, f0 float64) func() []int16 {
		return sync.OnceValue(func() []int16 { return Voice(seed, f0, 12) })
	}
	music := func(seed uint64, root float64) func() []int16 {
		return sync.OnceValue(func() []int16 { return Melody(seed, root, 9.6) })
	}
	return []Caller{
		{"Alice Martin", "+442079460018", voice(1, 215)},
		{"Bob Chen", "+15550142", voice(2, 118)},
		{"Carol Díaz", "+15550173", voice(3, 230)},
		{"Dan Okafor", "+442079460321", voice(4, 105)},
		{"Eva Novak", "+442079460777", music(5, 330)},
		{"Frank Müller", "+15550119", voice(6, 132)},
		{"Grace Kim", "+15550188", voice(7, 205)},
		{"Hiro Tanaka", "+442079460555", voice(8, 126)},
		{"Inês Costa", "+15550164", music(9, 262)},
		{"Jon Berg", "+442079460902", voice(10, 112)},
	}
}

// Options configure a Demo.
type Options struct {
	// Console is the console's SIP URI, e.g. "sip:console@127.0.0.1:5060".
	Console string
	// Host is the IP address the callers' user agent listens on
	// ("127.0.0.1"); the port is picked free.
	Host string
	// Interval is the mean time between two new calls (DefaultInterval);
	// negative: no calls by themselves (Dial places them).
	Interval time.Duration
	// MaxCalls is how many demo calls may be up at once (DefaultMaxCalls).
	MaxCalls int
	// GiveUp is the chance that a parked caller hangs up before anyone
	// retrieves it (DefaultGiveUp); negative: never.
	GiveUp float64
	// GiveUpIn is the longest a caller who gives up waits on its orbit;
	// it waits between a third of it and all of it (DefaultGiveUpIn).
	GiveUpIn time.Duration
	// Patience is how long a caller lets the console ring before
	// hanging up (DefaultPatience).
	Patience time.Duration
	// Longest ends a demo call after this long (DefaultLongest), so that
	// a forgotten call does not stay up for ever.
	Longest time.Duration
	// Callers are who calls (Roster()).
	Callers []Caller
	// StillParked, when set, tells whether a caller (by its SIP URI) is
	// still parked, so that only parked callers give up; without it a
	// caller gives up whether or not it was retrieved meanwhile.
	StillParked func(callerURI string) bool
	// Seed makes the choice of callers and timings repeatable (0: random).
	Seed uint64
	// Logger receives what the callers do (slog.Default() when nil).
	Logger *slog.Logger
}

// Demo is a set of simulated callers. Create it with New, start it with
// Start and end it with Close.
type Demo struct {
	opts    Options
	log     *slog.Logger
	console sip.Uri
	ua      *sipgo.UserAgent
	dg      *diago.Diago
	port    int

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	rng    *rand.Rand
	calls  map[*Call]struct{}
	next   int
	closed bool
}

// New checks opts; Start makes the callers' user agent listen.
func New(opts Options) (*Demo, error) {
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.MaxCalls <= 0 {
		opts.MaxCalls = DefaultMaxCalls
	}
	if opts.GiveUp == 0 {
		opts.GiveUp = DefaultGiveUp
	}
	if opts.GiveUpIn <= 0 {
		opts.GiveUpIn = DefaultGiveUpIn
	}
	if opts.Patience <= 0 {
		opts.Patience = DefaultPatience
	}
	if opts.Longest <= 0 {
		opts.Longest = DefaultLongest
	}
	if len(opts.Callers) == 0 {
		opts.Callers = Roster()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	d := &Demo{opts: opts, log: opts.Logger.With("component", "demo"), calls: make(map[*Call]struct{})}
	if err := sip.ParseUri(opts.Console, &d.console); err != nil || d.console.Host == "" {
		return nil, fmt.Errorf("demo: console %q is not a SIP URI", opts.Console)
	}
	if net.ParseIP(opts.Host) == nil {
		return nil, fmt.Errorf("demo: host %q is not an IP address", opts.Host)
	}
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	d.rng = rand.New(rand.NewPCG(seed, 0xca11))
	d.next = d.rng.IntN(len(opts.Callers))
	return d, nil
}

// Start makes the callers' user agent listen and, unless Interval is
// negative, starts calling the console. The callers run until ctx ends
// or Close.
func (d *Demo) Start(ctx context.Context) error {
	port, err := freeUDPPort(d.opts.Host)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	d.port = port
	d.ua, err = sipgo.NewUA(sipgo.WithUserAgent("switchboard-demo"), sipgo.WithUserAgentHostname(d.opts.Host))
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	d.dg = diago.NewDiago(d.ua,
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: d.opts.Host, BindPort: port}),
		diago.WithLogger(d.log))
	d.ctx, d.cancel = context.WithCancel(ctx)
	if err := d.dg.ServeBackground(d.ctx, d.answer); err != nil {
		d.cancel()
		d.ua.Close()
		return fmt.Errorf("demo: listen: %w", err)
	}
	// ctx is the callers' lifetime; the listener comes at once or never.
	wctx, stop := context.WithTimeout(d.ctx, 5*time.Second)
	err = sipready.WaitUDP(wctx, d.ua, net.JoinHostPort(d.opts.Host, strconv.Itoa(port)))
	stop()
	if err != nil {
		d.cancel()
		d.ua.Close()
		return fmt.Errorf("demo: %w", err)
	}
	d.log.Info("demo callers ready", "calls", d.opts.Console, "from", d.Addr())
	if d.opts.Interval > 0 {
		d.wg.Go(d.schedule)
	}
	return nil
}

// Addr is the callers' SIP address (host:port), once started.
func (d *Demo) Addr() string { return net.JoinHostPort(d.opts.Host, strconv.Itoa(d.port)) }

// Close hangs up every demo call and stops the user agent.
func (d *Demo) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	d.mu.Unlock()
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.wg.Wait()
	d.ua.Close()
}

// schedule places a call every Interval or so while there is room.
func (d *Demo) schedule() {
	first := true
	for {
		d.mu.Lock()
		wait := time.Duration(float64(d.opts.Interval) * (0.5 + d.rng.Float64()))
		if first {
			wait = min(wait, 2*time.Second)
			first = false
		}
		d.mu.Unlock()
		select {
		case <-d.ctx.Done():
			return
		case <-time.After(wait):
		}
		d.mu.Lock()
		room := len(d.calls) < d.opts.MaxCalls
		c := d.opts.Callers[d.next%len(d.opts.Callers)]
		if room {
			d.next += 1 + d.rng.IntN(2)
		}
		d.mu.Unlock()
		if room {
			if _, err := d.Dial(c); err != nil {
				d.log.Warn("demo call not placed", "caller", c.Name, "error", err)
			}
		}
	}
}

// CallState is where a demo call is.
type CallState string

// States of a demo call, as the caller sees it.
const (
	CallRinging CallState = "ringing" // calling the console
	CallTalking CallState = "talking" // answered by the console
	CallParked  CallState = "parked"  // transferred to the park service
	CallEnded   CallState = "ended"
)

// Call is one demo call.
type Call struct {
	d      *Demo
	caller Caller
	uri    sip.Uri
	done   chan struct{}
	hangup context.CancelFunc

	mu     sync.Mutex
	state  CallState
	reason string
	heard  []int16 // the last few seconds received
	wake   chan struct{}
}

// Caller returns who is calling.
func (c *Call) Caller() Caller { return c.caller }

// URI is the caller's SIP address.
func (c *Call) URI() string { return c.uri.String() }

// State returns where the call is and, once ended, why.
func (c *Call) State() (CallState, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state, c.reason
}

// Done is closed when the call is over.
func (c *Call) Done() <-chan struct{} { return c.done }

// HangUp makes the caller hang up.
func (c *Call) HangUp() { c.hangup() }

// Heard returns the audio the caller received lately (8 kHz), up to
// four seconds, oldest first.
func (c *Call) Heard() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.heard...)
}

// Wait returns a channel closed at the next change of the call (state or
// audio heard).
func (c *Call) Wait() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wake
}

func (c *Call) set(st CallState, reason string) {
	c.mu.Lock()
	if c.state != CallEnded {
		c.state, c.reason = st, reason
	}
	close(c.wake)
	c.wake = make(chan struct{})
	c.mu.Unlock()
	c.d.log.Info("demo call", "caller", c.caller.Name, "state", st, "reason", reason)
}

const heardMax = 4 * SampleRate

func (c *Call) hear(pcm []int16) {
	c.mu.Lock()
	c.heard = append(c.heard, pcm...)
	if over := len(c.heard) - heardMax; over > 0 {
		c.heard = append(c.heard[:0], c.heard[over:]...)
	}
	close(c.wake)
	c.wake = make(chan struct{})
	c.mu.Unlock()
}

// Dial makes caller call the console now, whatever MaxCalls says.
func (d *Demo) Dial(caller Caller) (*Call, error) {
	d.mu.Lock()
	if d.closed || d.ctx == nil {
		d.mu.Unlock()
		return nil, errors.New("demo: not running")
	}
	ctx, cancel := context.WithTimeout(d.ctx, d.opts.Longest)
	c := &Call{d: d, caller: caller, done: make(chan struct{}), hangup: cancel, state: CallRinging, wake: make(chan struct{}),
		uri: sip.Uri{Scheme: "sip", User: caller.Number, Host: d.opts.Host, Port: d.port}}
	d.calls[c] = struct{}{}
	giveUp := d.opts.GiveUp > 0 && d.rng.Float64() < d.opts.GiveUp
	after := time.Duration((1 + 2*d.rng.Float64()) / 3 * float64(d.opts.GiveUpIn))
	d.mu.Unlock()
	d.wg.Go(func() {
		defer func() {
			cancel()
			d.mu.Lock()
			delete(d.calls, c)
			d.mu.Unlock()
			close(c.done)
		}()
		c.run(ctx, giveUp, after)
	})
	return c, nil
}

// from is the caller's From header.
func (c *Call) from() *sip.FromHeader {
	f := &sip.FromHeader{DisplayName: c.caller.Name, Address: c.uri, Params: sip.NewParams()}
	f.Params.Add("tag", sip.GenerateTagN(16))
	return f
}

// run places the call and lives it: talk to the console, follow its
// REFER to the park service, maybe give up while parked.
func (c *Call) run(ctx context.Context, giveUp bool, after time.Duration) {
	d := c.d
	dlg, err := d.dg.NewDialog(d.console, diago.NewDialogOptions{})
	if err != nil {
		c.set(CallEnded, err.Error())
		return
	}
	defer dlg.Close()
	var referred sync.WaitGroup
	opts := diago.InviteClientOptions{Headers: []sip.Header{c.from()}}
	opts.OnRefer = func(rd *diago.DialogClientSession) error {
		referred.Add(1)
		defer referred.Done()
		return c.followRefer(ctx, rd, giveUp, after)
	}
	ring, stopRing := context.WithTimeout(ctx, d.opts.Patience)
	m, err := dlg.Invite(ring, opts)
	stopRing()
	if err != nil {
		why := "not answered"
		var res *sipgo.ErrDialogResponse
		if errors.As(err, &res) {
			why = strings.ToLower(res.Res.Reason)
		}
		c.set(CallEnded, why)
		return
	}
	if err := dlg.Ack(ctx); err != nil {
		c.set(CallEnded, "not confirmed")
		return
	}
	c.set(CallTalking, "")
	media := c.startMedia(ctx, dlg.Context(), m)
	select {
	case <-dlg.Context().Done():
	case <-ctx.Done():
		bye, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = dlg.Hangup(bye)
		cancel()
	}
	media.Wait()
	_ = dlg.Close() // ends the receiver
	referred.Wait()
	st, _ := c.State()
	if st != CallEnded {
		c.set(CallEnded, "hung up")
	}
}

// followRefer calls where the console sent us (the park service), and
// stays there until that call ends.
func (c *Call) followRefer(ctx context.Context, rd *diago.DialogClientSession, giveUp bool, after time.Duration) error {
	inv, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	m, err := rd.Invite(inv, diago.InviteClientOptions{Headers: []sip.Header{c.from()}})
	if err != nil {
		return err
	}
	if err := rd.Ack(inv); err != nil {
		return err
	}
	parked := strings.HasPrefix(rd.InviteRequest.Recipient.User, "park")
	if parked {
		c.set(CallParked, "")
	} else {
		c.set(CallTalking, "transferred")
	}
	media := c.startMedia(ctx, rd.Context(), m)
	defer media.Wait()
	var give <-chan time.Time
	if parked && giveUp {
		t := time.NewTimer(after)
		defer t.Stop()
		give = t.C
	}
	for {
		select {
		case <-rd.Context().Done():
			c.set(CallEnded, "the far end hung up")
			return nil
		case <-ctx.Done():
			c.hangupDialog(rd, "hung up")
			return nil
		case <-give:
			give = nil
			if sp := c.d.opts.StillParked; sp == nil || sp(c.uri.String()) {
				c.hangupDialog(rd, "gave up while parked")
				return nil
			}
		}
	}
}

func (c *Call) hangupDialog(rd *diago.DialogClientSession, why string) {
	c.set(CallEnded, why)
	bye, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = rd.Hangup(bye)
	cancel()
}

// startMedia sends the caller's sound on the dialog's media m, paced at
// 20 ms a frame, and keeps what arrives. The sender ends with ctx or the
// dialog (its context dlg; wait for it with the returned group); the
// receiver, owned by the Demo, ends when the dialog is closed and its
// media with it.
func (c *Call) startMedia(ctx, dlg context.Context, m *diago.DialogMedia) *sync.WaitGroup {
	var wg sync.WaitGroup
	var rprops, wprops diago.MediaProps
	r, err := m.AudioReader(diago.WithAudioReaderMediaProps(&rprops))
	if err != nil {
		return &wg
	}
	w, err := m.AudioWriter(diago.WithAudioWriterMediaProps(&wprops))
	if err != nil {
		return &wg
	}
	dec, err := audio.NewPCMDecoderReader(rprops.Codec.PayloadType, r)
	if err != nil {
		return &wg
	}
	enc, err := audio.NewPCMEncoderWriter(wprops.Codec.PayloadType, w)
	if err != nil {
		return &wg
	}
	c.d.wg.Go(func() {
		buf := make([]byte, 3200)
		for {
			n, err := dec.Read(buf)
			if err != nil {
				return
			}
			pcm := make([]int16, n/2)
			for i := range pcm {
				pcm[i] = int16(uint16(buf[2*i]) | uint16(buf[2*i+1])<<8)
			}
			c.hear(pcm)
		}
	})
	wg.Go(func() {
		var sound []int16
		if c.caller.Sound != nil {
			sound = c.caller.Sound()
		}
		frame := make([]byte, 320)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		pos := 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-dlg.Done():
				return
			case <-tick.C:
			}
			for i := 0; i < 160; i++ {
				var s int16
				if len(sound) > 0 {
					s = sound[pos%len(sound)]
					pos++
				}
				frame[2*i], frame[2*i+1] = byte(s), byte(uint16(s)>>8)
			}
			if _, err := enc.Write(frame); err != nil {
				return
			}
		}
	})
	return &wg
}

// answer takes a call to a demo caller (the console calling back): it
// rings for a moment, answers, talks, and hangs up after a while or when
// the console does.
func (d *Demo) answer(s *diago.DialogServerSession) {
	var caller Caller
	user := s.InviteRequest.Recipient.User
	for _, c := range d.opts.Callers {
		if c.Number == user {
			caller = c
		}
	}
	if caller.Number == "" {
		_ = s.Respond(sip.StatusNotFound, "Not Found", nil)
		return
	}
	_ = s.Ringing()
	select {
	case <-time.After(2 * time.Second):
	case <-s.Context().Done():
		return
	case <-d.ctx.Done():
		return
	}
	m, err := s.Answer(diago.AnswerOptions{})
	if err != nil {
		return
	}
	d.log.Info("demo caller answered a call back", "caller", caller.Name)
	ctx, cancel := context.WithTimeout(d.ctx, 20*time.Second)
	defer cancel()
	c := &Call{d: d, caller: caller, wake: make(chan struct{}), state: CallTalking}
	media := c.startMedia(ctx, s.Context(), m)
	select {
	case <-s.Context().Done():
	case <-ctx.Done():
		bye, stop := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.Hangup(bye)
		stop()
	}
	media.Wait()
}

// freeUDPPort finds a UDP port free on host.
func freeUDPPort(host string) (int, error) {
	c, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}
