package sip_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// waitFor only stops a hung test: every wait ends on an event.
const waitFor = siptest.WaitFor

// testLogger logs to the test output when SIPTEST_LOG is set.
func testLogger(_ testing.TB, name string) *slog.Logger { return siptest.Logger("SIPTEST_LOG", name) }

// console is a Phone under test with its event log.
type console struct {
	*sbsip.Phone
	name   string
	dev    *siptest.ToneDevice
	events siptest.Log[telephony.Event]
}

// newConsole starts a Phone on loopback whose sound device sends a sine
// of freq; mod adjusts its config.
func newConsole(t testing.TB, name string, freq float64, mod func(*sbsip.Config)) *console {
	t.Helper()
	return newConsoleBefore(t, name, freq, mod, nil)
}

// newConsoleBefore is newConsole with before, when set, called on the
// Phone between New and Start.
func newConsoleBefore(t testing.TB, name string, freq float64, mod func(*sbsip.Config), before func(*sbsip.Phone)) *console {
	t.Helper()
	dev := &siptest.ToneDevice{Freq: freq}
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
	c := &console{Phone: p, name: name, dev: dev}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case ev := <-p.Events():
				c.events.Add(ev)
			case <-ctx.Done():
				return
			}
		}
	})
	if before != nil {
		before(p)
	}
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
			for _, ev := range c.events.All() {
				t.Logf("%s event: %+v", name, ev)
			}
		}
	})
	return c
}

// uri is the console's own address on UDP.
func (c *console) uri() sip.Uri {
	return sip.Uri{Scheme: "sip", User: c.name, Host: "127.0.0.1", Port: int(c.Addr("udp").Port())}
}

// hears waits until freq dominates what the console's sound device plays.
func (c *console) hears(t testing.TB, freq float64) {
	t.Helper()
	c.dev.WaitTone(t, c.name+"'s sound device", freq)
}

// waitEvent returns the first event (so far or to come) for which match
// is true.
func (c *console) waitEvent(t testing.TB, what string, match func(telephony.Event) bool) telephony.Event {
	t.Helper()
	start := time.Now()
	defer func() {
		if d := time.Since(start); d > 2*time.Second {
			t.Logf("%s: waited %s for %s", c.name, d, what)
		}
	}()
	return c.events.Wait(t, c.name+": "+what, match)
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

// waitOrbit waits for the latest state of orbit n to match (checked at
// every event).
func (c *console) waitOrbit(t testing.TB, n int, what string, match func(telephony.Orbit) bool) telephony.Orbit {
	t.Helper()
	var got telephony.Orbit
	ok := c.events.Await(waitFor, func([]telephony.Event) bool {
		for _, o := range c.Orbits() {
			if o.Number == n && match(o) {
				got = o
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("%s: orbit %d never %s: %+v", c.name, n, what, c.Orbits())
	}
	return got
}

// waitParkService waits for the park service's availability.
func (c *console) waitParkService(t testing.TB, up bool) telephony.ParkServiceChanged {
	t.Helper()
	what := fmt.Sprintf("park service available=%v", up)
	c.events.Until(t, c.name+": "+what, func([]telephony.Event) bool { return c.ParkAvailable() == up })
	ev := c.waitEvent(t, what, func(e telephony.Event) bool {
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

// startParkService runs a park service with orbits 701-706 on listen
// (empty: a free port); mod adjusts its options.
func startParkService(t testing.TB, listen string, mod func(*park.Options)) *parkFixture {
	t.Helper()
	opts := park.Options{
		Listen: listen,
		Orbits: telephony.Lot{First: 701, Last: 706},
		Logger: testLogger(t, "park"),
	}
	if mod != nil {
		mod(&opts)
	}
	svc := siptest.StartPark(t, opts)
	return &parkFixture{svc: svc, addr: svc.HostPort()}
}

// templates configures a console for this service.
func (f *parkFixture) templates(c *sbsip.Config) {
	c.Park = sbsip.ServiceTemplates(f.addr, telephony.Lot{First: 701, Last: 706})
	c.Park.HealthInterval = 300 * time.Millisecond
	c.Park.Timeout = waitFor // a safety net here; tests of the timeout set their own
}

// peer is a plain diago user agent: a caller, a phone, a colleague.
type peer struct {
	*siptest.Agent

	incoming chan *siptest.Answered
	referred chan *siptest.Call // dialogs made by following a REFER
	answer   func(d *diago.DialogServerSession)
}

// newPeer starts a user agent. Incoming calls go to answer, or (nil) are
// answered and queued on incoming; the handler holds them until hung up.
func newPeer(t testing.TB, name string, answer func(d *diago.DialogServerSession)) *peer {
	t.Helper()
	pr := &peer{incoming: make(chan *siptest.Answered, 8), referred: make(chan *siptest.Call, 8), answer: answer}
	pr.Agent = siptest.NewAgent(t, name, siptest.AgentOptions{Logger: testLogger(t, name), Handler: func(d *diago.DialogServerSession) {
		if pr.answer != nil {
			pr.answer(d)
			return
		}
		a, err := siptest.Answer(d)
		if err != nil {
			return
		}
		pr.incoming <- a
		<-d.Context().Done()
	}})
	return pr
}

// dial calls uri in the background and returns the dialog once answered
// (on the channel). When follow is set the peer follows REFERs: it
// calls the Refer-To URI as itself and queues that dialog on referred.
// Receive the dialog before the console sends the peer a request in the
// dialog (a hold, a REFER): diago stores it only after sending the ACK,
// so a re-INVITE that overtakes that is answered 481.
func (pr *peer) dial(t testing.TB, uri sip.Uri, follow bool) <-chan *siptest.Call {
	t.Helper()
	d, err := pr.DG.NewDialog(uri, diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := diago.InviteClientOptions{Headers: []sip.Header{pr.From()}}
	if follow {
		opts.OnRefer = func(rd *diago.DialogClientSession) error {
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			c, err := siptest.Follow(ctx, rd, pr.From())
			if err != nil {
				return err
			}
			pr.referred <- c
			<-rd.Context().Done()
			return nil
		}
	}
	return siptest.Dial(t, d, opts)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

// parkForgetful parks, on orbit n of f, a caller whose phone forgot the
// call: it answers every in-dialog OPTIONS 481, so the service's first
// probe takes it off its orbit as lost.
func parkForgetful(t testing.TB, f *parkFixture, name string, n int) *siptest.Agent {
	t.Helper()
	a := siptest.NewAgent(t, name, siptest.AgentOptions{Logger: testLogger(t, name),
		Middleware: func(next sipgo.RequestHandler) sipgo.RequestHandler {
			return func(req *sip.Request, tx sip.ServerTransaction) {
				if req.Method == sip.OPTIONS {
					_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
					return
				}
				next(req, tx)
			}
		}})
	var u sip.Uri
	if err := sip.ParseUri(fmt.Sprintf("sip:park-%d@%s", n, f.addr), &u); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Call(t, u); err != nil {
		t.Fatalf("park of %s: %v", name, err)
	}
	return a
}
