package sip_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/baresip"
	"github.com/switchboard/switchboard/internal/needpeer"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// debianDBText is where Debian's kamailio package keeps the empty
// db_text tables.
const debianDBText = "/usr/share/kamailio/dbtext/kamailio/"

// presenceTables are the db_text tables docs/kamailio-presence.cfg's
// modules open.
var presenceTables = []string{"version", "presentity", "active_watchers", "watchers", "pua"}

// startKamailioPresence runs docs/kamailio-presence.cfg on port, its
// db_text tables in dbDir (copied from Debian's empty ones when not
// there yet).
func startKamailioPresence(t *testing.T, port int, dbDir string) *kamailio {
	t.Helper()
	siptest.NeedPeer(t, "kamailio")
	needpeer.File(t, kamailioModules+"presence_dialoginfo.so", "kamailio's presence modules", "kamailio-presence-modules")
	cfg, err := os.ReadFile("../../docs/kamailio-presence.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, table := range presenceTables {
		dst := filepath.Join(dbDir, table)
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		b, err := os.ReadFile(debianDBText + table)
		if err != nil {
			t.Fatalf("kamailio's db_text tables: %v", err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := strings.NewReplacer("PROXY_IP", "127.0.0.1", "PROXY_PORT", strconv.Itoa(port),
		"DB_DIR", dbDir, "MODULES_DIR", kamailioModules).Replace(string(cfg))
	return runKamailio(t, "127.0.0.1:"+strconv.Itoa(port), t.TempDir(), text)
}

// registered waits for baresip's n-th successful registration.
func registered(t *testing.T, b *baresip.Baresip, n int) {
	t.Helper()
	seen := 0
	if _, err := b.WaitEvent(ctxT(t), func(e baresip.Event) bool {
		if e.Type == "REGISTER_OK" {
			seen++
		}
		return seen >= n
	}); err != nil {
		t.Fatalf("baresip never registered (%d): %v", n, err)
	}
}

// registrations counts baresip's successful registrations so far.
func registrations(b *baresip.Baresip) int {
	n := 0
	for _, e := range b.Events() {
		if e.Type == "REGISTER_OK" {
			n++
		}
	}
	return n
}

// TestKamailioPresence: Debian's kamailio with docs/kamailio-presence.cfg
// is registrar, proxy and presence server (dialog + pua_dialoginfo
// publishing into presence + presence_dialoginfo). Bob (extension 201)
// is Debian's baresip registered there; the console watches him at the
// presence server as -presence-server makes it (sip:201@host:port). A
// caller calls 201 through kamailio: bob is idle, then ringing while
// baresip rings, busy once it answers, idle when it hangs up. Kamailio
// then crashes (its subscriptions lost): bob is unknown while it is
// down, the console subscribes again to the new kamailio and shows him
// idle, and a second call lights him again. Restarted at once (no
// downtime to notice), kamailio answers the console's refresh 481: it
// subscribes anew and a third call lights bob.
func TestKamailioPresence(t *testing.T) {
	siptest.NeedPeer(t, "baresip")
	kport := siptest.FreePort(t)
	kaddr := "127.0.0.1:" + strconv.Itoa(kport)
	dbDir := filepath.Join(t.TempDir(), "db")
	k := startKamailioPresence(t, kport, dbDir)

	// Bob registers every few seconds, so that he is found again soon
	// after kamailio's crash (it keeps registrations in memory).
	bob := siptest.StartBaresip(t, baresip.Options{User: "201", Display: "Bob Chen", Registrar: kaddr, RegInt: 4 * time.Second})
	registered(t, bob, 1)

	desk := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		// Refreshed every 3.2 s: a crash of the server is noticed soon.
		c.Park.LampExpiry = 4 * time.Second
		c.Park.LampRetryMax = time.Second
	})
	target := "sip:201@" + kaddr // app's presenceTarget with -presence-server
	desk.Watch([]string{target})
	var m presenceMark
	if got := desk.waitPresence(t, &m, target, telephony.PresenceIdle); got.Fault != telephony.LampKnown {
		t.Fatalf("bob idle: %+v", got)
	}

	callBob := func(round string) {
		t.Helper()
		alice := newPeer(t, "alice-"+round, nil)
		answered := alice.dial(t, orbitURI(t, "201", kaddr), false)
		if _, err := bob.WaitEvent(ctxT(t), func(e baresip.Event) bool {
			return e.Type == "CALL_INCOMING" && strings.Contains(e.PeerURI, "alice-"+round)
		}); err != nil {
			t.Fatal(err)
		}
		rang := time.Now()
		desk.waitPresence(t, &m, target, telephony.PresenceRinging)
		ringing := time.Since(rang)
		accepted := time.Now()
		if _, err := bob.Command(ctxT(t), "accept", ""); err != nil {
			t.Fatal(err)
		}
		call := siptest.Recv(t, "bob answers", answered)
		desk.waitPresence(t, &m, target, telephony.PresenceBusy)
		busy := time.Since(accepted)
		onCall := m.n
		// Both ends talk: the lamp follows a real call, not a ring.
		siptest.StartMedia(t, call, 0).WaitTone(t, "the caller hears bob (baresip's 440 Hz)", 440)
		hungUp := time.Now()
		if err := bob.Hangup(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		desk.waitPresence(t, &m, target, telephony.PresenceIdle)
		t.Logf("round %s: ringing %s after baresip reported the call (0: before it, from the INVITE), busy %s after it was told to answer, idle %s after it hung up",
			round, ringing.Round(time.Millisecond), busy.Round(time.Millisecond), time.Since(hungUp).Round(time.Millisecond))
		if got, ok := desk.Presence(target); !ok || got != telephony.PresenceIdle {
			t.Fatalf("Presence(bob) = %s, %v; want idle", got, ok)
		}
		// Busy all through the call: pua_dialoginfo's early publication
		// landing after its confirmed one (it does, under load) is not a
		// new ring.
		for _, ev := range desk.events.All()[onCall:m.n] {
			if pc, ok := ev.(telephony.PresenceChanged); ok && pc.Target == target && pc.Presence != telephony.PresenceBusy && pc.Presence != telephony.PresenceIdle {
				t.Fatalf("bob on the call shown %s", pc.Presence)
			}
		}
	}
	callBob("1")

	// Kamailio crashes: the refresh finds nobody and bob is unknown.
	k.kill(t)
	crashed := time.Now()
	if got := desk.waitPresence(t, &m, target, telephony.PresenceUnknown); got.Fault == telephony.LampKnown {
		t.Fatalf("bob while kamailio is down: %+v, want a fault", got)
	}
	regs := registrations(bob)
	unknown := time.Since(crashed)
	k = startKamailioPresence(t, kport, dbDir)
	started := time.Now()
	if got := desk.waitPresence(t, &m, target, telephony.PresenceIdle); got.Fault != telephony.LampKnown {
		t.Fatalf("bob after kamailio's restart: %+v", got)
	}
	t.Logf("kamailio crashed: bob unknown %s after (lamp expiry 4 s), known again %s after its start",
		unknown.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
	k.waitLog(t, "the console's new subscription", func(log string) bool {
		return strings.Contains(log, "SUBSCRIBE dialog to "+target)
	})
	registered(t, bob, regs+1)
	callBob("2")

	// Kamailio restarted at once (it forgot the subscription): the
	// console's next refresh is answered 481 and it subscribes anew.
	k.kill(t)
	regs = registrations(bob)
	k = startKamailioPresence(t, kport, dbDir)
	k.waitLog(t, "the console's subscription after a quick restart", func(log string) bool {
		return strings.Contains(log, "SUBSCRIBE dialog to "+target)
	})
	registered(t, bob, regs+1)
	callBob("3")
}
