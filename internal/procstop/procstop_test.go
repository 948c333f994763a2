//go:build unix

package procstop_test

import (
	"bufio"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/procstop"
)

// start runs script under sh and returns once it printed its first line;
// exited closes after Wait.
func start(t *testing.T, script string) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("no first line: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	return cmd, exited
}

// signal is the signal that ended cmd; -1 when none did.
func signal(cmd *exec.Cmd) syscall.Signal {
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return -1
	}
	return ws.Signal()
}

// TestStopTerminates: a process that heeds SIGTERM ends by it, within
// the grace period (an hour: it is never used up).
func TestStopTerminates(t *testing.T) {
	cmd, exited := start(t, "echo ready; exec sleep 600")
	procstop.Stop(cmd.Process, exited, time.Hour)
	if got := signal(cmd); got != syscall.SIGTERM {
		t.Fatalf("ended by signal %v (%v), want SIGTERM", got, cmd.ProcessState)
	}
}

// TestStopKillsAfterGrace: a process that ignores SIGTERM is killed once
// the grace period is over.
func TestStopKillsAfterGrace(t *testing.T) {
	cmd, exited := start(t, `trap "" TERM; echo ready; exec sleep 600`)
	procstop.Stop(cmd.Process, exited, 10*time.Millisecond)
	if got := signal(cmd); got != syscall.SIGKILL {
		t.Fatalf("ended by signal %v (%v), want SIGKILL", got, cmd.ProcessState)
	}
}

// TestStopExited: for a process that has ended, Stop returns at once.
func TestStopExited(t *testing.T) {
	cmd, exited := start(t, "echo ready")
	<-exited
	procstop.Stop(cmd.Process, exited, time.Hour)
	if !cmd.ProcessState.Success() {
		t.Fatalf("state %v", cmd.ProcessState)
	}
}
