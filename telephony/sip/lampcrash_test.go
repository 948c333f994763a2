package sip_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// parkChildEnv carries the address a park service run in a child
// process (TestParkChildProcess) listens on.
const parkChildEnv = "SWITCHBOARD_TEST_PARK_CHILD"

// TestParkChildProcess is no test of its own: it is the park service
// another test runs in a process of its own, to kill it as a crash
// does. It runs until its stdin closes or it is killed.
func TestParkChildProcess(t *testing.T) {
	addr := os.Getenv(parkChildEnv)
	if addr == "" {
		t.Skip("a helper: runs only as a child of another test")
	}
	svc := siptest.StartPark(t, park.Options{Listen: addr, Orbits: telephony.Lot{First: 701, Last: 706}})
	fmt.Println("ready", svc.Instance())
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// startParkProcess runs a park service with orbits 701-706 on addr in a
// child process, and returns it once it listens; the test's end kills it.
func startParkProcess(t *testing.T, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestParkChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), parkChildEnv+"="+addr)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready ") {
				close(ready)
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		<-done
		_ = cmd.Wait()
	})
	select {
	case <-ready:
	case <-done:
		t.Fatal("the park service's process ended before it listened")
	case <-time.After(waitFor):
		t.Fatal("the park service's process never listened")
	}
	return cmd
}

// TestLampsHealAfterBackendCrash: the health probe reaches one park
// service (A); the lamps live on another (B), which crashes (killed: no
// final NOTIFY, no BYE) and comes back on the same address while A
// answers throughout. The console asks B for its X-Park-Instance and
// subscribes B's lamps again within a health interval, long before
// their refresh (600 s): the crashed service's caller goes dark and a
// park on the new B lights. Before, nothing told the console: its lamps
// showed the dead caller until their refresh.
func TestLampsHealAfterBackendCrash(t *testing.T) {
	a := startParkService(t, "", nil)
	addrB := fmt.Sprintf("127.0.0.1:%d", siptest.FreePort(t))
	crashing := startParkProcess(t, addrB)
	parkDirect(t, &parkFixture{addr: addrB}, "first", "park-702")
	c := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		(&parkFixture{addr: addrB}).templates(c)
		c.Park.Health = "sip:park@" + a.addr
		c.Park.LampExpiry = 600 * time.Second
		c.Park.LampRetryMax = time.Second
	})
	c.waitParkService(t, true)
	c.waitOrbit(t, 702, "lit by B", occupiedBy("First"))

	if err := crashing.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = crashing.Process.Wait()
	b2 := startParkService(t, addrB, nil)
	c.waitOrbit(t, 702, "dark after B's crash and restart", free)
	parkDirect(t, b2, "second", "park-704")
	c.waitOrbit(t, 704, "lit by the new B", occupiedBy("Second"))
	if !c.ParkAvailable() {
		t.Error("park service shown unavailable: A never stopped")
	}
}
