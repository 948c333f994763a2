package main

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/tone"
	"github.com/switchboard/switchboard/telephony"
)

// Tones of the reopen test: each party sends its own, so that who hears
// whom is checked with the detector.
const (
	musicFreq   = 600  // the embedded service's music on hold
	consoleFreq = 1200 // the console's microphone
	aliceFreq   = 440
	bobFreq     = 520
	carolFreq   = 700
	daveFreq    = 900
)

// reopenable is the console's telephony without its window, started and
// closed as main does, on fixed addresses and one state directory.
type reopenable struct {
	cfg    config
	dev    *siptest.ToneDevice
	sys    *system
	cancel context.CancelFunc
	done   chan struct{}
}

// openPhone starts the console's telephony (start, startPhone) and
// drains the phone's events as the window would.
func openPhone(t *testing.T, args ...string) *reopenable {
	t.Helper()
	cfg, err := parseConfig(args, app.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	music := make([]int16, 2*siptest.Rate)
	tone.Sine(musicFreq, siptest.Rate, 0.3).Fill(music)
	cfg.music = music
	// A caller gone answers the probe 481 (Erin) and is found lost at
	// the restored service's first probe, whatever the interval; a
	// caller there has the interval to answer, and a loaded machine's
	// answer took over the 1 s this was (Bob, lost and hung up after the
	// reopen of TestRingBackNow).
	cfg.probeInterval = siptest.WaitFor
	r := &reopenable{cfg: cfg, dev: &siptest.ToneDevice{Freq: consoleFreq}, done: make(chan struct{})}
	cfg.device = r.dev
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	log := siptest.Logger("ATTENDANT_TEST_LOG", "console")
	sys, err := start(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		defer close(r.done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sys.phone.Events():
			}
		}
	}()
	if err := sys.startPhone(ctx, cfg); err != nil {
		sys.stop()
		cancel()
		t.Fatal(err)
	}
	r.sys = sys
	t.Cleanup(r.close)
	return r
}

// close closes the console as main does when the window closes: at
// once, the built-in park service keeping its calls.
func (r *reopenable) close() {
	if r.sys == nil {
		return
	}
	r.sys.stopNow()
	r.cancel()
	<-r.done
	r.sys = nil
}

// waitOrbit polls the phone's orbits until orbit n matches.
func (r *reopenable) waitOrbit(t *testing.T, n int, what string, match func(telephony.Orbit) bool) telephony.Orbit {
	t.Helper()
	var last telephony.Orbit
	ok := poll(func() bool {
		for _, o := range r.sys.phone.Orbits() {
			if o.Number == n {
				last = o
				return match(o)
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("orbit %d never %s (last %+v)", n, what, last)
	}
	return last
}

// waitCall polls the phone's calls until one matches.
func (r *reopenable) waitCall(t *testing.T, what string, match func(telephony.Call) bool) telephony.Call {
	t.Helper()
	var got telephony.Call
	if !poll(func() bool {
		for _, c := range r.sys.phone.Calls() {
			if match(c) {
				got = c
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no call %s among %+v", what, r.sys.phone.Calls())
	}
	return got
}

// poll checks cond every 20 ms until it holds or siptest.WaitFor passed.
func poll(cond func() bool) bool {
	deadline := time.Now().Add(siptest.WaitFor)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// caller is a siptest agent that calls the console and follows its
// REFER to the park service.
type caller struct {
	*siptest.Agent
	referred chan *siptest.Call
	// forgot makes its phone answer every OPTIONS 481, as a phone
	// whose call ended does (its BYE found nobody).
	forgot atomic.Bool
	// optionsDelay (a time.Duration) delays its phone's answer to every
	// OPTIONS, as a loaded machine does.
	optionsDelay atomic.Int64
}

func newCaller(t *testing.T, name string) *caller {
	c := &caller{referred: make(chan *siptest.Call, 1)}
	c.Agent = siptest.NewAgent(t, name, siptest.AgentOptions{Logger: siptest.Logger("ATTENDANT_TEST_LOG", name),
		Middleware: func(next sipgo.RequestHandler) sipgo.RequestHandler {
			return func(req *sip.Request, tx sip.ServerTransaction) {
				if req.Method == sip.OPTIONS && c.forgot.Load() {
					_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
					return
				}
				if d := time.Duration(c.optionsDelay.Load()); req.Method == sip.OPTIONS && d > 0 {
					time.Sleep(d)
				}
				next(req, tx)
			}
		}})
	return c
}

// callAndPark has c call the console, the console answer and park it on
// orbit n; it returns c's dialog with the park service, with its media
// sending freq.
func (c *caller) callAndPark(t *testing.T, r *reopenable, n int, freq float64) (*siptest.Call, *siptest.Media) {
	t.Helper()
	ap := r.sys.phone.Addr("udp")
	d, err := c.DG.NewDialog(sip.Uri{Scheme: "sip", User: "console", Host: ap.Addr().String(), Port: int(ap.Port())}, diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	answered := siptest.Dial(t, d, diago.InviteClientOptions{Headers: []sip.Header{c.From()},
		OnRefer: func(rd *diago.DialogClientSession) error {
			ctx, cancel := context.WithTimeout(context.Background(), siptest.WaitFor)
			defer cancel()
			nd, err := siptest.Follow(ctx, rd, c.From())
			if err != nil {
				return err
			}
			c.referred <- nd
			<-rd.Context().Done()
			return nil
		}})
	ring := r.waitCall(t, c.Name+" ringing", func(call telephony.Call) bool {
		return call.State == telephony.StateRinging && telephony.SameParty(call.RemoteURI, c.AOR())
	})
	ctx, cancel := context.WithTimeout(context.Background(), siptest.WaitFor)
	defer cancel()
	if err := r.sys.phone.Answer(ctx, ring.ID); err != nil {
		t.Fatal(err)
	}
	siptest.Recv(t, c.Name+" answered", answered)
	if err := r.sys.phone.Park(ctx, ring.ID, n); err != nil {
		t.Fatal(err)
	}
	nd := siptest.Recv(t, c.Name+" follows the REFER", c.referred)
	m := siptest.StartMedia(t, nd, freq)
	r.waitOrbit(t, n, "lit with "+c.Display, func(o telephony.Orbit) bool { return o.Occupied && o.CallerName == c.Display })
	return nd, m
}

// TestEmbeddedParkKeepsCallsAcrossReopen closes and reopens the
// console's phone with its built-in park service keeping its calls in a
// state directory: Alice and Bob parked (music checked at each), Carol
// parked and retrieved by Dave, a colleague, so that her call is bridged
// through the console's service (tones both ways). The console closes
// (as after "Close" in the question): nobody is hung up. It opens again
// on the same addresses and directory: Alice and Bob hear the music
// again and their lamps are lit, Carol and Dave hear each other again,
// the console retrieves Alice (tones both ways), and after the reopen
// Bob's hang-up frees his orbit and Carol's ends Dave's leg.
func TestEmbeddedParkKeepsCallsAcrossReopen(t *testing.T) {
	addrs := freeAddrs(t, 2)
	parkAddr := addrs[1]
	args := []string{"-listen", addrs[0], "-park-listen", parkAddr,
		"-state-dir", t.TempDir(), "-audio", "none"}
	r := openPhone(t, args...)

	alice, bob, carol, erin := newCaller(t, "alice"), newCaller(t, "bob"), newCaller(t, "carol"), newCaller(t, "erin")
	aliceD, aliceM := alice.callAndPark(t, r, 701, aliceFreq)
	aliceM.WaitTone(t, "Alice hears the music", musicFreq)
	bobD, bobM := bob.callAndPark(t, r, 702, bobFreq)
	bobM.WaitTone(t, "Bob hears the music", musicFreq)
	carolD, carolM := carol.callAndPark(t, r, 703, carolFreq)
	carolM.WaitTone(t, "Carol hears the music", musicFreq)
	erinD, _ := erin.callAndPark(t, r, 704, 0)

	// Dave, at another desk, retrieves Carol: her call is bridged
	// through the console's service.
	dave := siptest.NewAgent(t, "dave", siptest.AgentOptions{Logger: siptest.Logger("ATTENDANT_TEST_LOG", "dave")})
	daveD, err := dave.Call(t, sip.Uri{Scheme: "sip", User: "703", Host: "127.0.0.1", Port: int(netip.MustParseAddrPort(parkAddr).Port())})
	if err != nil {
		t.Fatalf("Dave's retrieve of 703: %v", err)
	}
	daveM := siptest.StartMedia(t, daveD, daveFreq)
	daveM.WaitTone(t, "Dave hears Carol", carolFreq)
	carolM.WaitTone(t, "Carol hears Dave", daveFreq)

	q := r.sys.closeQuestion()
	if !q.ParkedReturn || q.Parked != 3 || q.Bridged != 1 || q.Lines != 0 {
		t.Errorf("close question %+v, want 3 parked and 1 bridged, kept for the next start", q)
	}
	closing := time.Now()
	r.close()
	t.Logf("the console's telephony closed in %v", time.Since(closing).Round(time.Millisecond))
	for who, ctx := range map[string]context.Context{"Alice": aliceD.Context(), "Bob": bobD.Context(), "Dave": daveD.Context()} {
		if ctx.Err() != nil {
			t.Errorf("%s's call ended when the console closed", who)
		}
	}
	// Erin hangs up while the console is closed: her BYE finds nobody,
	// and her phone forgets the call.
	erin.forgot.Store(true)
	_ = erinD.Close()

	// Reopen on the same addresses and directory.
	reopened := time.Now()
	r = openPhone(t, args...)
	for _, c := range []struct {
		n    int
		name string
	}{{701, "Alice"}, {702, "Bob"}} {
		o := r.waitOrbit(t, c.n, "lit again with "+c.name, func(o telephony.Orbit) bool { return o.Occupied && o.CallerName == c.name })
		if o.Parker != r.sys.phone.AOR() || !o.ParkedByMe {
			t.Errorf("orbit %d: parker %q (parked by me: %v), want this console %q", c.n, o.Parker, o.ParkedByMe, r.sys.phone.AOR())
		}
	}
	aliceM.WaitTone(t, "Alice hears the music after the reopen", musicFreq)
	bobM.WaitTone(t, "Bob hears the music after the reopen", musicFreq)
	t.Logf("music again at Alice and Bob %v after the reopen began", time.Since(reopened).Round(time.Millisecond))
	daveM.WaitTone(t, "Dave hears Carol after the reopen", carolFreq)
	carolM.WaitTone(t, "Carol hears Dave after the reopen", daveFreq)
	if o := r.waitOrbit(t, 703, "free", func(o telephony.Orbit) bool { return !o.Occupied }); o.Occupied {
		t.Errorf("orbit 703 %+v: Carol is bridged to Dave, not parked", o)
	}
	// Erin did not survive: the restored service's first probe found her
	// gone, and her orbit says she was lost when the service stopped.
	r.waitOrbit(t, 704, "free, Erin lost in the restart", func(o telephony.Orbit) bool {
		return !o.Occupied && o.Left == telephony.LeftServiceStopped
	})

	// The reopened console retrieves Alice: they hear each other.
	ctx, cancel := context.WithTimeout(context.Background(), siptest.WaitFor)
	defer cancel()
	id, err := r.sys.phone.Retrieve(ctx, 701)
	if err != nil {
		t.Fatalf("retrieve 701 after the reopen: %v", err)
	}
	r.waitCall(t, "retrieved from 701 and live", func(c telephony.Call) bool { return c.ID == id && c.State == telephony.StateActive })
	aliceM.WaitTone(t, "Alice hears the console", consoleFreq)
	r.dev.WaitTone(t, "the console hears Alice", aliceFreq)
	r.waitOrbit(t, 701, "free after the retrieve", func(o telephony.Orbit) bool { return !o.Occupied })

	// Hang-ups after the reopen end the right legs.
	if err := bobD.Hangup(ctx); err != nil {
		t.Fatalf("Bob hangs up: %v", err)
	}
	r.waitOrbit(t, 702, "free after Bob hung up", func(o telephony.Orbit) bool { return !o.Occupied && o.Left == telephony.LeftGaveUp })
	if err := carolD.Hangup(ctx); err != nil {
		t.Fatalf("Carol hangs up: %v", err)
	}
	select {
	case <-daveD.Context().Done():
	case <-time.After(siptest.WaitFor):
		t.Fatal("Dave's leg was not ended by Carol's hang-up")
	}
	if aliceD.Context().Err() != nil {
		t.Error("Alice's call ended with the others' hang-ups")
	}
	if err := r.sys.phone.Hangup(ctx, id); err != nil {
		t.Fatalf("the console hangs Alice up: %v", err)
	}
	select {
	case <-aliceD.Context().Done():
	case <-time.After(siptest.WaitFor):
		t.Fatal("Alice's leg was not ended by the console's hang-up")
	}
	if !poll(func() bool { p, b := r.sys.park.Held(); return p == 0 && b == 0 }) {
		p, b := r.sys.park.Held()
		t.Errorf("the service still holds %d parked and %d bridged calls", p, b)
	}
}

// TestRingBackNow: "Ring back now" in the close question drains the
// built-in park service with the console still open: Alice and Bob,
// parked, ring back here at once (new parks are refused meanwhile). The
// console answers Alice (tones both ways) and hangs up; closing while
// Bob still rings back keeps him in the store instead of hanging him up
// (the drain ends without its done), and the reopened console has him
// on his orbit again with the music. A drain that ends by itself, every
// call gone, calls done.
func TestRingBackNow(t *testing.T) {
	addrs := freeAddrs(t, 2)
	args := []string{"-listen", addrs[0], "-park-listen", addrs[1], "-state-dir", t.TempDir(), "-audio", "none"}
	r := openPhone(t, args...)
	alice, bob := newCaller(t, "alice"), newCaller(t, "bob")
	aliceD, aliceM := alice.callAndPark(t, r, 701, aliceFreq)
	bobD, bobM := bob.callAndPark(t, r, 702, bobFreq)

	done := make(chan struct{})
	r.sys.ringBackNow(func() { close(done) })
	r.sys.ringBackNow(func() { t.Error("a second Ring back now started another drain") })
	ringing := func(name string) telephony.Call {
		return r.waitCall(t, name+" ringing back", func(c telephony.Call) bool {
			return c.State == telephony.StateRinging && c.RemoteName == name && c.BackFrom != 0
		})
	}
	back := ringing("Alice")
	ringing("Bob")
	ctx, cancel := context.WithTimeout(context.Background(), siptest.WaitFor)
	defer cancel()
	if err := r.sys.phone.Answer(ctx, back.ID); err != nil {
		t.Fatal(err)
	}
	aliceM.WaitTone(t, "Alice hears the console", consoleFreq)
	r.dev.WaitTone(t, "the console hears Alice", aliceFreq)
	if err := r.sys.phone.Hangup(ctx, back.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-aliceD.Context().Done():
	case <-time.After(siptest.WaitFor):
		t.Fatal("Alice was not hung up")
	}
	select {
	case <-done:
		t.Fatal("the drain ended with Bob still ringing back")
	default:
	}

	// Bob's phone answers the restored service's first probe late, as
	// on a loaded machine (the whole-suite run beside two busy loops):
	// a caller slow to answer is still there, and hears the music.
	bob.optionsDelay.Store(int64(1500 * time.Millisecond))
	r.close() // as after Close: Bob is kept, not hung up
	select {
	case <-done:
		t.Error("the drain's done ran although the console closed first")
	default:
	}
	r = openPhone(t, args...)
	r.waitOrbit(t, 702, "lit again with Bob", func(o telephony.Orbit) bool { return o.Occupied && o.CallerName == "Bob" })
	bobM.WaitTone(t, "Bob hears the music after the reopen", musicFreq)
	if bobD.Context().Err() != nil {
		t.Fatal("Bob's call ended after the reopen")
	}

	// A drain that ends by itself: Bob rings back, the console answers
	// and hangs up, nothing is left, done runs.
	done2 := make(chan struct{})
	r.sys.ringBackNow(func() { close(done2) })
	back = ringing("Bob")
	if err := r.sys.phone.Answer(ctx, back.ID); err != nil {
		t.Fatal(err)
	}
	bobM.WaitTone(t, "Bob hears the console", consoleFreq)
	if err := r.sys.phone.Hangup(ctx, back.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done2:
	case <-time.After(siptest.WaitFor):
		t.Fatal("the drain did not end once nothing was left")
	}
	if q := r.sys.closeQuestion(); q.NeedsAsking() {
		t.Errorf("after the drain the close question still asks: %+v", q)
	}
}
