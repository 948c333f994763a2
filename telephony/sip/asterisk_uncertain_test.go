package sip_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// uncertainPark parks Alice at the PBX while another parker's caller
// (Other) lands on 701 right after Alice's 200 sipfrag: Alice goes on
// 702, both lamps light in the same moment (701 first), and the console
// keeps Alice as a park on 701 or 702, 701 the likelier. It returns the
// console and Alice's call.
func uncertainPark(t *testing.T, x *asterisk, mod func(*sbsip.Config)) (*console, telephony.Call) {
	t.Helper()
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		x.templates("87{orbit}")(c)
		if mod != nil {
			mod(c)
		}
	})
	x.mu.Lock()
	x.afterNotify = func() {
		x.parkOther(701, "Other")
		seesLit(a, 701)() // 701 lights first at the console too (it answers a NOTIFY before applying it)
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
	if !got.Uncertain() || !slices.Equal(got.Candidates.List(), []int{701, 702}) || got.Likely != 701 ||
		!strings.Contains(got.Reason, "701 or 702") {
		t.Fatalf("call = %+v, want parked on 701 or 702, 701 likeliest", got)
	}
	x.mu.Lock()
	x.afterNotify = nil
	x.mu.Unlock()
	return a, got
}

// TestAsteriskUncertainParkNarrowsAndRetrieves: a park the console
// cannot place for certain stays on the lines with both candidates. When
// the other caller hangs up (701 dark) it narrows to 702, "probably";
// retrieving the call then takes 702, where the PBX has Alice, the
// retrieve is named after her by the re-INVITE that follows the bridge,
// and the uncertain park leaves the lines as retrieved.
func TestAsteriskUncertainParkNarrowsAndRetrieves(t *testing.T) {
	x := startAsterisk(t, 701, 704)
	x.mu.Lock()
	x.sendrpid = true
	x.mu.Unlock()
	a, call := uncertainPark(t, x, nil)
	for _, o := range a.Orbits() {
		if o.ParkedByMe {
			t.Fatalf("orbit %+v claimed as this console's park", o)
		}
	}
	x.leave(701)
	narrowed := a.waitCall(t, "narrowed to 702", func(c telephony.Call) bool {
		return c.ID == call.ID && slices.Equal(c.Candidates.List(), []int{702})
	})
	if !narrowed.Uncertain() || narrowed.Likely != 702 || narrowed.Reason != "parked, probably on 702" {
		t.Fatalf("narrowed = %+v", narrowed)
	}
	rid, err := a.RetrieveCall(ctxT(t), call.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := x.retrieved.Wait(t, "retrieve at the PBX", func(string) bool { return true }); got != "Alice" {
		t.Fatalf("the PBX gave %s", got)
	}
	back := a.waitCall(t, "retrieve named Alice", func(c telephony.Call) bool {
		return c.ID == rid && c.State == telephony.StateActive && c.RemoteName == "Alice"
	})
	if back.RetrievedFrom != 702 || !strings.HasPrefix(back.RemoteURI, "sip:alice@") {
		t.Fatalf("retrieve = %+v", back)
	}
	gone := a.waitState(t, call.ID, telephony.StateEnded)
	if gone.End != telephony.EndLeftOrbit || gone.Reason != "retrieved from orbit 702" {
		t.Fatalf("uncertain park ended %v %q", gone.End, gone.Reason)
	}
}

// TestAsteriskUncertainRetrieveOfTheOtherCaller: retrieving an uncertain
// park takes its likeliest candidate (701, which lit first) and says
// whom it probably brings back; the PBX names the caller it was (Other),
// so the park stays on the lines on the orbit left (702). When Alice's
// park times out, Asterisk re-dials with only her ID: the console takes
// it for her return from 702 and the uncertain park leaves the lines.
func TestAsteriskUncertainRetrieveOfTheOtherCaller(t *testing.T) {
	x := startAsterisk(t, 701, 704)
	x.mu.Lock()
	x.sendrpid = true
	x.mu.Unlock()
	a, call := uncertainPark(t, x, nil)
	// The PBX names the caller after the console has shown its guess
	// (on a busy machine its re-INVITE could come first, and the console
	// then rightly shows no guess at all).
	gate := make(chan struct{})
	x.mu.Lock()
	x.rpidGate = gate
	x.mu.Unlock()
	rid, err := a.RetrieveCall(ctxT(t), call.ID)
	if err != nil {
		t.Fatal(err)
	}
	a.waitCall(t, "retrieve says whom it probably brings", func(c telephony.Call) bool {
		return c.ID == rid && c.Reason == "probably Alice (parked on 701 or 702)"
	})
	close(gate)
	named := a.waitCall(t, "retrieve named by the PBX", func(c telephony.Call) bool {
		return c.ID == rid && c.RemoteName == "Other"
	})
	if named.Reason != "" || named.RetrievedFrom != 701 {
		t.Fatalf("retrieve = %+v", named)
	}
	if still, ok := a.Call(call.ID); !ok || !still.Uncertain() || !slices.Equal(still.Candidates.List(), []int{702}) {
		t.Fatalf("uncertain park after the other caller was retrieved = %+v, %v", still, ok)
	}
	x.comeback(t, a.uri(), 702)
	ret := a.waitCall(t, "alice rings back", func(c telephony.Call) bool {
		return c.State == telephony.StateRinging && c.RemoteName == "Alice" && c.ID != call.ID
	})
	if ret.BackFrom != 702 {
		t.Fatalf("comeback = %+v, want back from 702", ret)
	}
	if gone := a.waitState(t, call.ID, telephony.StateEnded); gone.End != telephony.EndLeftOrbit || gone.Reason != "left orbit 702" {
		t.Fatalf("uncertain park ended %v %q", gone.End, gone.Reason)
	}
}

// TestAsteriskUncertainParkLeavesWhenItsOrbitsDarken: an uncertain park
// whose every candidate goes dark has left (its caller hung up or was
// taken by someone else): the call leaves the lines as having left, and
// the orbit says nothing of giving up (Asterisk's lamps never say why).
func TestAsteriskUncertainParkLeavesWhenItsOrbitsDarken(t *testing.T) {
	x := startAsterisk(t, 701, 704)
	a, call := uncertainPark(t, x, nil)
	x.leave(702)
	a.waitCall(t, "narrowed to 701", func(c telephony.Call) bool {
		return c.ID == call.ID && slices.Equal(c.Candidates.List(), []int{701})
	})
	x.leave(701)
	gone := a.waitState(t, call.ID, telephony.StateEnded)
	if gone.End != telephony.EndLeftOrbit || gone.Reason != "left orbit 701" {
		t.Fatalf("uncertain park ended %v %q", gone.End, gone.Reason)
	}
	o := a.waitOrbit(t, 701, "dark", free)
	if o.Left != telephony.LeftUnknown {
		t.Fatalf("orbit 701 = %+v: Asterisk never said how the call left", o)
	}
}

// TestAsteriskLampDarkBeforeParkDecided: the caller's lamp lights after
// the 200 sipfrag and goes dark again (the caller hung up at once)
// before the console has decided the park: the call took that orbit and
// has left it, so it leaves the lines as such, rather than a parked
// call on a dark orbit that nothing would ever end.
func TestAsteriskLampDarkBeforeParkDecided(t *testing.T) {
	x := startAsterisk(t, 701, 704)
	a := newConsole(t, "desk", 1000, x.templates("87{orbit}"))
	x.mu.Lock()
	x.afterPark = func(slot int) {
		seesLit(a, slot)()
		x.leave(slot)
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
	gone := a.waitState(t, call.ID, telephony.StateEnded)
	if gone.End != telephony.EndLeftOrbit || gone.Reason != "left orbit 701" {
		t.Fatalf("call ended %v %q, want left orbit 701", gone.End, gone.Reason)
	}
}

// TestAsteriskSilentReferProbed: the PBX accepts the REFER (202) and
// then says nothing, having taken the caller (the transferer's dialog
// is gone there). The console does not wait out its park timeout: it
// asks with an in-dialog OPTIONS, gets 481, and the call leaves the
// lines saying the PBX took it and where it may be.
func TestAsteriskSilentReferProbed(t *testing.T) {
	x := startAsterisk(t, 701, 704)
	x.mu.Lock()
	x.silentRefer = true
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
	gone := parkOutcome(t, a, call.ID)
	if gone.State != telephony.StateEnded || gone.End != telephony.EndParkUnconfirmed ||
		!strings.Contains(gone.Reason, "took Alice without saying how it went") || !strings.Contains(gone.Reason, "701") {
		t.Fatalf("call = %+v, want ended: the PBX took Alice, maybe on 701", gone)
	}
	if !slices.Contains(x.probed.All(), pc.callID) {
		t.Fatalf("no OPTIONS probe on the call's dialog: %v", x.probed.All())
	}
	if lost := x.hungUpSoFar(); len(lost) != 0 {
		t.Fatalf("asterisk lost %v", lost)
	}
}

// TestAsteriskRetrieveNamedFromMemoryAndPAI: a retrieve is named after
// the caller: by this console's memory of whom it parked there when the
// PBX's 200 names nobody, and by the P-Asserted-Identity (or
// Remote-Party-ID) of the re-INVITE that follows the bridge on a console
// that parked nothing.
func TestAsteriskRetrieveNamedFromMemoryAndPAI(t *testing.T) {
	x := startAsterisk(t, 701, 704)
	a := newConsole(t, "desk", 1000, x.templates("87{orbit}"))
	b := newConsole(t, "deskb", 1200, x.templates("87{orbit}"))
	a.waitParkService(t, true)
	b.waitParkService(t, true)
	x.waitSubscribed(t)
	for _, name := range []string{"Alice", "Bob", "Carol"} {
		_, leg := x.call(t, a.uri(), name, strings.ToLower(name))
		call := answeredFrom(t, a, name)
		siptest.Recv(t, name+" put through", leg)
		if err := a.Park(ctxT(t), call.ID, 0); err != nil {
			t.Fatal(err)
		}
		if got := a.waitState(t, call.ID, telephony.StateParkedAway); got.Orbit == 0 {
			t.Fatalf("%s parked = %+v", name, got)
		}
	}
	alice := x.slotOf("Alice")
	rid, err := a.Retrieve(ctxT(t), alice)
	if err != nil {
		t.Fatal(err)
	}
	got := a.waitState(t, rid, telephony.StateActive)
	if got.RemoteName != "Alice" || got.RetrievedFrom != alice {
		t.Fatalf("retrieve from memory = %+v", got)
	}

	x.mu.Lock()
	x.sendrpid = true
	x.mu.Unlock()
	bob := x.slotOf("Bob")
	b.waitOrbit(t, bob, "lit", func(o telephony.Orbit) bool { return o.Occupied })
	rid, err = b.Retrieve(ctxT(t), bob)
	if err != nil {
		t.Fatal(err)
	}
	named := b.waitCall(t, "retrieve named by the re-INVITE", func(c telephony.Call) bool {
		return c.ID == rid && c.State == telephony.StateActive && c.RemoteName == "Bob"
	})
	if !strings.HasPrefix(named.RemoteURI, "sip:bob@") || named.RetrievedFrom != bob {
		t.Fatalf("retrieve = %+v", named)
	}

	x.mu.Lock()
	x.rpidHeader = "Remote-Party-ID"
	x.mu.Unlock()
	carol := x.slotOf("Carol")
	b.waitOrbit(t, carol, "lit", func(o telephony.Orbit) bool { return o.Occupied })
	rid, err = b.Retrieve(ctxT(t), carol)
	if err != nil {
		t.Fatal(err)
	}
	b.waitCall(t, "retrieve named by Remote-Party-ID", func(c telephony.Call) bool {
		return c.ID == rid && c.State == telephony.StateActive && c.RemoteName == "Carol" && strings.HasPrefix(c.RemoteURI, "sip:carol@")
	})
}

// TestAsteriskComebackWhileStillLit: an unmarked call from a caller this
// console parked, while the orbit is still lit, is matched to the park
// (the PBX's INVITE may beat its lamp) but does not use the park up: if
// it was a new call, the real return that follows is still known as
// one.
func TestAsteriskComebackWhileStillLit(t *testing.T) {
	x := startAsterisk(t, 701, 704)
	a := newConsole(t, "desk", 1000, x.templates("87{orbit}"))
	a.waitParkService(t, true)
	x.waitSubscribed(t)
	_, leg := x.call(t, a.uri(), "Alice", "alice")
	call := answered(t, a)
	siptest.Recv(t, "alice put through", leg)
	if err := a.Park(ctxT(t), call.ID, 0); err != nil {
		t.Fatal(err)
	}
	parked := a.waitState(t, call.ID, telephony.StateParkedAway)
	a.waitOrbit(t, parked.Orbit, "lit with Alice", occupiedBy("Alice"))

	x.call(t, a.uri(), "Alice", "alice")
	again := a.waitCall(t, "alice calls again", func(c telephony.Call) bool {
		return c.State == telephony.StateRinging && c.RemoteName == "Alice" && c.ID != call.ID
	})
	if again.BackFrom != parked.Orbit {
		t.Fatalf("call while parked = %+v: the sip layer takes it for a return (the window judges it)", again)
	}
	if err := a.Reject(ctxT(t), again.ID); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, again.ID, telephony.StateEnded)

	x.comeback(t, a.uri(), parked.Orbit)
	back := a.waitCall(t, "alice comes back", func(c telephony.Call) bool {
		return c.State == telephony.StateRinging && c.RemoteName == "Alice" && c.ID != again.ID && c.ID != call.ID
	})
	if back.BackFrom != parked.Orbit {
		t.Fatalf("return = %+v, want back from %d", back, parked.Orbit)
	}
	if ended := a.waitState(t, call.ID, telephony.StateEnded); ended.End != telephony.EndLeftOrbit {
		t.Fatalf("parked call ended %v %q", ended.End, ended.Reason)
	}
}
