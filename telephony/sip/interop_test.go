package sip_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/baresip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// TestBaresipParkedAndRetrieved: Debian's baresip calls console A, A
// parks it on 702 (baresip follows the REFER), console B sees the lamp
// and retrieves it, and hears baresip's 440 Hz tone.
func TestBaresipParkedAndRetrieved(t *testing.T) {
	b := siptest.StartBaresip(t, baresip.Options{Display: "Bare Sip"})
	f := startParkService(t, "", nil)
	a := newConsole(t, "desk-a", 1000, f.templates)
	bc := newConsole(t, "desk-b", 1200, f.templates)
	a.waitParkService(t, true)
	bc.waitParkService(t, true)
	u := a.uri()
	if err := b.Dial(ctxT(t), u.String()); err != nil {
		t.Fatal(err)
	}
	call := answered(t, a)
	if call.RemoteName != "Bare Sip" {
		t.Fatalf("call = %+v", call)
	}
	a.hears(t, 440)
	if err := a.Park(ctxT(t), call.ID, 702); err != nil {
		t.Fatal(err)
	}
	if got := a.waitState(t, call.ID, telephony.StateParkedAway); got.Orbit != 702 || got.Relayed {
		t.Fatalf("parked = %+v", got)
	}
	o := bc.waitOrbit(t, 702, "lit with baresip", occupiedBy("Bare Sip"))
	// baresip drops Referred-By and eats percent escapes; the
	// escape-free parker-user/parker-host still name us.
	if o.Parker != a.AOR() {
		t.Fatalf("parker = %q, want %q (orbit %+v)", o.Parker, a.AOR(), o)
	}
	id, err := bc.Retrieve(ctxT(t), 702)
	if err != nil {
		t.Fatal(err)
	}
	if got := bc.waitState(t, id, telephony.StateActive); got.RemoteName != "Bare Sip" {
		t.Fatalf("retrieved = %+v", got)
	}
	bc.hears(t, 440)
	bc.waitOrbit(t, 702, "dark", free)
}

// TestBaresipRefusingReferIsRelayParked: baresip with call_transfer=no
// answers REFER with 501; the console parks it by relay.
func TestBaresipRefusingReferIsRelayParked(t *testing.T) {
	b := siptest.StartBaresip(t, baresip.Options{Display: "Stuck", AccountParams: ";call_transfer=no"})
	f := startParkService(t, "", nil)
	a := newConsole(t, "desk", 1000, f.templates)
	a.waitParkService(t, true)
	u := a.uri()
	if err := b.Dial(ctxT(t), u.String()); err != nil {
		t.Fatal(err)
	}
	call := answered(t, a)
	if err := a.Park(ctxT(t), call.ID, 703); err != nil {
		t.Fatal(err)
	}
	if got := a.waitState(t, call.ID, telephony.StateParkedAway); !got.Relayed || got.Orbit != 703 {
		t.Fatalf("parked = %+v", got)
	}
	a.waitOrbit(t, 703, "lit with baresip", occupiedBy("Stuck"))
	id, err := a.Retrieve(ctxT(t), 703)
	if err != nil || id != call.ID {
		t.Fatalf("retrieve of our own relayed park: %v, %s", err, id)
	}
	a.waitCall(t, "back on the line", func(c telephony.Call) bool {
		return c.ID == call.ID && c.State == telephony.StateActive && c.RetrievedFrom == 703
	})
	a.hears(t, 440)
	a.waitOrbit(t, 703, "dark", free)
}

// kamailio runs Debian's kamailio with testdata/kamailio.cfg on a free
// loopback port.
type kamailio struct {
	addr string
	cmd  *exec.Cmd
	out  *strings.Builder
	mu   sync.Mutex
	// exited is closed once the process is reaped (runKamailio's only).
	exited chan struct{}
}

func startKamailio(t *testing.T, password string) *kamailio {
	t.Helper()
	bin := siptest.NeedPeer(t, "kamailio")
	port := siptest.FreePort(t)
	cfg, err := os.ReadFile("testdata/kamailio.cfg")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	text := strings.ReplaceAll(string(cfg), "PASSWORD", password)
	text = strings.ReplaceAll(text, "PORT", strconv.Itoa(port))
	path := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &kamailio{addr: "127.0.0.1:" + strconv.Itoa(port), out: &strings.Builder{}}
	k.cmd = exec.Command(bin, "-f", path, "-DD", "-E", "-m", "32", "-M", "8", "-P", filepath.Join(dir, "k.pid"), "-Y", dir)
	w := &lockedWriter{mu: &k.mu, b: k.out}
	k.cmd.Stdout, k.cmd.Stderr = w, w
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
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
			k.mu.Lock()
			t.Logf("kamailio log:\n%s", k.out.String())
			k.mu.Unlock()
		}
	})
	deadline := time.Now().Add(waitFor)
	for {
		k.mu.Lock()
		ready := strings.Contains(k.out.String(), "INFO: <core> [main.c") || strings.Contains(k.out.String(), "Listening on")
		k.mu.Unlock()
		if ready {
			break
		}
		select {
		case <-exited:
			t.Fatalf("kamailio exited:\n%s", k.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("kamailio never started")
		}
	}
	k.waitTCP(t)
	return k
}

// waitTCP returns once kamailio accepts TCP connections on its address,
// where its log lists a TCP listener: its TCP main process listens a
// moment after the banner, and on a loaded machine a console that
// registered over TCP at once was refused and retried only after its
// retry interval (TestKamailioTCPAccount, "connection refused", in a
// busy full run). Its UDP socket is bound before the children fork, so
// a datagram sent early waits for them.
func (k *kamailio) waitTCP(t testing.TB) {
	t.Helper()
	if !strings.Contains(k.log(), "tcp: ") {
		return
	}
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", k.addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Since(start) > waitFor {
			t.Fatalf("kamailio never took TCP connections on %s: %v", k.addr, err)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestKamailioRegistrarAndProxy: the console registers to kamailio with
// digest auth; baresip calls the console's AOR through kamailio, the
// console answers, parks the call and another console retrieves it.
func TestKamailioRegistrarAndProxy(t *testing.T) {
	siptest.NeedPeer(t, "baresip")
	k := startKamailio(t, "s3cret")
	f := startParkService(t, "", nil)
	a := newConsole(t, "desk-a", 1000, func(c *sbsip.Config) {
		f.templates(c)
		c.Account = sbsip.Account{AOR: "sip:reception@" + k.addr, Password: "s3cret", Expiry: time.Minute}
	})
	bc := newConsole(t, "desk-b", 1200, f.templates)
	a.waitRegistration(t, telephony.RegistrationRegistered)
	a.waitParkService(t, true)
	bc.waitParkService(t, true)

	b := siptest.StartBaresip(t, baresip.Options{Display: "Via Proxy"})
	if err := b.Dial(ctxT(t), "sip:reception@"+k.addr); err != nil {
		t.Fatal(err)
	}
	call := answered(t, a)
	if call.RemoteName != "Via Proxy" {
		t.Fatalf("call = %+v", call)
	}
	a.hears(t, 440)
	if err := a.Park(ctxT(t), call.ID, 704); err != nil {
		t.Fatal(err)
	}
	if got := a.waitState(t, call.ID, telephony.StateParkedAway); got.Orbit != 704 {
		t.Fatalf("parked = %+v", got)
	}
	bc.waitOrbit(t, 704, "lit", occupiedBy("Via Proxy"))
	id, err := bc.Retrieve(ctxT(t), 704)
	if err != nil {
		t.Fatal(err)
	}
	bc.waitState(t, id, telephony.StateActive)
	bc.hears(t, 440)
	bc.waitOrbit(t, 704, "dark", free)
}

// TestKamailioWrongPassword: kamailio refuses the console's credentials
// by challenging them again (401), where the test registrar of
// TestRegistrationWrongPassword answers 403.
func TestKamailioWrongPassword(t *testing.T) {
	wantCredentialsRefused(t, startKamailio(t, "s3cret").addr)
}
