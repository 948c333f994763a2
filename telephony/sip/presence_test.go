package sip_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/dialoginfo"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// presenceMark is where in a console's events a wait for presence
// starts: each state is looked for after the last one seen.
type presenceMark struct{ n int }

// waitPresence waits for target's state to become want after mark, and
// moves mark past it.
func (c *console) waitPresence(t testing.TB, mark *presenceMark, target string, want telephony.Presence) telephony.PresenceChanged {
	t.Helper()
	var got telephony.PresenceChanged
	if !c.events.Await(siptest.WaitFor, func(items []telephony.Event) bool {
		for i := mark.n; i < len(items); i++ {
			if pc, ok := items[i].(telephony.PresenceChanged); ok && pc.Target == target && pc.Presence == want {
				got, mark.n = pc, i+1
				return true
			}
		}
		return false
	}) {
		var shown []string
		for _, ev := range c.events.All() {
			if pc, ok := ev.(telephony.PresenceChanged); ok && pc.Target == target {
				shown = append(shown, fmt.Sprintf("%s (%v)", pc.Presence, pc.Fault))
			}
		}
		t.Fatalf("never: %s: %s %s (shown, last 8: %v)", c.name, target, want, shown[max(0, len(shown)-8):])
	}
	return got
}

// TestPresenceFollowsColleague: a colleague's extension, watched by the
// console at a real RFC 4235 source, goes idle → ringing → busy → idle
// on the console, each seen as PresenceChanged and in Presence.
func TestPresenceFollowsColleague(t *testing.T) {
	src := siptest.StartDialogSource(t)
	a := newConsole(t, "desk", 1000, nil)
	bob := src.URI("201")
	a.Watch([]string{bob})
	var m presenceMark
	a.waitPresence(t, &m, bob, telephony.PresenceIdle)
	for _, st := range []telephony.Presence{telephony.PresenceRinging, telephony.PresenceBusy, telephony.PresenceIdle} {
		src.Set("201", st)
		if got := a.waitPresence(t, &m, bob, st); got.Fault != telephony.LampKnown {
			t.Fatalf("%s: %+v", st, got)
		}
		if got, ok := a.Presence(bob); !ok || got != st {
			t.Fatalf("Presence(%s) = %s, %v; want %s", bob, got, ok, st)
		}
	}
}

// TestPresenceNumberAtLampHost: a colleague given by extension is
// watched at the host of the park lamps' template (the PBX), and seen
// busy there.
func TestPresenceNumberAtLampHost(t *testing.T) {
	src := siptest.StartDialogSource(t)
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		h := fmt.Sprintf("@127.0.0.1:%d", src.Port)
		c.Park = sbsip.ParkConfig{ParkAny: "sip:700" + h, Retrieve: "sip:{orbit}" + h, Lamp: "sip:{orbit}" + h,
			Orbits: telephony.Lot{First: 701, Last: 701}}
	})
	src.Set("202", telephony.PresenceBusy)
	a.Watch([]string{"202"})
	var m presenceMark
	a.waitPresence(t, &m, "202", telephony.PresenceBusy)
	src.Subscribed.Wait(t, "202 subscribed at the lamps' host", func(ext string) bool { return ext == "202" })
}

// TestPresenceResubscribesAfterRestart: the presence server restarts
// and forgets the console's subscription; the console's refresh gets
// 481, it subscribes again at once, and the state the restarted server
// has (busy) shows.
func TestPresenceResubscribesAfterRestart(t *testing.T) {
	src := siptest.StartDialogSource(t)
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		h := fmt.Sprintf("@127.0.0.1:%d", src.Port)
		c.Park = sbsip.ParkConfig{ParkAny: "sip:700" + h, Retrieve: "sip:{orbit}" + h, Lamp: "sip:{orbit}" + h,
			Orbits: telephony.Lot{First: 701, Last: 701}, LampExpiry: 2 * time.Second}
	})
	bob := src.URI("203")
	a.Watch([]string{bob})
	var m presenceMark
	a.waitPresence(t, &m, bob, telephony.PresenceIdle)
	src.Restart("")
	src.Set("203", telephony.PresenceBusy) // nobody to notify: the server lost them
	a.waitPresence(t, &m, bob, telephony.PresenceBusy)
	n := 0
	for _, ext := range src.Subscribed.All() {
		if ext == "203" {
			n++
		}
	}
	if n < 2 {
		t.Fatalf("203 subscribed %d times, want a new subscription after the restart", n)
	}
}

// TestPresenceBounded: watching 5,000 colleagues costs the server at
// most MaxWatched subscriptions; watching fewer unsubscribes the rest
// (Expires: 0), and nothing is left after Close.
func TestPresenceBounded(t *testing.T) {
	src := siptest.StartDialogSource(t)
	a := newConsole(t, "desk", 1000, nil)
	targets := make([]string, 5000)
	for i := range targets {
		targets[i] = src.URI(strconv.Itoa(10000 + i))
	}
	a.Watch(targets)
	src.Subscribed.Until(t, "the bounded subscriptions made", func(items []string) bool { return len(items) >= sbsip.MaxWatched })
	if w, filed := a.Watching(); w != sbsip.MaxWatched || filed > sbsip.MaxWatched {
		t.Fatalf("watching %d, %d subscriptions filed; want %d", w, filed, sbsip.MaxWatched)
	}
	keep := targets[:3]
	made := len(src.Subscribed.All())
	a.Watch(keep)
	src.Unsubscribed.Until(t, "the others unsubscribed", func(items []string) bool { return len(items) >= sbsip.MaxWatched-3 })
	if n := src.Live(); n != 3 {
		t.Fatalf("the server keeps %d subscriptions, want 3", n)
	}
	if w, _ := a.Watching(); w != 3 {
		t.Fatalf("watching %d, want 3", w)
	}
	if n := len(src.Subscribed.All()); n != made {
		t.Fatalf("%d subscriptions made after watching 3 of them, want none (the kept ones are not made again)", n-made)
	}
}

// TestPresenceRefusedIsUnknown: a server that has no such extension
// (404) makes the colleague unknown with why, never idle.
func TestPresenceRefusedIsUnknown(t *testing.T) {
	src := siptest.StartDialogSource(t)
	src.Refuse("299", sip.StatusNotFound)
	a := newConsole(t, "desk", 1000, nil)
	ghost := src.URI("299")
	a.Watch([]string{ghost})
	var m presenceMark
	if got := a.waitPresence(t, &m, ghost, telephony.PresenceUnknown); got.Fault != telephony.LampNotFound {
		t.Fatalf("got %+v, want unknown, not found", got)
	}
	for _, ev := range a.events.All() {
		if pc, ok := ev.(telephony.PresenceChanged); ok && pc.Presence != telephony.PresenceUnknown {
			t.Fatalf("a refused colleague was shown %s", pc.Presence)
		}
	}
}

// TestBlindTransferToBusyFailsTyped: the colleague answers the caller's
// new call 486: the console's call stays held and the failure comes as
// TransferFailed, busy, 486, not only as words.
func TestBlindTransferToBusyFailsTyped(t *testing.T) {
	a := newConsole(t, "desk", 1000, nil)
	alice := newPeer(t, "alice", nil)
	bob := newPeer(t, "bob", func(d *diago.DialogServerSession) {
		_ = d.Respond(sip.StatusBusyHere, "Busy Here", nil)
	})
	da := alice.dial(t, a.uri(), true)
	r := a.waitRinging(t)
	if err := a.Answer(ctxT(t), r.ID); err != nil {
		t.Fatal(err)
	}
	siptest.Recv(t, "answered", da)
	if err := a.BlindTransfer(ctxT(t), r.ID, bob.AOR()); err != nil {
		t.Fatal(err)
	}
	ev := a.waitEvent(t, "transfer failed", func(e telephony.Event) bool {
		_, ok := e.(telephony.TransferFailed)
		return ok
	}).(telephony.TransferFailed)
	if ev.Call != r.ID || ev.Why != telephony.TransferBusy || ev.Code != sip.StatusBusyHere {
		t.Fatalf("failed = %+v", ev)
	}
	if got, _ := a.Call(r.ID); got.State != telephony.StateHeld {
		t.Fatalf("call after the failed transfer = %+v, want held", got)
	}
	if err := a.Resume(ctxT(t), r.ID); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, r.ID, telephony.StateActive)
}

// TestPresenceResubscribesOnServiceRestart: the colleagues are watched
// on the park service that serves the lamps; it restarts (a new
// X-Park-Instance on its health answer) and forgot them: the console
// subscribes again at once, as for the orbit lamps, not after the
// 10-minute refresh, and the state it has now shows.
func TestPresenceResubscribesOnServiceRestart(t *testing.T) {
	src := siptest.StartDialogSource(t)
	src.Restart("start-1")
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		h := fmt.Sprintf("@127.0.0.1:%d", src.Port)
		c.Park = sbsip.ParkConfig{ParkAny: "sip:700" + h, Retrieve: "sip:{orbit}" + h, Lamp: "sip:{orbit}" + h,
			Orbits: telephony.Lot{First: 701, Last: 701}, HealthInterval: 300 * time.Millisecond}
	})
	a.Watch([]string{"204"})
	var m presenceMark
	a.waitPresence(t, &m, "204", telephony.PresenceIdle)
	src.Restart("start-2")
	src.Set("204", telephony.PresenceBusy) // nobody to notify: it forgot them
	a.waitPresence(t, &m, "204", telephony.PresenceBusy)
}

// TestPresenceWatchBeforeStart: colleagues the window asks for before
// the phone starts (the console's window may open first) are watched
// once it has started.
func TestPresenceWatchBeforeStart(t *testing.T) {
	src := siptest.StartDialogSource(t)
	p, err := sbsip.New(sbsip.Config{User: "desk", Listen: []sbsip.Listener{{Transport: "udp", Addr: "127.0.0.1:0"}},
		Audio: &siptest.ToneDevice{Freq: 1000}, Logger: testLogger(t, "desk")})
	if err != nil {
		t.Fatal(err)
	}
	bob := src.URI("205")
	src.Set("205", telephony.PresenceBusy)
	p.Watch([]string{bob})
	if err := p.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	for {
		select {
		case ev := <-p.Events():
			if pc, ok := ev.(telephony.PresenceChanged); ok && pc.Target == bob && pc.Presence == telephony.PresenceBusy {
				return
			}
		case <-ctxT(t).Done():
			t.Fatal("the colleague asked for before the start was never watched")
		}
	}
}

// TestPresenceBodilessNotifyIsIdle: Kamailio's presence server notifies
// a user who has no dialogs published with an active NOTIFY and no body
// (presence_dialoginfo without force_dummy_dialog). The console shows
// the colleague idle, not unknown until their first call, and still
// follows their calls and the return to no body.
func TestPresenceBodilessNotifyIsIdle(t *testing.T) {
	src := siptest.StartDialogSource(t)
	src.EmptyWhenIdle()
	a := newConsole(t, "desk", 1000, nil)
	bob := src.URI("206")
	a.Watch([]string{bob})
	var m presenceMark
	if got := a.waitPresence(t, &m, bob, telephony.PresenceIdle); got.Fault != telephony.LampKnown {
		t.Fatalf("bob with no dialogs: %+v", got)
	}
	for _, st := range []telephony.Presence{telephony.PresenceBusy, telephony.PresenceIdle} {
		src.Set("206", st)
		a.waitPresence(t, &m, bob, st)
	}
}

// TestPresenceConfirmedDialogNeverRingsAgain: Kamailio's pua_dialoginfo
// can publish a call's "early" after its "confirmed" (two workers
// publish the 180 and the 200; the early one, refused 412 for a stale
// ETag, is sent again and lands last), and its presence server then
// notifies a colleague on the call as ringing. A dialog never goes back
// from confirmed (RFC 4235 §3.7.1): the console keeps the colleague busy
// until the call ends, and rings for a new dialog as before.
func TestPresenceConfirmedDialogNeverRingsAgain(t *testing.T) {
	src := siptest.StartDialogSource(t)
	a := newConsole(t, "desk", 1000, nil)
	bob := src.URI("207")
	a.Watch([]string{bob})
	var m presenceMark
	a.waitPresence(t, &m, bob, telephony.PresenceIdle)
	call := func(state string) dialoginfo.Dialog {
		return dialoginfo.Dialog{ID: "padi-1", CallID: "c1", State: state, Direction: dialoginfo.DirectionRecipient}
	}
	src.SetDialogs("207", call(dialoginfo.DialogEarly))
	a.waitPresence(t, &m, bob, telephony.PresenceRinging)
	src.SetDialogs("207", call(dialoginfo.DialogConfirmed))
	a.waitPresence(t, &m, bob, telephony.PresenceBusy)
	// The stale early one, answered (so applied) when SetDialogs returns.
	src.SetDialogs("207", call(dialoginfo.DialogEarly))
	if got, _ := a.Presence(bob); got != telephony.PresenceBusy {
		t.Fatalf("bob after a stale early document of his confirmed call: %s, want busy", got)
	}
	src.SetDialogs("207", call(dialoginfo.DialogTerminated))
	a.waitPresence(t, &m, bob, telephony.PresenceIdle)
	rings := 0
	for _, ev := range a.events.All() {
		if pc, ok := ev.(telephony.PresenceChanged); ok && pc.Target == bob && pc.Presence == telephony.PresenceRinging {
			rings++
		}
	}
	if rings != 1 {
		t.Fatalf("bob was shown ringing %d times, want once (before he answered)", rings)
	}
	// A new call (another dialog) rings as ever.
	next := dialoginfo.Dialog{ID: "padi-2", CallID: "c2", State: dialoginfo.DialogEarly, Direction: dialoginfo.DirectionRecipient}
	src.SetDialogs("207", next)
	a.waitPresence(t, &m, bob, telephony.PresenceRinging)
}
