package park_test

import (
	"testing"

	"github.com/switchboard/switchboard/internal/siptest"
)

// TestRestartKeepsATCPCallerWithoutAProxy: a caller parked over TCP
// straight to the service (no record-routing proxy: the service's
// requests in its dialog went down the connection the phone opened, from
// an ephemeral port) and a bridged call over TCP are kept across a
// restart. The phones' connections close with the first service; the
// restored one reaches each phone on a new connection to its Contact
// (RFC 3261 §18: a client opens a connection when none exists): the
// restore's probe is answered, so the parked caller hears music again and
// stays on its orbit, a retrieve over TCP takes it off hold in its
// restored dialog (the re-INVITE) and the two hear each other, the
// retriever's BYE ends the caller's leg (the service's BYE), and a hang-up
// of the restored bridge's caller, sent on a connection the phone opens
// anew, is served and ends the other side.
func TestRestartKeepsATCPCallerWithoutAProxy(t *testing.T) {
	st, _ := openStore(t)
	same := sameAddresses(t, st)
	f1 := startPark(t, same)
	alice, err := newAgentOn(t, "tcp", "alice", nil).Call(t, f1.uri("park-711", "transport=tcp"))
	if err != nil {
		t.Fatalf("park over TCP: %v", err)
	}
	f1.log.wait(t, "parked", "orbit", "711")
	music := siptest.StartMedia(t, alice, 660) // the service drops it until a retrieve
	hearsMusic(t, music)
	// A bridged call over TCP: dan parked, rita retrieves.
	dan, err := newAgentOn(t, "tcp", "dan", nil).Call(t, f1.uri("park-712", "transport=tcp"))
	if err != nil {
		t.Fatalf("park over TCP: %v", err)
	}
	f1.log.wait(t, "parked", "orbit", "712")
	danMedia := siptest.StartMedia(t, dan, 440)
	rita, err := newAgentOn(t, "tcp", "rita", nil).Call(t, f1.uri("712", "transport=tcp"))
	if err != nil {
		t.Fatalf("retrieve over TCP: %v", err)
	}
	ritaMedia := siptest.StartMedia(t, rita, 1000)
	hears(t, danMedia, 1000)
	hears(t, ritaMedia, 440)

	f1.svc.Close()
	f2 := startPark(t, same)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the restarted service's events: %v", f2.log.All())
		}
	})
	f2.log.wait(t, "restored", "orbit", "711")
	hearsMusic(t, music)
	hears(t, danMedia, 1000)
	hears(t, ritaMedia, 440)
	// The restore's probe of every leg is answered over new connections:
	// nothing is lost.
	f2.log.wait(t, "probe answered", "orbit", "711")
	f2.log.Until(t, "the probes of both bridged legs answered", func(evs []map[string]string) bool {
		n := 0
		for _, e := range evs {
			if e["event"] == "probe answered" && e["dialog"] != "" {
				n++
			}
		}
		return n == 2
	})
	if n := f2.log.count("lost"); n != 0 {
		t.Fatalf("%d calls found lost after the restart, want none: %v", n, f2.log.All())
	}
	if p, b := f2.svc.Held(); p != 1 || b != 1 {
		t.Fatalf("Held() after the restart = %d parked, %d bridged; want 1, 1", p, b)
	}

	// Retrieve 711 over TCP: alice is taken off hold in her restored
	// dialog and the two hear each other.
	bob, err := newAgentOn(t, "tcp", "bob", nil).Call(t, f2.uri("711", "transport=tcp"))
	if err != nil {
		t.Fatalf("retrieve of the restored 711 over TCP: %v", err)
	}
	f2.log.wait(t, "taken off hold", "orbit", "711")
	bobMedia := siptest.StartMedia(t, bob, 880)
	hears(t, music, 880)
	hears(t, bobMedia, 660)
	// Bob hangs up: alice gets the service's BYE in her restored dialog.
	hangup(t, bob)
	ended(t, "the BYE of 711's restored TCP caller", alice)
	// Dan hangs up the restored bridge on a new connection of his: rita
	// gets her BYE.
	hangup(t, dan)
	ended(t, "the BYE of the restored TCP bridge's other side", rita)
}
