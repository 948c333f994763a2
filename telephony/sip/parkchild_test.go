package sip_test

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park"
)

// parkChildEnv carries the options of a park service run in a child
// process (TestParkChildProcess), as JSON.
const parkChildEnv = "SWITCHBOARD_TEST_PARK_CHILD"

// parkChild is what a park service in a child process is started with.
type parkChild struct {
	Listen        string        `json:"listen"`
	Orbits        telephony.Lot `json:"orbits"`
	OutboundProxy string        `json:"outbound_proxy,omitempty"`
	ParkTime      time.Duration `json:"park_time,omitempty"`
	RingbackTime  time.Duration `json:"ringback_time,omitempty"`
}

// TestParkChildProcess is no test of its own: it is the park service
// another test runs in a process of its own, to kill it as a crash
// does. It runs until its stdin closes or it is killed.
func TestParkChildProcess(t *testing.T) {
	env := os.Getenv(parkChildEnv)
	if env == "" {
		t.Skip("a helper: runs only as a child of another test")
	}
	var pc parkChild
	if err := json.Unmarshal([]byte(env), &pc); err != nil {
		t.Fatal(err)
	}
	svc := siptest.StartPark(t, park.Options{Listen: pc.Listen, Orbits: pc.Orbits, OutboundProxy: pc.OutboundProxy,
		ParkTime: pc.ParkTime, RingbackTime: pc.RingbackTime, Logger: testLogger(t, "park-"+pc.Listen)})
	os.Stdout.WriteString("ready " + svc.Instance() + "\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// parkProcess is a park service running in a child process.
type parkProcess struct {
	addr     string
	instance string
	cmd      *exec.Cmd
	stdin    io.Closer
	done     chan struct{}
}

// startParkProcess runs a park service with pc in a child process and
// returns it once it listens; the test's end stops it.
func startParkProcess(t *testing.T, pc parkChild) *parkProcess {
	t.Helper()
	env, err := json.Marshal(pc)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestParkChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), parkChildEnv+"="+string(env))
	cmd.Stderr = os.Stderr
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
	pp := &parkProcess{addr: pc.Listen, cmd: cmd, stdin: stdin, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		defer close(pp.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				ready <- id
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(pp.stop)
	select {
	case pp.instance = <-ready:
	case <-pp.done:
		t.Fatal("the park service's process ended before it listened")
	case <-time.After(waitFor):
		t.Fatal("the park service's process never listened")
	}
	return pp
}

// kill ends the park service as a crash does: no final NOTIFY, no BYE.
func (pp *parkProcess) kill(t testing.TB) {
	t.Helper()
	if err := pp.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-pp.done
	_ = pp.cmd.Wait()
}

// stop ends the process (its stdin closed, then killed) and reaps it.
func (pp *parkProcess) stop() {
	_ = pp.stdin.Close()
	_ = pp.cmd.Process.Kill()
	<-pp.done
	_ = pp.cmd.Wait()
}
