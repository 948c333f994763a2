package sip_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// kamailioModules is where Debian's kamailio package puts its modules.
const kamailioModules = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"

// splitLotLampExpiry is the lamp subscription the consoles ask for
// behind the proxy: a refresh every 8 s (80 %), the lamp refresh cycle
// docs/BENCHMARKS.md measures the heal after a backend's restart with.
const splitLotLampExpiry = 10 * time.Second

// runKamailio runs kamailio with the configuration text cfg (written to
// dir) and returns once it listens; the test's end stops it and prints
// its log if the test failed.
func runKamailio(t *testing.T, addr, dir, cfg string) *kamailio {
	t.Helper()
	bin := siptest.NeedPeer(t, "kamailio")
	path := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &kamailio{addr: addr, out: &strings.Builder{}}
	k.cmd = exec.Command(bin, "-f", path, "-DD", "-E", "-m", "32", "-M", "8", "-P", filepath.Join(dir, "k.pid"), "-Y", dir)
	w := &lockedWriter{mu: &k.mu, b: k.out}
	k.cmd.Stdout, k.cmd.Stderr = w, w
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	k.exited = exited
	go func() { _ = k.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("kamailio log:\n%s", k.log())
		}
	})
	// Its configuration taken (the fixups done), it forks its children.
	for start := time.Now(); !strings.Contains(k.log(), "main(): processes"); time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("kamailio exited:\n%s", k.log())
		default:
		}
		if time.Since(start) > waitFor {
			t.Fatal("kamailio never started")
		}
	}
	k.waitTCP(t)
	return k
}

// kill ends a kamailio runKamailio started as a crash would (SIGKILL to
// its process group: no child lives on) and returns once it is reaped.
func (k *kamailio) kill(t testing.TB) {
	t.Helper()
	_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-k.exited:
	case <-time.After(waitFor):
		t.Fatal("kamailio killed but never reaped")
	}
}

// waitLog waits until kamailio's log satisfies ok.
func (k *kamailio) waitLog(t testing.TB, what string, ok func(string) bool) {
	t.Helper()
	for start := time.Now(); !ok(k.log()); time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > waitFor {
			t.Fatalf("kamailio: %s: not in its log", what)
		}
	}
}

// startKamailioPark runs docs/kamailio-park.cfg on port with the
// dispatcher list docs/kamailio-park.list naming parkd A and B (host:port)
// on transport.
func startKamailioPark(t *testing.T, port int, transport, parkdA, parkdB string) *kamailio {
	t.Helper()
	cfg, err := os.ReadFile("../../docs/kamailio-park.cfg")
	if err != nil {
		t.Fatal(err)
	}
	list, err := os.ReadFile("../../docs/kamailio-park.list")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	listPath := filepath.Join(dir, "dispatcher.list")
	listText := strings.NewReplacer("PARKD_A", parkdA, "PARKD_B", parkdB, "TRANSPORT", transport).Replace(string(list))
	if err := os.WriteFile(listPath, []byte(listText), 0o644); err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("PROXY_IP", "127.0.0.1", "PROXY_PORT", strconv.Itoa(port),
		"DISPATCHER_LIST", listPath, "MODULES_DIR", kamailioModules).Replace(string(cfg))
	return runKamailio(t, "127.0.0.1:"+strconv.Itoa(port), dir, text)
}

// behindProxy configures a console whose park service is the lot
// 701-720 behind the proxy at addr, reached over transport.
func behindProxy(addr, transport string) func(*sbsip.Config) {
	return func(c *sbsip.Config) {
		h := "@" + addr
		tp := ""
		if transport != "udp" {
			tp = ";transport=" + transport
		}
		c.Park = sbsip.ParkConfig{
			ParkAny:      "sip:park" + h + tp,
			ParkOrbit:    "sip:park-{orbit}" + h + tp,
			Retrieve:     "sip:{orbit}" + h + tp,
			SafeRetrieve: "sip:{orbit}" + h + tp + ";token={token}",
			Lamp:         "sip:{orbit}" + h + tp,
			Health:       "sip:park" + h + tp,
			Orbits:       telephony.Lot{First: 701, Last: 720},
			// Longer than the proxy's 2 s for a parkd that does not
			// answer: the probe gets the other parkd's answer.
			HealthInterval: 3 * time.Second,
			LampExpiry:     splitLotLampExpiry,
			LampRetryMax:   time.Second,
			Timeout:        waitFor,
		}
	}
}

// TestKamailioSplitLot: Debian's kamailio with docs/kamailio-park.cfg
// (record_route, loose_route only for in-dialog requests, the dispatcher
// probing with OPTIONS) in front of two park services, A owning orbits
// 701-710 and B 711-720, each a process of its own with the proxy as its
// outbound proxy; two consoles reach the lot only through the proxy, over
// UDP and over TCP. Parks by REFER and retrieves go to the right service,
// the lamps light and go dark on both consoles, park-any overflows from a
// full A to B (486 lot-full, failover), B crashes and new parks go to A,
// B comes back and the consoles' lamps for it are right again, a
// ring-back from the restarted B reaches its parker through the proxy,
// and the lamps' refreshes go through the proxy along the route set.
func TestKamailioSplitLot(t *testing.T) {
	siptest.NeedPeer(t, "kamailio")
	for _, tr := range []string{"udp", "tcp"} {
		t.Run(tr, func(t *testing.T) { testKamailioSplitLot(t, tr) })
	}
}

func testKamailioSplitLot(t *testing.T, tr string) {
	kport := siptest.FreePort(t)
	kaddr := "127.0.0.1:" + strconv.Itoa(kport)
	proxy := "sip:" + kaddr + ";transport=" + tr
	addrA := "127.0.0.1:" + strconv.Itoa(siptest.FreePort(t))
	addrB := "127.0.0.1:" + strconv.Itoa(siptest.FreePort(t))
	lotA, lotB := telephony.Lot{First: 701, Last: 710}, telephony.Lot{First: 711, Last: 720}
	startParkProcess(t, parkChild{Listen: addrA, Orbits: lotA, OutboundProxy: proxy})
	procB := startParkProcess(t, parkChild{Listen: addrB, Orbits: lotB, OutboundProxy: proxy})
	k := startKamailioPark(t, kport, tr, addrA, addrB)

	desk := newConsole(t, "desk-a", 1000, behindProxy(kaddr, tr))
	deskB := newConsole(t, "desk-b", 1200, behindProxy(kaddr, tr))
	desk.waitParkService(t, true)
	deskB.waitParkService(t, true)
	both := func(n int, what string, ok func(telephony.Orbit) bool) {
		t.Helper()
		desk.waitOrbit(t, n, what, ok)
		deskB.waitOrbit(t, n, what, ok)
	}

	// A park by REFER on A's orbit, through the proxy; B retrieves it.
	alice, aliceCall := onConsole(t, desk, "alice", tr)
	if err := desk.Park(ctxT(t), aliceCall.ID, 705); err != nil {
		t.Fatal(err)
	}
	desk.waitState(t, aliceCall.ID, telephony.StateParkedAway)
	siptest.Recv(t, "alice follows the REFER", alice.referred)
	both(705, "lit with Alice", occupiedBy("Alice"))
	id, err := deskB.Retrieve(ctxT(t), 705)
	if err != nil {
		t.Fatal(err)
	}
	if got := deskB.waitState(t, id, telephony.StateActive); got.RemoteName != "Alice" {
		t.Fatalf("desk-b retrieved %+v, want Alice", got)
	}
	both(705, "dark after the retrieve", free)
	if err := deskB.Hangup(ctxT(t), id); err != nil {
		t.Fatal(err)
	}

	// A park by REFER on B's orbit, from the other console.
	bob, bobCall := onConsole(t, deskB, "bob", tr)
	if err := deskB.Park(ctxT(t), bobCall.ID, 716); err != nil {
		t.Fatal(err)
	}
	deskB.waitState(t, bobCall.ID, telephony.StateParkedAway)
	siptest.Recv(t, "bob follows the REFER", bob.referred)
	both(716, "lit with Bob", occupiedBy("Bob"))

	// A full: park-any goes to B, whichever the round robin tries first.
	var fill []*siptest.Call
	for i := range lotA.Size() {
		pr := &peer{Agent: siptest.NewAgent(t, fmt.Sprintf("fill%d", i), siptest.AgentOptions{Transport: tr})}
		fill = append(fill, siptest.Recv(t, "a filler parked", pr.dial(t, orbitURI(t, "park", addrA+";transport="+tr), false)))
	}
	for n := lotA.First; n <= lotA.Last; n++ {
		desk.waitOrbit(t, n, "lit by a filler", func(o telephony.Orbit) bool { return o.Occupied })
	}
	var overflow []int
	for _, name := range []string{"carol", "dave"} {
		pr, call := onConsole(t, desk, name, tr)
		if err := desk.Park(ctxT(t), call.ID, 0); err != nil {
			t.Fatal(err)
		}
		parked := desk.waitCall(t, name+" parked", func(c telephony.Call) bool {
			return c.ID == call.ID && c.State == telephony.StateParkedAway && c.Orbit != 0
		})
		siptest.Recv(t, name+" follows the REFER", pr.referred)
		if !lotB.Contains(parked.Orbit) {
			t.Fatalf("%s parked on %d with A full, want B's %s", name, parked.Orbit, lotB)
		}
		overflow = append(overflow, parked.Orbit)
	}
	if !strings.Contains(k.log(), "failed over (486)") {
		t.Error("no park-any failed over from A's 486 (lot full) to B")
	}
	for _, c := range fill {
		_ = c.Hangup(ctxT(t))
		_ = c.Close()
	}
	for n := lotA.First; n <= lotA.Last; n++ {
		both(n, "dark after the fillers left", free)
	}

	// B crashes: new parks go to A.
	procB.kill(t)
	crashed := time.Now()
	var toA time.Duration
	for _, name := range []string{"erin", "frank"} {
		pr, call := onConsole(t, desk, name, tr)
		if err := desk.Park(ctxT(t), call.ID, 0); err != nil {
			t.Fatal(err)
		}
		parked := desk.waitCall(t, name+" parked", func(c telephony.Call) bool {
			return c.ID == call.ID && c.State == telephony.StateParkedAway && c.Orbit != 0
		})
		siptest.Recv(t, name+" follows the REFER", pr.referred)
		if !lotA.Contains(parked.Orbit) {
			t.Fatalf("%s parked on %d with B down, want A's %s", name, parked.Orbit, lotA)
		}
		if toA == 0 {
			toA = time.Since(crashed)
		}
	}
	t.Logf("%s: first park after B's crash confirmed on A %s after the crash", tr, toA)

	// B comes back (with a short park time, for the ring-back): the
	// consoles' lamps of B's orbits drop the crashed service's calls.
	startParkProcess(t, parkChild{Listen: addrB, Orbits: lotB, OutboundProxy: proxy, ParkTime: 2 * time.Second})
	restarted := time.Now()
	for _, n := range append([]int{716}, overflow...) {
		both(n, "dark after B's restart", free)
	}
	healed := time.Since(restarted)
	t.Logf("%s: lamps of the restarted backend right on both consoles %s after its restart (lamp expiry %s)", tr, healed, splitLotLampExpiry)

	// A park on the new B rings its parker back through the proxy.
	gina, ginaCall := onConsole(t, deskB, "gina", tr)
	if err := deskB.Park(ctxT(t), ginaCall.ID, 715); err != nil {
		t.Fatal(err)
	}
	siptest.Recv(t, "gina follows the REFER", gina.referred)
	both(715, "lit with Gina", occupiedBy("Gina"))
	back := deskB.waitCall(t, "the ring-back", func(c telephony.Call) bool {
		return c.ID != ginaCall.ID && c.State == telephony.StateRinging && c.RemoteName == "Gina"
	})
	if err := deskB.Answer(ctxT(t), back.ID); err != nil {
		t.Fatal(err)
	}
	if got := deskB.waitState(t, back.ID, telephony.StateActive); got.RemoteName != "Gina" {
		t.Fatalf("ring-back answered: %+v, want Gina", got)
	}
	if !strings.Contains(k.log(), "relaying INVITE to sip:desk-b@") {
		t.Error("the ring-back did not go through the proxy")
	}

	// Refreshes in the subscriptions' dialogs, through the proxy.
	k.waitLog(t, "a lamp refresh", func(log string) bool { return strings.Contains(log, "in-dialog SUBSCRIBE lamp-") })
}

// onConsole has a caller named name call console c over transport and c
// answer; the caller follows REFERs (over the same transport).
func onConsole(t *testing.T, c *console, name, transport string) (*peer, telephony.Call) {
	t.Helper()
	pr := &peer{incoming: make(chan *siptest.Answered, 8), referred: make(chan *siptest.Call, 8)}
	pr.Agent = siptest.NewAgent(t, name, siptest.AgentOptions{Transport: transport, Logger: testLogger(t, name)})
	u := c.uri()
	if transport != "udp" {
		u.Port = int(c.Addr(transport).Port())
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", transport)
	}
	d := pr.dial(t, u, true)
	in := c.waitCall(t, name+" ringing", func(cl telephony.Call) bool {
		return cl.State == telephony.StateRinging && strings.HasPrefix(cl.RemoteURI, "sip:"+name+"@")
	})
	if err := c.Answer(ctxT(t), in.ID); err != nil {
		t.Fatal(err)
	}
	call := c.waitState(t, in.ID, telephony.StateActive)
	siptest.Recv(t, name+" answered", d)
	return pr, call
}

// orbitURI is sip:user@addr.
func orbitURI(t *testing.T, user, addr string) sip.Uri {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri("sip:"+user+"@"+addr, &u); err != nil {
		t.Fatal(err)
	}
	return u
}
