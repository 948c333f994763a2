package main

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/internal/needpeer"
)

// ringing counts the ringing lines.
func ringing(s *app.Snapshot) int {
	n := 0
	for _, l := range s.Lines {
		if l.State == "ringing" {
			n++
		}
	}
	return n
}

// stopConsole ends the console with SIGTERM, as a session's logout does.
func stopConsole(t *testing.T, c *console) {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(20 * time.Second):
		t.Error("the console did not exit on SIGTERM")
	}
}

// TestRealWindowQueueAndCallLog: demo callers ring a real window; it
// photographs the queue (several waiting, the count in the Lines
// heading), answers and hangs up two of them with the keys, parks a
// third with P, and photographs the call log once it holds them (issue
// 13: screenshots of the queue and the call log).
func TestRealWindowQueueAndCallLog(t *testing.T) {
	x := startX(t, "queue")
	c := startConsole(t, x, "-demo", "-demo-interval", "1s", "-demo-max", "4", "-demo-giveup", "0", "-demo-seed", "7",
		"-listen", "127.0.0.1:0", "-park-listen", "127.0.0.1:0", "-audio", "none")
	c.waitEvent(t, "first-frame", 60*time.Second)
	win := c.window(t, x)
	c.wait(t, "three callers waiting", 60*time.Second, func(s *app.Snapshot) bool { return ringing(s) >= 3 })
	x.shot(t, "waiting")

	for i := range 2 {
		x.xdo(t, "key", "--window", win, "Return")
		s := c.wait(t, "a call answered", 15*time.Second, func(s *app.Snapshot) bool { _, ok := lineNamed(s, "active"); return ok })
		l, _ := lineNamed(s, "active")
		x.xdo(t, "key", "--window", win, "Escape")
		c.wait(t, "the hang-up asked", 10*time.Second, func(s *app.Snapshot) bool { return s.Confirm != "" })
		x.xdo(t, "key", "--window", win, "y")
		c.wait(t, "call "+strconv.Itoa(i+1)+" hung up and logged", 15*time.Second, func(s *app.Snapshot) bool {
			_, live := lineNamed(s, "active")
			return !live && contains(s.History, "Answered "+l.Name)
		})
	}
	// A third is answered and parked with P on the first free orbit.
	x.xdo(t, "key", "--window", win, "Return")
	s := c.wait(t, "a third call answered", 15*time.Second, func(s *app.Snapshot) bool { _, ok := lineNamed(s, "active"); return ok })
	parked, _ := lineNamed(s, "active")
	x.xdo(t, "key", "--window", win, "p")
	c.wait(t, "the call log holding the three calls", 15*time.Second, func(s *app.Snapshot) bool {
		n := 0
		for _, h := range s.History {
			if strings.HasPrefix(h, "Answered ") {
				n++
			}
		}
		return n >= 2 && contains(s.History, "Parked "+parked.Name+" on 701") && orbitOf(s, 701).State == "mine"
	})
	time.Sleep(500 * time.Millisecond) // for the picture only: the window's next frames
	x.shot(t, "call-log")
	stopConsole(t, c)
}

// startDunst runs a real notification service (dunst) on x's display
// and D-Bus session, and waits until it answers.
func startDunst(t *testing.T, x *x11) {
	t.Helper()
	dunst := needpeer.Program(t, "dunst", "dunstctl")
	cmd := exec.Command(dunst)
	cmd.Env = x.env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if out, err := dunstctl(x, "is-paused"); err == nil && out == "false" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("dunst never answered on the session bus")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func dunstctl(x *x11, args ...string) (string, error) {
	cmd := exec.Command("dunstctl", args...)
	cmd.Env = x.env
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// waitShown waits until dunst shows n notifications.
func waitShown(t *testing.T, x *x11, n int) {
	t.Helper()
	want := strconv.Itoa(n)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := dunstctl(x, "count", "displayed")
		if err == nil && out == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dunst shows %q notifications (%v), want %d", out, err, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRealWindowNotificationAnswers: with a real notification service
// (dunst) on the session bus, a ringing demo caller's notification
// offers Answer; choosing it (dunstctl action, as a click) answers the
// call in the console, and the notification is withdrawn.
func TestRealWindowNotificationAnswers(t *testing.T) {
	x := startX(t, "notification")
	startDunst(t, x)
	c := startConsole(t, x, "-demo", "-demo-interval", "1s", "-demo-max", "1", "-demo-giveup", "0", "-demo-seed", "7",
		"-listen", "127.0.0.1:0", "-park-listen", "127.0.0.1:0", "-audio", "none")
	c.waitEvent(t, "first-frame", 60*time.Second)
	s := c.wait(t, "a ringing call", 60*time.Second, func(s *app.Snapshot) bool { return ringing(s) == 1 })
	call, _ := lineNamed(s, "ringing")
	waitShown(t, x, 1)
	time.Sleep(500 * time.Millisecond) // for the picture only: the window's next frames
	x.shot(t, "shown")
	if out, err := dunstctl(x, "action", "0"); err != nil {
		t.Fatalf("dunstctl action: %v: %s", err, out)
	}
	c.wait(t, "the call answered from its notification", 15*time.Second, func(s *app.Snapshot) bool {
		l, ok := lineNamed(s, "active")
		return ok && l.ID == call.ID
	})
	waitShown(t, x, 0)
	x.shot(t, "answered")
	stopConsole(t, c)
}
