package sip_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// answeredFrom waits for the caller named name to ring console c and
// answers it.
func answeredFrom(t *testing.T, c *console, name string) telephony.Call {
	t.Helper()
	r := c.waitCall(t, name+" rings", func(cl telephony.Call) bool {
		return cl.State == telephony.StateRinging && cl.RemoteName == name
	})
	if err := c.Answer(ctxT(t), r.ID); err != nil {
		t.Fatal(err)
	}
	return c.waitState(t, r.ID, telephony.StateActive)
}

// parkOutcome waits until call id's park is decided: parked away,
// ended, or held again with the reason it failed.
func parkOutcome(t *testing.T, c *console, id telephony.CallID) telephony.Call {
	t.Helper()
	return c.waitCall(t, "park of "+string(id)+" decided", func(cl telephony.Call) bool {
		return cl.ID == id && (cl.State == telephony.StateParkedAway || cl.State == telephony.StateEnded || cl.State == telephony.StateHeld && cl.Reason != "")
	})
}

// seesLit returns a wait, for the PBX's hooks, until console c shows
// orbit n lit (polled: a hook runs off the test's goroutine and cannot
// fail the test; the test's own checks catch a wait that ran out).
func seesLit(c *console, n int) func() {
	return func() {
		deadline := time.Now().Add(waitFor)
		for time.Now().Before(deadline) {
			for _, o := range c.Orbits() {
				if o.Number == n && o.Occupied {
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// hungUp is what the PBX hung up or lost so far.
func (x *asterisk) hungUpSoFar() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.hungUp)
}

// slotOf is the slot the PBX parked the caller named name on, or 0.
func (x *asterisk) slotOf(name string) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	for s, pc := range x.parked {
		if pc.name == name {
			return s
		}
	}
	return 0
}

// TestAsteriskEmptySlotParkLeavesLines: a REFER straight to a slot
// makes Asterisk say 200 and hang the caller up instead of parking it;
// no lamp lights, and Asterisk answers no re-INVITE on the console's
// leg any more. After the 200 the console's leg is gone whatever
// follows: once the confirmation window passes without a lamp, the
// call leaves the lines with a typed ending that says so (not a held
// call whose Resume would hang), and the console ends its leg.
func TestAsteriskEmptySlotParkLeavesLines(t *testing.T) {
	x := startAsterisk(t, 701, 706)
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		x.templates("{orbit}")(c)
		c.Park.Timeout = 2 * time.Second
	})
	a.waitParkService(t, true)
	x.waitSubscribed(t)
	pc, leg := x.call(t, a.uri(), "Alice", "alice")
	call := answered(t, a)
	siptest.Recv(t, "alice put through", leg)
	if err := a.Park(ctxT(t), call.ID, 705); err != nil {
		t.Fatal(err)
	}
	if to := siptest.Recv(t, "REFER", x.referred); to != "705" {
		t.Fatalf("REFER to %q", to)
	}
	gone := parkOutcome(t, a, call.ID)
	if gone.State != telephony.StateEnded || gone.End != telephony.EndParkUnconfirmed ||
		!strings.Contains(gone.Reason, "Alice") || !strings.Contains(gone.Reason, "705") {
		t.Fatalf("call after a 200 no lamp confirmed = %+v, want ended, park unconfirmed, naming Alice and 705", gone)
	}
	if id := siptest.Recv(t, "BYE from the console", x.byes); id != pc.callID {
		t.Fatalf("BYE for %s", id)
	}
	if _, ok := a.Call(call.ID); ok {
		t.Fatal("the call is still on the lines")
	}
	if err := a.Resume(ctxT(t), call.ID); err == nil {
		t.Fatal("Resume of a call the PBX took succeeded")
	}
	if got := x.hungUpSoFar(); len(got) != 1 || got[0] != "Alice" {
		t.Fatalf("asterisk hung up %v", got)
	}
}

// TestAsteriskRefusedParkKeepsCaller: a park the PBX refuses before any
// 2xx (chan_sip's 503 to a REFER pressed too soon) leaves the call with
// the console, held, its leg up, worded as what it is (try again), and
// Resume takes it back.
func TestAsteriskRefusedParkKeepsCaller(t *testing.T) {
	x := startAsterisk(t, 701, 704)
	x.mu.Lock()
	x.refuseRefer = 503
	x.mu.Unlock()
	a := newConsole(t, "desk", 1000, x.templates("87{orbit}"))
	a.waitParkService(t, true)
	x.waitSubscribed(t)
	pc, leg := x.call(t, a.uri(), "Alice", "alice")
	call := answered(t, a)
	siptest.Recv(t, "alice put through", leg)
	if err := a.Park(ctxT(t), call.ID, 0); err != nil {
		t.Fatal(err)
	}
	back := parkOutcome(t, a, call.ID)
	if back.State != telephony.StateHeld || !strings.Contains(back.Reason, "not ready to park yet") || back.Orbit != 0 {
		t.Fatalf("call after a refused park = %+v, want held, the PBX not ready to park yet", back)
	}
	if pc.d.Context().Err() != nil {
		t.Fatal("the console's leg ended")
	}
	if err := a.Resume(ctxT(t), call.ID); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, call.ID, telephony.StateActive)
}

// TestAsteriskLampBeforeOur200IsNotOurs: another parker's park lights a
// slot after our REFER but before Asterisk's 200 sipfrag for it. That
// lamp is not ours: the console keeps its leg up until the 200 (a BYE
// before it would lose the caller) and takes the slot that lights after
// it.
func TestAsteriskLampBeforeOur200IsNotOurs(t *testing.T) {
	x := startAsterisk(t, 701, 704)
	a := newConsole(t, "desk", 1000, x.templates("87{orbit}"))
	x.mu.Lock()
	x.beforeNotify = func() {
		x.parkOther(701, "Other")
		seesLit(a, 701)() // the console knows of it before the 200
	}
	x.mu.Unlock()
	a.waitParkService(t, true)
	x.waitSubscribed(t)
	_, leg := x.call(t, a.uri(), "Alice", "alice")
	call := answered(t, a)
	siptest.Recv(t, "alice put through", leg)
	if err := a.Park(ctxT(t), call.ID, 0); err != nil {
		t.Fatal(err)
	}
	got := parkOutcome(t, a, call.ID)
	if got.State != telephony.StateParkedAway || got.Orbit != 702 {
		t.Fatalf("call = %+v, want parked on 702", got)
	}
	if lost := x.hungUpSoFar(); len(lost) != 0 {
		t.Fatalf("asterisk lost %v", lost)
	}
	if s := x.slotOf("Alice"); s != 702 {
		t.Fatalf("Alice is on %d at the PBX", s)
	}
}

// TestAsteriskTwoLampsAfterOur200NeverGuessed: another parker's park
// lights a slot right after our 200 sipfrag, and ours lights the next.
// Lamps are anonymous: the console cannot tell which is ours, so it
// claims neither. The PBX has the caller, so the call stays on the
// lines, parked on one of the two, both named (uncertainPark).
func TestAsteriskTwoLampsAfterOur200NeverGuessed(t *testing.T) {
	x := startAsterisk(t, 701, 704)
	a, _ := uncertainPark(t, x, nil)
	if lost := x.hungUpSoFar(); len(lost) != 0 {
		t.Fatalf("asterisk lost %v", lost)
	}
	if s := x.slotOf("Alice"); s != 702 {
		t.Fatalf("Alice is on %d at the PBX", s)
	}
	for _, o := range a.Orbits() {
		if o.ParkedByMe {
			t.Fatalf("orbit %+v claimed as this console's park", o)
		}
	}
}

// TestAsteriskSimultaneousParksNeverMisplaced: two consoles park their
// callers at the PBX in the same moment, round after round. No caller
// is ever lost (no console hangs up before its transfer is done), a
// console that says its caller is parked on an orbit is right, and one
// that cannot tell keeps the call with the orbits it may be on, the
// right one among them. Then both callers hang up: every call of the
// round leaves both consoles' lines.
func TestAsteriskSimultaneousParksNeverMisplaced(t *testing.T) {
	const rounds = 30
	x := startAsterisk(t, 701, 704)
	a := newConsole(t, "deska", 1000, x.templates("87{orbit}"))
	b := newConsole(t, "deskb", 1200, x.templates("87{orbit}"))
	a.waitParkService(t, true)
	b.waitParkService(t, true)
	x.waitSubscribed(t)
	uncertain, ended := 0, 0
	for r := range rounds {
		names := [2]string{fmt.Sprintf("Ann%d", r), fmt.Sprintf("Bea%d", r)}
		consoles := [2]*console{a, b}
		var calls [2]telephony.Call
		for i, c := range consoles {
			_, leg := x.call(t, c.uri(), names[i], strings.ToLower(names[i]))
			calls[i] = answeredFrom(t, c, names[i])
			siptest.Recv(t, names[i]+" put through", leg)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, c := range consoles {
			wg.Go(func() {
				<-start
				if err := c.Park(ctxT(t), calls[i].ID, 0); err != nil {
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		for i, c := range consoles {
			got := parkOutcome(t, c, calls[i].ID)
			s := x.slotOf(names[i])
			switch {
			case got.State == telephony.StateParkedAway && got.Orbit != 0:
				if s != got.Orbit {
					t.Fatalf("round %d: %s says %s is on %d, the PBX has it on %d", r, c.name, names[i], got.Orbit, s)
				}
			case got.Uncertain():
				uncertain++
				if !got.Candidates.Contains(s) {
					t.Fatalf("round %d: %s says %s is on %v, the PBX has it on %d", r, c.name, names[i], got.Candidates.List(), s)
				}
			case got.State == telephony.StateEnded && got.End == telephony.EndParkUnconfirmed:
				ended++
				if !strings.Contains(got.Reason, strconv.Itoa(s)) {
					t.Fatalf("round %d: %s: %s does not name %d, where the PBX has it", r, c.name, got.Reason, s)
				}
			default:
				t.Fatalf("round %d: %s's park of %s: %+v", r, c.name, names[i], got)
			}
		}
		if lost := x.hungUpSoFar(); len(lost) != 0 {
			t.Fatalf("round %d: the PBX lost %v", r, lost)
		}
		for _, n := range names {
			if s := x.slotOf(n); s == 0 {
				t.Fatalf("round %d: %s is parked nowhere", r, n)
			} else {
				x.leave(s)
			}
		}
		for i, c := range consoles {
			if gone := c.waitState(t, calls[i].ID, telephony.StateEnded); gone.End != telephony.EndLeftOrbit && gone.End != telephony.EndParkUnconfirmed {
				t.Fatalf("round %d: %s's %s ended %v %q", r, c.name, names[i], gone.End, gone.Reason)
			}
		}
		for _, c := range consoles {
			for _, n := range []int{701, 702, 703, 704} {
				c.waitOrbit(t, n, "dark", free)
			}
		}
	}
	t.Logf("%d of %d parks kept uncertain, %d left the lines unconfirmed", uncertain, 2*rounds, ended)
}

// TestAsteriskDirectedParkReslotted: Asterisk does not refuse a directed
// park onto an occupied slot; it parks the caller on the next free one.
// The console, which asked for 705, is confirmed only by 705's own lamp,
// which does not light again: it never claims 705 nor 706 as certain,
// and once the window passes the call leaves the lines saying it may be
// on 706, which lit at the same time.
func TestAsteriskDirectedParkReslotted(t *testing.T) {
	x := startAsterisk(t, 701, 708)
	x.parkOther(705, "Other")
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		x.templates("87{orbit}")(c)
		c.Park.Timeout = 3 * time.Second
	})
	a.waitParkService(t, true)
	x.waitSubscribed(t)
	a.waitOrbit(t, 705, "occupied by someone", func(o telephony.Orbit) bool { return o.Occupied })
	_, leg := x.call(t, a.uri(), "Alice", "alice")
	call := answered(t, a)
	siptest.Recv(t, "alice put through", leg)
	if err := a.Park(ctxT(t), call.ID, 705); err != nil {
		t.Fatal(err)
	}
	got := parkOutcome(t, a, call.ID)
	if got.State != telephony.StateEnded || got.End != telephony.EndParkUnconfirmed || got.Orbit != 0 ||
		!strings.Contains(got.Reason, "705") || !strings.Contains(got.Reason, "706") {
		t.Fatalf("call = %+v, want a park not confirmed that names 705 and 706", got)
	}
	if s := x.slotOf("Alice"); s != 706 {
		t.Fatalf("Alice is on %d at the PBX", s)
	}
	if lost := x.hungUpSoFar(); len(lost) != 0 {
		t.Fatalf("asterisk lost %v", lost)
	}
	for _, o := range a.Orbits() {
		if o.ParkedByMe {
			t.Fatalf("orbit %+v claimed as this console's park", o)
		}
	}
}

// TestAsteriskLampBeforeOur200NamedAsPossible: where the caller's lamp
// lights before the 200 sipfrag, the console cannot take it as its own
// (another parker's looks the same), but once the window passes without
// a lamp after the 200 it says the call may be on that orbit, rather
// than that the PBX may have dropped it.
func TestAsteriskLampBeforeOur200NamedAsPossible(t *testing.T) {
	x := startAsterisk(t, 701, 704)
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		x.templates("87{orbit}")(c)
		c.Park.Timeout = 2 * time.Second
	})
	x.mu.Lock()
	x.lampFirst = true
	x.beforeNotify = seesLit(a, 701) // the console knows of it before the 200
	x.mu.Unlock()
	a.waitParkService(t, true)
	x.waitSubscribed(t)
	_, leg := x.call(t, a.uri(), "Alice", "alice")
	call := answered(t, a)
	siptest.Recv(t, "alice put through", leg)
	if err := a.Park(ctxT(t), call.ID, 0); err != nil {
		t.Fatal(err)
	}
	got := parkOutcome(t, a, call.ID)
	if got.State != telephony.StateEnded || got.End != telephony.EndParkUnconfirmed || got.Orbit != 0 ||
		!strings.Contains(got.Reason, "may be on orbit 701") {
		t.Fatalf("call = %+v, want a park not confirmed that says it may be on 701", got)
	}
	if lost := x.hungUpSoFar(); len(lost) != 0 {
		t.Fatalf("asterisk lost %v", lost)
	}
}
