package app_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/internal/demo"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park"
	"github.com/switchboard/switchboard/telephony/sip"
	"github.com/switchboard/switchboard/widgets"
)

// This file runs the window against the real user agent (telephony/sip)
// and the real park service (telephony/park) on loopback, with a caller
// that is a real SIP user agent (internal/demo). Only the sound device is a
// stand-in: a generator and recorder (the sound device is a true
// boundary; telephony/audio has its own tests).

// testLogger logs to stderr when APPTEST_LOG is set.
func testLogger(name string) *slog.Logger { return siptest.Logger("APPTEST_LOG", name) }

// startPark runs a park service with the lot 701-720 on loopback.
func startPark(t *testing.T) *park.Service {
	t.Helper()
	return siptest.StartPark(t, park.Options{Orbits: telephony.Lot{First: 701, Last: 720}, Logger: testLogger("park")})
}

// realPhone starts a console user agent on loopback for the park service
// at parkAddr.
func realPhone(t *testing.T, user string, parkAddr string, dev telephony.AudioDevice) *sip.Phone {
	t.Helper()
	pc := sip.ServiceTemplates(parkAddr, telephony.Lot{First: 701, Last: 720})
	pc.HealthInterval = 300 * time.Millisecond
	p, err := sip.New(sip.Config{
		User:        user,
		DisplayName: strings.ToUpper(user[:1]) + user[1:],
		Listen:      []sip.Listener{{Transport: "udp", Addr: "127.0.0.1:0"}, {Transport: "tcp", Addr: "127.0.0.1:0"}},
		Park:        pc,
		Audio:       dev,
		EventBuffer: 4096,
		Logger:      testLogger(user),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// pumpUntil pumps both consoles' loops until cond holds.
func pumpUntil(t *testing.T, what string, cond func() bool, hs ...*harness) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		for _, h := range hs {
			h.loop.pump()
		}
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			for _, h := range hs {
				t.Logf("%s: %+v", h.w.Title(), h.c.Snapshot())
			}
			t.Fatalf("never: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func realClock(o *app.Options) { o.Clock = time.Now }

// TestRealUserAgentParkAndRetrieve: a caller rings the first console, is
// answered, dragged onto 703; both consoles' slots show the caller; the
// second console retrieves it with a tap; both grids clear. Audio goes
// both ways at each step (tones through the stand-in sound devices).
func TestRealUserAgentParkAndRetrieve(t *testing.T) {
	if testing.Short() {
		t.Skip("real SIP on loopback")
	}
	svc := startPark(t)

	dev1, dev2 := &siptest.ToneDevice{Freq: 600}, &siptest.ToneDevice{Freq: 900}
	phone1 := realPhone(t, "reception1", svc.HostPort(), dev1)
	phone2 := realPhone(t, "reception2", svc.HostPort(), dev2)
	a := newApp(t)
	// Fyne's test driver places every object in the window made last:
	// console 1, whose card is dragged, is made last. Console 2 is only
	// tapped, which needs no places.
	h2 := openConsole(t, a, phone2, "Reception 2", realClock)
	h1 := openConsole(t, a, phone1, "Reception 1", realClock)
	for _, p := range []*sip.Phone{phone1, phone2} {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		err := p.Start(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	pumpUntil(t, "both consoles see the park service", func() bool {
		return h1.c.Snapshot().Park == "Park service: available" && h2.c.Snapshot().Park == "Park service: available"
	}, h1, h2)

	callers, err := demo.New(demo.Options{
		Console:  phone1.AOR(),
		Interval: -1,
		GiveUp:   -1,
		Logger:   testLogger("caller"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := callers.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(callers.Close)
	alice, err := callers.Dial(demo.Caller{Name: "Alice Martin", Number: "+442079460018",
		Sound: func() []int16 { return demo.Tone(440, 2) }})
	if err != nil {
		t.Fatal(err)
	}

	// It rings on the first console; Enter answers.
	var id telephony.CallID
	pumpUntil(t, "Alice ringing on console 1", func() bool {
		for _, l := range h1.c.Snapshot().Lines {
			if l.Name == "Alice Martin" && l.State == string(widgets.LineRinging) && l.Number == "+442079460018" {
				id = telephony.CallID(l.ID)
				return true
			}
		}
		return false
	}, h1, h2)
	h1.key(fyne.KeyReturn)
	pumpUntil(t, "Alice answered", func() bool { return h1.lineState(id) == string(widgets.LineActive) }, h1)
	pumpUntil(t, "the console hears the caller, the caller the console", func() bool {
		return siptest.Dominant(dev1.Last(siptest.Rate), 440) && siptest.Dominant(alice.Heard(), 600)
	}, h1)

	// Dragged onto 703: the slot lights on both consoles.
	h1.drag(id, 703)
	pumpUntil(t, "703 lit on both consoles", func() bool {
		o1, o2 := h1.orbit(703), h2.orbit(703)
		return o1.State == string(widgets.SlotMine) && o1.Caller == "Alice Martin" &&
			o2.State == string(widgets.SlotOccupied) && o2.Caller == "Alice Martin" && o2.Parker == "reception1"
	}, h1, h2)
	if st, _ := alice.State(); st != demo.CallParked {
		pumpUntil(t, "the caller parked", func() bool { st, _ := alice.State(); return st == demo.CallParked })
	}
	pumpUntil(t, "console 1's card leaves", func() bool {
		h1.c.Tick(time.Now().Add(3 * time.Second))
		_, on := h1.line(id)
		return !on
	}, h1)
	if !h1.hasHistory("Parked Alice Martin on 703") {
		t.Errorf("console 1 history %q", h1.history())
	}

	// The second console taps 703: it gets Alice; both grids clear.
	test.Tap(h2.c.Grid().Slot(703))
	var got telephony.CallID
	pumpUntil(t, "console 2 talks to Alice, both grids clear", func() bool {
		for _, l := range h2.c.Snapshot().Lines {
			if l.Name == "Alice Martin" && l.State == string(widgets.LineActive) {
				got = telephony.CallID(l.ID)
			}
		}
		return got != "" && h1.orbit(703).State == string(widgets.SlotFree) && h2.orbit(703).State == string(widgets.SlotFree)
	}, h1, h2)
	pumpUntil(t, "console 2 hears the caller, the caller console 2", func() bool {
		return siptest.Dominant(dev2.Last(siptest.Rate), 440) && siptest.Dominant(alice.Heard(), 900)
	}, h2)
	if !strings.HasPrefix(h2.history()[0], "Retrieved Alice Martin from 703 after ") {
		t.Errorf("console 2 history %q", h2.history())
	}
	pumpUntil(t, "console 1's history says who retrieved the call", func() bool {
		return len(h1.history()) > 0 && strings.HasPrefix(h1.history()[0], "Alice Martin was retrieved from 703 by reception2 after ")
	}, h1)
	for _, h := range []*harness{h1, h2} {
		for _, o := range h.c.Snapshot().Orbits {
			if o.State != string(widgets.SlotFree) {
				t.Errorf("%s: orbit %d %s", h.w.Title(), o.Number, o.State)
			}
		}
	}

	// Console 2 hangs up (Esc, Y): the caller's call ends.
	h2.key(fyne.KeyEscape)
	h2.typeText("y")
	select {
	case <-alice.Done():
	case <-time.After(waitFor):
		t.Fatal("the caller's call did not end")
	}
	pumpUntil(t, "console 2's line ended", func() bool {
		st := h2.lineState(got)
		return st == string(widgets.LineEnded) || st == ""
	}, h2)
}

// startStack starts a park service and one console on it.
func startStack(t *testing.T) (*park.Service, *sip.Phone, *harness, *siptest.ToneDevice) {
	t.Helper()
	svc := startPark(t)
	dev := &siptest.ToneDevice{Freq: 600}
	phone := realPhone(t, "reception1", svc.HostPort(), dev)
	h := openConsole(t, newApp(t), phone, "Reception 1", realClock)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := phone.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return svc, phone, h, dev
}

// TestRealUserAgentCallerGivesUpWhileParked: a demo caller parked with P
// hangs up on its orbit; the slot clears, the history says it gave up,
// and its call-back button calls it back. The caller hangs up only once
// the window has shown the orbit as this console's: a timer in the
// caller could fire before a loaded machine got there, and the lamp's
// lighting and darkening would then be applied in one pump, never seen
// lit (TestParkedCallerLeavesInTheSameBatch covers that case).
func TestRealUserAgentCallerGivesUpWhileParked(t *testing.T) {
	if testing.Short() {
		t.Skip("real SIP on loopback")
	}
	_, phone, h, _ := startStack(t)
	callers, err := demo.New(demo.Options{Console: phone.AOR(), Interval: -1, GiveUp: -1, Logger: testLogger("caller")})
	if err != nil {
		t.Fatal(err)
	}
	if err := callers.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(callers.Close)
	bob, err := callers.Dial(demo.Caller{Name: "Bob Chen", Number: "+15550142", Sound: func() []int16 { return demo.Voice(2, 118, 3) }})
	if err != nil {
		t.Fatal(err)
	}
	pumpUntil(t, "Bob ringing", func() bool {
		s := h.c.Snapshot()
		return len(s.Lines) == 1 && s.Lines[0].State == string(widgets.LineRinging)
	}, h)
	h.key(fyne.KeyReturn)
	pumpUntil(t, "Bob answered", func() bool { return h.c.Snapshot().Lines[0].State == string(widgets.LineActive) }, h)
	h.typeText("p")
	pumpUntil(t, "Bob on 701", func() bool { return h.orbit(701).State == string(widgets.SlotMine) }, h)
	// The lamp may light before the caller has taken the park service's
	// answer: hanging up before would be no give-up.
	deadline := time.After(waitFor)
	for {
		next := bob.Wait()
		st, why := bob.State()
		if st == demo.CallParked {
			break
		}
		if st == demo.CallEnded {
			t.Fatalf("Bob's call ended before he was parked: %s", why)
		}
		select {
		case <-next:
		case <-deadline:
			t.Fatalf("Bob's call while 701 shows him: %s (%s)", st, why)
		}
	}
	bob.HangUp()
	select {
	case <-bob.Done():
	case <-time.After(waitFor):
		t.Fatal("Bob never hung up")
	}
	if st, why := bob.State(); st != demo.CallEnded || why != "hung up" {
		t.Errorf("Bob's call: %s (%s), want him to have hung up himself", st, why)
	}
	pumpUntil(t, "701 clear, the history says Bob gave up", func() bool {
		hist := h.history()
		return h.orbit(701).State == string(widgets.SlotFree) && len(hist) > 0 &&
			strings.HasPrefix(hist[0], "Bob Chen gave up on 701 after 0:0") && strings.HasSuffix(hist[0], "[call back]")
	}, h)
	// Calling back rings the demo caller, who answers.
	test.Tap(h.button("Call back"))
	pumpUntil(t, "the call back answered", func() bool {
		for _, l := range h.c.Snapshot().Lines {
			if l.State == string(widgets.LineActive) && l.Number == "+15550142" {
				return true
			}
		}
		return false
	}, h)
}
