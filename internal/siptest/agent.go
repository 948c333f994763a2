package siptest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/freeport"
	"github.com/switchboard/switchboard/internal/sipready"
)

// Agent is a diago user agent on a loopback port: a caller, a phone, a
// colleague's console.
type Agent struct {
	Name    string // user part of its address
	Display string // display name: Name with a capital
	Port    int
	UA      *sipgo.UserAgent
	DG      *diago.Diago
}

// AgentOptions are the choices of NewAgent; the zero value is a UDP agent
// that logs nothing and refuses calls.
type AgentOptions struct {
	Transport string       // "udp" (the default) or "tcp"
	Logger    *slog.Logger // nil: discarded
	// Handler takes incoming calls, each on its own goroutine, and may
	// keep one until it ends. nil: they are refused with 486 Busy Here.
	Handler func(d *diago.DialogServerSession)
	// Middleware, when set, sees every request before diago (a far end
	// that misbehaves on purpose).
	Middleware func(next sipgo.RequestHandler) sipgo.RequestHandler
}

// NewAgent starts a user agent named name on a free loopback port. It
// returns once the agent can send: diago reports "ready" just before sipgo
// registers the UDP listener, and a request sent in between binds a second
// socket on the port and fails. The agent stops at the end of the test.
func NewAgent(t testing.TB, name string, opts AgentOptions) *Agent {
	t.Helper()
	if opts.Transport == "" {
		opts.Transport = "udp"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	handler := opts.Handler
	if handler == nil {
		handler = func(d *diago.DialogServerSession) { _ = d.Respond(sip.StatusBusyHere, "Busy Here", nil) }
	}
	// The port was free a moment ago; another test process may take it
	// before diago binds it: then try another.
	var (
		a      *Agent
		ua     *sipgo.UserAgent
		cancel context.CancelFunc
	)
	for try := 0; ; try++ {
		var err error
		ua, err = sipgo.NewUA(sipgo.WithUserAgent(name), sipgo.WithUserAgentHostname("127.0.0.1"))
		if err != nil {
			t.Fatal(err)
		}
		a = &Agent{Name: name, Display: strings.ToUpper(name[:1]) + name[1:], Port: FreePort(t), UA: ua}
		dopts := []diago.DiagoOption{diago.WithTransport(diago.Transport{Transport: opts.Transport, BindHost: "127.0.0.1", BindPort: a.Port}),
			diago.WithLogger(opts.Logger)}
		if opts.Middleware != nil {
			dopts = append(dopts, diago.WithServerRequestMiddleware(opts.Middleware))
		}
		a.DG = diago.NewDiago(ua, dopts...)
		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		err = a.DG.ServeBackground(ctx, handler)
		if err == nil {
			break
		}
		cancel()
		ua.Close()
		if !errors.Is(err, syscall.EADDRINUSE) || try == 4 {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		cancel()
		ua.Close()
	})
	if opts.Transport == "udp" {
		WaitListening(t, ua, fmt.Sprintf("127.0.0.1:%d", a.Port))
	}
	return a
}

// WaitListening waits until ua's transport layer holds the UDP listener
// at addr (see internal/sipready: sipgo gives no event for it, so this
// polls, briefly); the test fails after WaitFor.
func WaitListening(t testing.TB, ua *sipgo.UserAgent, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitFor)
	defer cancel()
	if err := sipready.WaitUDP(ctx, ua, addr); err != nil {
		t.Fatal(err)
	}
}

// FreePort returns a port free for both UDP and TCP on 127.0.0.1 a
// moment ago, below the ephemeral range (freeport.Kept): tests bind it
// again after a restart.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freeport.Kept(netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// URI is the agent's address: sip:name@127.0.0.1:port.
func (a *Agent) URI() sip.Uri {
	return sip.Uri{Scheme: "sip", User: a.Name, Host: "127.0.0.1", Port: a.Port}
}

// AOR is URI as a string.
func (a *Agent) AOR() string { u := a.URI(); return u.String() }

// From is a From header with the agent's display name, address and a new
// tag, for a call of its own.
func (a *Agent) From() *sip.FromHeader {
	f := &sip.FromHeader{DisplayName: a.Display, Address: a.URI(), Params: sip.NewParams()}
	f.Params.Add("tag", sip.GenerateTagN(16))
	return f
}

// Call is one call a test agent placed: its dialog and its media (diago
// keeps the two apart since v0.42). It is a Session.
type Call struct {
	*diago.DialogClientSession
	media *diago.DialogMedia
}

// Media is the call's media.
func (c *Call) Media() *diago.DialogMedia { return c.media }

// AudioReader reads the call's encoded audio.
func (c *Call) AudioReader(opts ...diago.AudioReaderOption) (io.Reader, error) {
	return c.media.AudioReader(opts...)
}

// AudioWriter writes the call's encoded audio.
func (c *Call) AudioWriter(opts ...diago.AudioWriterOption) (io.Writer, error) {
	return c.media.AudioWriter(opts...)
}

// Close ends the dialog and its media.
func (c *Call) Close() error {
	return errors.Join(c.DialogClientSession.Close(), c.media.Close())
}

// Answered is one call a test agent answered: its dialog and its media.
// It is a Session.
type Answered struct {
	*diago.DialogServerSession
	media *diago.DialogMedia
}

// Answer answers d and returns it with its media.
func Answer(d *diago.DialogServerSession) (*Answered, error) {
	m, err := d.Answer(diago.AnswerOptions{})
	if err != nil {
		return nil, err
	}
	return &Answered{DialogServerSession: d, media: m}, nil
}

// Media is the call's media.
func (a *Answered) Media() *diago.DialogMedia { return a.media }

// AudioReader reads the call's encoded audio.
func (a *Answered) AudioReader(opts ...diago.AudioReaderOption) (io.Reader, error) {
	return a.media.AudioReader(opts...)
}

// AudioWriter writes the call's encoded audio.
func (a *Answered) AudioWriter(opts ...diago.AudioWriterOption) (io.Writer, error) {
	return a.media.AudioWriter(opts...)
}

// Follow INVITEs and ACKs rd, the dialog diago made for a REFER the agent
// follows, with headers hdrs.
func Follow(ctx context.Context, rd *diago.DialogClientSession, hdrs ...sip.Header) (*Call, error) {
	m, err := rd.Invite(ctx, diago.InviteClientOptions{Headers: hdrs})
	if err != nil {
		return nil, err
	}
	c := &Call{DialogClientSession: rd, media: m}
	if err := rd.Ack(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Call INVITEs uri with the agent's From and extra headers and ACKs the
// answer. A refused call returns the error (Status reads its code); an
// answered one is hung up at the end of the test if still up.
func (a *Agent) Call(t testing.TB, uri sip.Uri, hdrs ...sip.Header) (*Call, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitFor)
	defer cancel()
	d, err := a.DG.NewDialog(uri, diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hdrs = append(hdrs, a.From())
	m, err := d.Invite(ctx, diago.InviteClientOptions{Headers: hdrs})
	if err != nil {
		d.Close()
		return nil, err
	}
	c := &Call{DialogClientSession: d, media: m}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Hangup(ctx)
		c.Close()
	})
	return c, nil
}

// Status is the SIP status code of a final response an error carries, or
// 0.
func Status(err error) int {
	var e *sipgo.ErrDialogResponse
	if errors.As(err, &e) {
		return e.Res.StatusCode
	}
	return 0
}

// Dial INVITEs and ACKs d in the background with opts. The channel gives
// d once answered, or is closed if the call failed; the call is cancelled
// or hung up at the end of the test.
func Dial(t testing.TB, d *diago.DialogClientSession, opts diago.InviteClientOptions) <-chan *Call {
	t.Helper()
	out := make(chan *Call, 1)
	ctx, cancel := context.WithTimeout(context.Background(), WaitFor)
	done := make(chan struct{})
	go func() {
		defer close(done)
		m, err := d.Invite(ctx, opts)
		if err != nil {
			close(out)
			return
		}
		c := &Call{DialogClientSession: d, media: m}
		if err := d.Ack(ctx); err != nil {
			c.Close()
			close(out)
			return
		}
		out <- c
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = d.Hangup(ctx)
		d.Close()
	})
	return out
}
