package sip_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/audio"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/assets"
	"github.com/switchboard/switchboard/internal/tone"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// waitFor only stops a hung test: every wait ends on an event, and a
// loaded machine (four test binaries on two cores, -race) may be slow.
const waitFor = 30 * time.Second

// testLogger logs to the test output when SIPTEST_LOG is set.
func testLogger(t testing.TB, name string) *slog.Logger {
	if os.Getenv("SIPTEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("who", name)
}

// toneDevice is the sound device of a test console: every port it opens
// sends a sine of freq as the "microphone" and records what it plays.
type toneDevice struct {
	freq float64

	mu    sync.Mutex
	pcm   []int16
	ports int
	wake  chan struct{}
}

func newToneDevice(freq float64) *toneDevice {
	return &toneDevice{freq: freq, wake: make(chan struct{})}
}

func (d *toneDevice) OpenPort(rate int) (telephony.AudioPort, error) {
	if rate != 8000 {
		return nil, fmt.Errorf("rate %d", rate)
	}
	d.mu.Lock()
	d.ports++
	d.mu.Unlock()
	return &tonePort{d: d, gen: tone.Sine(d.freq, 8000, 0.3), closed: make(chan struct{}), next: time.Now()}, nil
}

type tonePort struct {
	d      *toneDevice
	gen    *tone.Generator
	next   time.Time
	once   sync.Once
	closed chan struct{}
}

func (p *tonePort) Play(f telephony.Frame) {
	select {
	case <-p.closed:
		return
	default:
	}
	p.d.mu.Lock()
	p.d.pcm = append(p.d.pcm, f.PCM...)
	close(p.d.wake)
	p.d.wake = make(chan struct{})
	p.d.mu.Unlock()
}

func (p *tonePort) Capture(pcm []int16) error {
	p.next = p.next.Add(telephony.FrameDuration)
	t := time.NewTimer(time.Until(p.next))
	defer t.Stop()
	select {
	case <-p.closed:
		return io.EOF
	case <-t.C:
	}
	p.gen.Fill(pcm)
	return nil
}

func (p *tonePort) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// waitTone waits until freq dominates 200 ms of newly played audio.
func (d *toneDevice) waitTone(t testing.TB, freq float64) {
	t.Helper()
	waitToneIn(t, fmt.Sprintf("console %.0f Hz device", d.freq), freq, func() ([]int16, chan struct{}) {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.pcm, d.wake
	})
}

// waitToneIn polls a growing recording until freq dominates a 200 ms
// window that arrived after the call.
func waitToneIn(t testing.TB, what string, freq float64, get func() ([]int16, chan struct{})) {
	t.Helper()
	pcm, _ := get()
	mark := len(pcm)
	deadline := time.After(waitFor)
	for {
		pcm, wake := get()
		for len(pcm)-mark >= 1600 {
			if _, ok := tone.Detect(pcm[mark:mark+1600], freq, 8000); ok {
				return
			}
			mark += 800
		}
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("%s: %.0f Hz never dominated the audio (%d samples after the mark)", what, freq, len(pcm)-mark)
		}
	}
}

// console is a Phone under test with its event log.
type console struct {
	*sbsip.Phone
	name string
	dev  *toneDevice

	mu     sync.Mutex
	events []telephony.Event
	wake   chan struct{}
}

// newConsole starts a Phone on loopback; mod adjusts its config.
func newConsole(t testing.TB, name string, freq float64, mod func(*sbsip.Config)) *console {
	t.Helper()
	dev := newToneDevice(freq)
	cfg := sbsip.Config{
		User:        name,
		DisplayName: strings.ToUpper(name[:1]) + name[1:],
		Listen:      []sbsip.Listener{{Transport: "udp", Addr: "127.0.0.1:0"}, {Transport: "tcp", Addr: "127.0.0.1:0"}},
		Audio:       dev,
		EventBuffer: 4096,
		Logger:      testLogger(t, name),
	}
	if mod != nil {
		mod(&cfg)
	}
	p, err := sbsip.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &console{Phone: p, name: name, dev: dev, wake: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case ev := <-p.Events():
				c.mu.Lock()
				c.events = append(c.events, ev)
				close(c.wake)
				c.wake = make(chan struct{})
				c.mu.Unlock()
			case <-ctx.Done():
				return
			}
		}
	})
	sctx, scancel := context.WithTimeout(context.Background(), waitFor)
	defer scancel()
	if err := p.Start(sctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		start := time.Now()
		if err := p.Close(); err != nil {
			t.Error(err)
		}
		if d := time.Since(start); d > time.Second {
			t.Logf("%s: Close took %s", name, d)
		}
		cancel()
		wg.Wait()
		if t.Failed() {
			c.mu.Lock()
			for _, ev := range c.events {
				t.Logf("%s event: %+v", name, ev)
			}
			c.mu.Unlock()
		}
	})
	return c
}

// uri is the console's own address on UDP.
func (c *console) uri() sip.Uri {
	return sip.Uri{Scheme: "sip", User: c.name, Host: "127.0.0.1", Port: int(c.Addr("udp").Port())}
}

// waitEvent returns the first event (so far or to come) for which match
// is true, counting from event index from.
func (c *console) waitEvent(t testing.TB, what string, match func(telephony.Event) bool) telephony.Event {
	t.Helper()
	deadline := time.After(waitFor)
	seen := 0
	start := time.Now()
	defer func() {
		if d := time.Since(start); d > 2*time.Second {
			t.Logf("%s: waited %s for %s", c.name, d, what)
		}
	}()
	for {
		c.mu.Lock()
		for ; seen < len(c.events); seen++ {
			if match(c.events[seen]) {
				ev := c.events[seen]
				c.mu.Unlock()
				return ev
			}
		}
		wake := c.wake
		c.mu.Unlock()
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("%s: no event: %s", c.name, what)
		}
	}
}

// waitCall waits for a CallChanged whose call matches.
func (c *console) waitCall(t testing.TB, what string, match func(telephony.Call) bool) telephony.Call {
	t.Helper()
	ev := c.waitEvent(t, what, func(e telephony.Event) bool {
		cc, ok := e.(telephony.CallChanged)
		return ok && match(cc.Call)
	})
	return ev.(telephony.CallChanged).Call
}

// waitState waits until call id reaches state.
func (c *console) waitState(t testing.TB, id telephony.CallID, st telephony.CallState) telephony.Call {
	t.Helper()
	return c.waitCall(t, fmt.Sprintf("call %s %s", id, st), func(cl telephony.Call) bool { return cl.ID == id && cl.State == st })
}

// waitRinging waits for a new inbound call.
func (c *console) waitRinging(t testing.TB) telephony.Call {
	t.Helper()
	return c.waitCall(t, "ringing call", func(cl telephony.Call) bool { return cl.State == telephony.StateRinging })
}

// waitOrbit waits for the latest state of orbit n to match.
func (c *console) waitOrbit(t testing.TB, n int, what string, match func(telephony.Orbit) bool) telephony.Orbit {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		for _, o := range c.Orbits() {
			if o.Number == n && match(o) {
				return o
			}
		}
		c.mu.Lock()
		wake := c.wake
		c.mu.Unlock()
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("%s: orbit %d never %s: %+v", c.name, n, what, c.Orbits())
		}
	}
}

// waitParkService waits for the park service's availability.
func (c *console) waitParkService(t testing.TB, up bool) telephony.ParkServiceChanged {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		if c.ParkAvailable() == up {
			break
		}
		c.mu.Lock()
		wake := c.wake
		c.mu.Unlock()
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("%s: park service never available=%v", c.name, up)
		}
	}
	ev := c.waitEvent(t, fmt.Sprintf("park service available=%v", up), func(e telephony.Event) bool {
		ps, ok := e.(telephony.ParkServiceChanged)
		return ok && ps.Available == up
	})
	return ev.(telephony.ParkServiceChanged)
}

// parkFixture is an in-process park service.
type parkFixture struct {
	svc  *park.Service
	addr string
}

func startParkService(t testing.TB, listen string, mod func(*park.Options)) *parkFixture {
	t.Helper()
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	opts := park.Options{
		Listen:   listen,
		Music:    assets.MusicOnHold(),
		ParkTime: time.Hour,
		Orbits:   park.Range{First: 701, Last: 706},
		Logger:   testLogger(t, "park"),
	}
	if mod != nil {
		mod(&opts)
	}
	svc, err := park.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return &parkFixture{svc: svc, addr: svc.HostPort()}
}

// templates configures a console for this service.
func (f *parkFixture) templates(c *sbsip.Config) {
	c.Park = sbsip.ServiceTemplates(f.addr, 701, 706)
	c.Park.HealthInterval = 300 * time.Millisecond
	c.Park.Timeout = waitFor // a safety net here; tests of the timeout set their own
}

// peer is a plain diago user agent: a caller, a phone, a colleague.
type peer struct {
	name    string
	display string
	dg      *diago.Diago
	ua      *sipgo.UserAgent
	port    int

	incoming chan *diago.DialogServerSession
	referred chan *diago.DialogClientSession // dialogs made by following a REFER
	answer   func(d *diago.DialogServerSession)
}

func freePort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// newPeer starts a user agent. Incoming calls go to answer, or (nil) are
// answered and queued on incoming; the handler holds them until hung up.
func newPeer(t testing.TB, name string, answer func(d *diago.DialogServerSession)) *peer {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(name), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	pr := &peer{name: name, display: strings.ToUpper(name[:1]) + name[1:], ua: ua, port: freePort(t),
		incoming: make(chan *diago.DialogServerSession, 8), referred: make(chan *diago.DialogClientSession, 8), answer: answer}
	pr.dg = diago.NewDiago(ua, diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: pr.port}),
		diago.WithLogger(testLogger(t, name)))
	ctx, cancel := context.WithCancel(context.Background())
	err = pr.dg.ServeBackground(ctx, func(d *diago.DialogServerSession) {
		if pr.answer != nil {
			pr.answer(d)
			return
		}
		if err := d.Answer(); err != nil {
			return
		}
		pr.incoming <- d
		<-d.Context().Done()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		ua.Close()
	})
	waitUDP(t, ua, fmt.Sprintf("127.0.0.1:%d", pr.port))
	return pr
}

func waitUDP(t testing.TB, ua *sipgo.UserAgent, addr string) {
	t.Helper()
	for deadline := time.Now().Add(waitFor); ; {
		if c, _ := ua.TransportLayer().GetConnection("udp", addr); c != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("listener %s never registered", addr)
		}
		time.Sleep(time.Millisecond)
	}
}

func (pr *peer) uri() sip.Uri {
	return sip.Uri{Scheme: "sip", User: pr.name, Host: "127.0.0.1", Port: pr.port}
}

func (pr *peer) aor() string { u := pr.uri(); return u.String() }

func (pr *peer) from() *sip.FromHeader {
	f := &sip.FromHeader{DisplayName: pr.display, Address: pr.uri(), Params: sip.NewParams()}
	f.Params.Add("tag", sip.GenerateTagN(16))
	return f
}

// dial calls uri in the background and returns the dialog once answered
// (on the channel). When follow is set the peer follows REFERs: it
// calls the Refer-To URI as itself and queues that dialog on referred.
// Receive the dialog before the console sends the peer a request in the
// dialog (a hold, a REFER): diago stores it only after sending the ACK,
// so a re-INVITE that overtakes that is answered 481.
func (pr *peer) dial(t testing.TB, uri sip.Uri, follow bool) <-chan *diago.DialogClientSession {
	t.Helper()
	out := make(chan *diago.DialogClientSession, 1)
	d, err := pr.dg.NewDialog(uri, diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := diago.InviteClientOptions{Headers: []sip.Header{pr.from()}}
	if follow {
		opts.OnRefer = func(rd *diago.DialogClientSession) error {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := rd.Invite(ctx, diago.InviteClientOptions{Headers: []sip.Header{pr.from()}}); err != nil {
				return err
			}
			if err := rd.Ack(ctx); err != nil {
				return err
			}
			syncMedia(rd)
			pr.referred <- rd
			<-rd.Context().Done()
			return nil
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := d.Invite(ctx, opts); err != nil {
			d.Close()
			close(out)
			return
		}
		if err := d.Ack(ctx); err != nil {
			close(out)
			return
		}
		syncMedia(d)
		out <- d
	}()
	t.Cleanup(func() {
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = d.Hangup(ctx)
		d.Close()
	})
	return out
}

// syncMedia takes the dialog's media lock once after Ack. diago's Ack
// reads the media session without that lock; a re-INVITE from the
// console replaces it under the lock. Taking the lock here orders the
// two for the race detector (the network between them does not).
func syncMedia(d *diago.DialogClientSession) { _ = d.MediaSession() }

func recv[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("%s: failed", what)
		}
		return v
	case <-time.After(waitFor):
		t.Fatalf("%s: timed out", what)
	}
	var zero T
	return zero
}

// media is one peer call's decoded audio: a tone sender and a recorder.
type media struct {
	mu   sync.Mutex
	pcm  []int16
	wake chan struct{}
	stop chan struct{}
	done sync.WaitGroup
	dtmf []rune
}

type mediaSession interface {
	AudioReader(opts ...diago.AudioReaderOption) (io.Reader, error)
	AudioWriter(opts ...diago.AudioWriterOption) (io.Writer, error)
}

// startMedia sends a sine of freq on d and records what arrives (and the
// DTMF digits).
func startMedia(t testing.TB, d mediaSession, m0 *diago.DialogMedia, freq float64) *media {
	t.Helper()
	var rprops, wprops diago.MediaProps
	r, err := d.AudioReader(diago.WithAudioReaderMediaProps(&rprops))
	if err != nil {
		t.Fatal(err)
	}
	w, err := d.AudioWriter(diago.WithAudioWriterMediaProps(&wprops))
	if err != nil {
		t.Fatal(err)
	}
	m := &media{stop: make(chan struct{}), wake: make(chan struct{})}
	dtmfR, err := m0.AudioReaderDTMF()
	if err != nil {
		t.Fatal(err)
	}
	dtmfR.OnDTMF(func(r rune) error {
		m.mu.Lock()
		m.dtmf = append(m.dtmf, r)
		m.mu.Unlock()
		return nil
	})
	_ = r
	dec, err := audio.NewPCMDecoderReader(rprops.Codec.PayloadType, dtmfR)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := audio.NewPCMEncoderWriter(wprops.Codec.PayloadType, w)
	if err != nil {
		t.Fatal(err)
	}
	m.done.Go(func() {
		buf := make([]byte, 3200)
		for {
			n, err := dec.Read(buf)
			if err != nil {
				return
			}
			if n == 0 {
				continue
			}
			m.mu.Lock()
			m.pcm = append(m.pcm, tone.Samples(buf[:n])...)
			close(m.wake)
			m.wake = make(chan struct{})
			m.mu.Unlock()
		}
	})
	m.done.Go(func() {
		g := tone.Sine(freq, 8000, 0.3)
		frame := make([]int16, 160)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
			g.Fill(frame)
			if _, err := enc.Write(tone.PCMBytes(frame)); err != nil {
				return
			}
		}
	})
	t.Cleanup(m.close)
	return m
}

// startClientMedia and startServerMedia start media on a dialog.
func startClientMedia(t testing.TB, d *diago.DialogClientSession, freq float64) *media {
	return startMedia(t, d, d.Media(), freq)
}

func startServerMedia(t testing.TB, d *diago.DialogServerSession, freq float64) *media {
	return startMedia(t, d, d.Media(), freq)
}

func (m *media) close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
}

func (m *media) waitTone(t testing.TB, what string, freq float64) {
	t.Helper()
	waitToneIn(t, what, freq, func() ([]int16, chan struct{}) {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.pcm, m.wake
	})
}

func (m *media) digits() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return string(m.dtmf)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

func statusOf(err error) int {
	var p *sipgo.ErrDialogResponse
	if errors.As(err, &p) {
		return p.Res.StatusCode
	}
	return 0
}
