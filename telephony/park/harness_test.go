package park_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
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
	"github.com/switchboard/switchboard/telephony/park"
)

// eventLog records the service's park events for assertions.
type eventLog struct {
	mu      sync.Mutex
	records []map[string]string
	wake    chan struct{}
	t       testing.TB
}

func newEventLog(t testing.TB) *eventLog { return &eventLog{wake: make(chan struct{}), t: t} }

func (l *eventLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *eventLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *eventLog) WithGroup(string) slog.Handler            { return l }
func (l *eventLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "park" {
		return nil
	}
	m := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	l.mu.Lock()
	l.records = append(l.records, m)
	close(l.wake)
	l.wake = make(chan struct{})
	l.mu.Unlock()
	return nil
}

// wait returns the first event named ev matching every key=value given.
func (l *eventLog) wait(t testing.TB, ev string, kv ...string) map[string]string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		l.mu.Lock()
		for _, r := range l.records {
			if r["event"] != ev {
				continue
			}
			ok := true
			for i := 0; i+1 < len(kv); i += 2 {
				if r[kv[i]] != kv[i+1] {
					ok = false
				}
			}
			if ok {
				l.mu.Unlock()
				return r
			}
		}
		wake := l.wake
		l.mu.Unlock()
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("no %q event with %v; events: %v", ev, kv, l.all())
		}
	}
}

func (l *eventLog) count(ev string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if r["event"] == ev {
			n++
		}
	}
	return n
}

func (l *eventLog) all() []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]map[string]string(nil), l.records...)
}

type fixture struct {
	svc *park.Service
	log *eventLog
	h   string // host:port of the service
}

// startPark runs a service on a free loopback port; mod adjusts options.
func startPark(t testing.TB, mod func(*park.Options)) *fixture {
	t.Helper()
	ev := newEventLog(t)
	opts := park.Options{
		Listen:   "127.0.0.1:0",
		Music:    assets.MusicOnHold(),
		ParkTime: time.Hour,
		Logger:   slog.New(ev),
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
	return &fixture{svc: svc, log: ev, h: svc.HostPort()}
}

func (f *fixture) uri(user string, params ...string) sip.Uri {
	s := "sip:" + user + "@" + f.h
	for _, p := range params {
		s += ";" + p
	}
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		panic(err)
	}
	return u
}

// agent is a diago user agent on loopback: a caller, a console, a phone.
type agent struct {
	name     string
	dg       *diago.Diago
	port     int
	incoming chan *diago.DialogServerSession
	answer   func(d *diago.DialogServerSession) // what to do with incoming calls
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

// newAgent starts a user agent; incoming calls go to answer (nil: they
// are queued on incoming and the handler holds them until hung up).
func newAgent(t testing.TB, name string, answer func(d *diago.DialogServerSession)) *agent {
	t.Helper()
	return newAgentOn(t, "udp", name, answer)
}

// newAgentOn is newAgent on a chosen transport (udp or tcp).
func newAgentOn(t testing.TB, transport, name string, answer func(d *diago.DialogServerSession)) *agent {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(name), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{name: name, port: freePort(t), incoming: make(chan *diago.DialogServerSession, 4), answer: answer}
	a.dg = diago.NewDiago(ua, diago.WithTransport(diago.Transport{Transport: transport, BindHost: "127.0.0.1", BindPort: a.port}),
		diago.WithLogger(slog.New(slog.DiscardHandler)))
	ctx, cancel := context.WithCancel(context.Background())
	err = a.dg.ServeBackground(ctx, func(d *diago.DialogServerSession) {
		if a.answer != nil {
			a.answer(d)
			return
		}
		a.incoming <- d
		<-d.Context().Done()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		ua.Close()
	})
	if transport == "udp" {
		waitListening(t, ua, fmt.Sprintf("127.0.0.1:%d", a.port))
	}
	return a
}

// waitListening waits until ua's transport layer holds the UDP listener
// at addr. diago and sipgo report "ready" just before registering it;
// a request sent in between binds a second socket and fails.
func waitListening(t testing.TB, ua *sipgo.UserAgent, addr string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		if c, _ := ua.TransportLayer().GetConnection("udp", addr); c != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("listener %s never registered", addr)
		}
		time.Sleep(time.Millisecond)
	}
}

func (a *agent) aor() string { return fmt.Sprintf("sip:%s@127.0.0.1:%d", a.name, a.port) }

// call INVITEs uri with the agent's display name and extra headers.
func (a *agent) call(t testing.TB, uri sip.Uri, hdrs ...sip.Header) (*diago.DialogClientSession, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := a.dg.NewDialog(uri, diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	from := &sip.FromHeader{DisplayName: strings.ToUpper(a.name[:1]) + a.name[1:],
		Address: sip.Uri{Scheme: "sip", User: a.name, Host: "127.0.0.1", Port: a.port}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	hdrs = append(hdrs, from)
	if err := d.Invite(ctx, diago.InviteClientOptions{Headers: hdrs}); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = d.Hangup(ctx)
		d.Close()
	})
	return d, nil
}

func statusOf(err error) int {
	if e, ok := err.(*sipgo.ErrDialogResponse); ok {
		return e.Res.StatusCode
	}
	return 0
}

// media is one call's decoded audio: a tone sender and a recorder.
type media struct {
	mu      sync.Mutex
	pcm     []int16
	arrived []time.Time
	stop    chan struct{}
	done    sync.WaitGroup
}

type mediaSession interface {
	AudioReader(opts ...diago.AudioReaderOption) (io.Reader, error)
	AudioWriter(opts ...diago.AudioWriterOption) (io.Writer, error)
}

// startMedia sends a sine of freq (0: silence) and records what arrives.
func startMedia(t testing.TB, d mediaSession, freq float64) *media {
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
	dec, err := audio.NewPCMDecoderReader(rprops.Codec.PayloadType, r)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := audio.NewPCMEncoderWriter(wprops.Codec.PayloadType, w)
	if err != nil {
		t.Fatal(err)
	}
	m := &media{stop: make(chan struct{})}
	m.done.Go(func() {
		buf := make([]byte, 1600)
		for {
			n, err := dec.Read(buf)
			if err != nil {
				return
			}
			if n == 0 {
				continue
			}
			s := tone.Samples(buf[:n])
			m.mu.Lock()
			m.pcm = append(m.pcm, s...)
			m.arrived = append(m.arrived, time.Now())
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
			if freq > 0 {
				g.Fill(frame)
			}
			if _, err := enc.Write(tone.PCMBytes(frame)); err != nil {
				return
			}
		}
	})
	t.Cleanup(m.close)
	return m
}

func (m *media) close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
}

// since returns the samples received after the first n.
func (m *media) samples() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pcm)
}

// waitAudio waits until 400 ms of audio arrived after mark, and returns it.
func (m *media) waitAudio(t testing.TB, mark int) []int16 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		m.mu.Lock()
		if len(m.pcm)-mark >= 3200 {
			out := append([]int16(nil), m.pcm[mark:mark+3200]...)
			m.mu.Unlock()
			return out
		}
		m.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no audio arrived (have %d samples after %d)", m.samples()-mark, mark)
	return nil
}

// waitTone waits until freq dominates a 400 ms window of arriving audio.
func (m *media) waitTone(t testing.TB, freq float64) {
	t.Helper()
	mark := m.samples()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		win := m.waitAudio(t, mark)
		if level, ok := tone.Detect(win, freq, 8000); ok && level > 0.05 {
			return
		}
		mark += 1600
	}
	t.Fatalf("tone %.0f Hz never dominated the audio", freq)
}

type parkOptions = park.Options

func hangup(t testing.TB, d interface {
	Hangup(context.Context) error
}) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Hangup(ctx); err != nil {
		t.Fatalf("hangup: %v", err)
	}
}
