package sip_test

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park"
	"github.com/switchboard/switchboard/telephony/park/store"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// TestParkedCallLostInRestart: the park service holding Alice, whom
// console A parked, stops and comes back on its address with a new
// instance but without her (its store did not keep her: here a fresh
// one). A subscribes again, her orbit comes back free, and its lamp
// says how: lost when the park service stopped, not "left"; A's parked
// call ends as EndLostInRestart. Bob, parked after the restart and
// hanging up, still gave up. Before, the orbit said nothing (LeftUnknown)
// and the call ended as EndLeftOrbit (issue 15).
func TestParkedCallLostInRestart(t *testing.T) {
	withStore := func(t *testing.T) func(*park.Options) {
		st, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return func(o *park.Options) { o.Store = st }
	}
	f := startParkService(t, "", withStore(t))
	a := newConsole(t, "desk-a", 1000, f.templates)
	a.waitParkService(t, true)

	alice, call, _ := aliceOn(t, a, true)
	if err := a.Park(ctxT(t), call.ID, 701); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, call.ID, telephony.StateParkedAway)
	siptest.Recv(t, "alice follows the REFER", alice.referred)
	a.waitOrbit(t, 701, "lit with Alice, parked here", func(o telephony.Orbit) bool { return o.Occupied && o.ParkedByMe })

	f.svc.Close() // kept in its store: no BYE, no lamp change
	startParkService(t, f.addr, withStore(t))
	o := a.waitOrbit(t, 701, "free after the restart", free)
	if o.Left != telephony.LeftServiceStopped || o.Left.String() != "lost when the park service stopped" {
		t.Errorf("orbit 701 left as %v (%q), want LeftServiceStopped", o.Left, o.Left)
	}
	ended := a.waitState(t, call.ID, telephony.StateEnded)
	if ended.End != telephony.EndLostInRestart {
		t.Errorf("Alice's parked call ended as %v (%q), want EndLostInRestart", ended.End, ended.Reason)
	}
}

// TestRestartNotedBeforeStart: a console told before it starts that its
// park service has just restarted (its built-in one, restored with it)
// shows a call the service lost before the console's lamps ever saw it
// as lost in the restart. The restored service probes at once, so its
// first lamp state can reach the phone while Start runs: noted after
// Start, the orbit could say "the phone stopped answering" instead (a
// busy run of the attendant's reopen test did, 2026-12-07).
func TestRestartNotedBeforeStart(t *testing.T) {
	f := startParkService(t, "", func(o *park.Options) { o.ProbeInterval = 200 * time.Millisecond })
	parkForgetful(t, f, "erin", 701)
	for deadline := time.Now().Add(waitFor); ; time.Sleep(10 * time.Millisecond) {
		if o, _ := f.svc.Orbit(701); !o.Occupied && o.Last != nil && o.Last.How == park.ExitLost {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the service did not lose Erin")
		}
	}
	c := newConsoleBefore(t, "desk-c", 1000, f.templates, func(p *sbsip.Phone) { p.NoteParkRestart() })
	o := c.waitOrbit(t, 701, "free, Erin's call told", func(o telephony.Orbit) bool { return free(o) && o.Left != telephony.LeftUnknown })
	if o.Left != telephony.LeftServiceStopped {
		t.Errorf("orbit 701 left as %v (%q), want LeftServiceStopped", o.Left, o.Left)
	}
}
