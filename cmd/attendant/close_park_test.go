package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/internal/demo"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony/park"
)

// TestRealWindowCloseKeepsParkedCalls: a console on a separate park
// service parks a caller (Enter, P) and is closed: the question offers to
// keep the parked call parked; after that choice the console exits and
// the caller is still parked on the service, music and all.
func TestRealWindowCloseKeepsParkedCalls(t *testing.T) {
	x := startX(t, "close-keep-parked")
	svc := siptest.StartPark(t, park.Options{})
	c, win, aor := consoleWindow(t, x, "-listen", "127.0.0.1:0", "-park", svc.HostPort(), "-audio", "none")
	alice := aliceParkedInWindow(t, x, c, win, aor)

	if err := closeWindow(x.display, win); err != nil {
		t.Fatal(err)
	}
	asked := c.waitEvents(t, "close-asked", 1)
	if asked.Parked != 1 || asked.Lines != 0 {
		t.Errorf("close question: %d lines, %d parked; want 0 and 1", asked.Lines, asked.Parked)
	}
	keep, ok := asked.Buttons["Keep parked calls parked and close"]
	if !ok {
		t.Fatalf("buttons %v: no Keep parked calls parked and close", asked.Buttons)
	}
	x.shot(t, "close-asked")
	x.click(t, win, keep)
	clicked := time.Now()
	c.waitExited(t, "the console exits")
	c.logExit(t, clicked)
	if d := c.events("close-decided"); len(d) != 1 || d[0].Choice != "keep-parked" {
		t.Errorf("decisions %+v, want keep-parked", d)
	}
	if n := svc.Parked(); n != 1 {
		t.Errorf("%d calls parked on the service after the console closed, want Alice's", n)
	}
	if st, _ := alice.State(); st != demo.CallParked {
		t.Errorf("Alice's call is %v, want parked", st)
	}
}

// TestRealWindowCloseKeepsCallsHere: a console whose built-in park
// service keeps its calls parks a caller (Enter, P) and is closed: the
// question says the call will return at the next start and offers
// Close, Ring back now and Cancel; after Close the console exits at once
// without hanging the caller up, and the console started again on the
// same addresses shows her on her orbit (issue 15).
func TestRealWindowCloseKeepsCallsHere(t *testing.T) {
	x := startX(t, "close-keep-here")
	parkAddr := freeAddrs(t, 1)[0]
	args := []string{"-listen", "127.0.0.1:0", "-park-listen", parkAddr,
		"-state-dir", t.TempDir(), "-audio", "none"}
	c, win, aor := consoleWindow(t, x, args...)
	alice := aliceParkedInWindow(t, x, c, win, aor)
	if st, _ := alice.State(); st != demo.CallParked {
		t.Fatalf("Alice's call is %v, want parked", st)
	}

	if err := closeWindow(x.display, win); err != nil {
		t.Fatal(err)
	}
	asked := c.waitEvents(t, "close-asked", 1)
	if asked.Parked != 1 || asked.Lines != 0 {
		t.Errorf("close question: %d lines, %d parked; want 0 and 1", asked.Lines, asked.Parked)
	}
	for _, b := range []string{"Close", "Ring back now", "Cancel"} {
		if _, ok := asked.Buttons[b]; !ok {
			t.Errorf("buttons %v: no %s", asked.Buttons, b)
		}
	}
	x.shot(t, "close-asked")
	x.click(t, win, asked.Buttons["Close"])
	clicked := time.Now()
	c.waitExited(t, "the console exits")
	c.logExit(t, clicked)
	if d := c.events("close-decided"); len(d) != 1 || d[0].Choice != "keep-parked" {
		t.Errorf("decisions %+v, want keep-parked", d)
	}
	if st, _ := alice.State(); st != demo.CallParked {
		t.Errorf("Alice's call is %v once the console closed, want still parked", st)
	}

	again := startConsole(t, x, args...)
	again.waitEvent(t, "first-frame", 60*time.Second)
	again.wait(t, "Alice on her orbit again", 30*time.Second, func(s *app.Snapshot) bool {
		for _, o := range s.Orbits {
			if o.State != "free" && o.Caller == "Alice Martin" {
				return true
			}
		}
		return false
	})
	if st, _ := alice.State(); st != demo.CallParked {
		t.Errorf("Alice's call is %v after the reopen, want parked", st)
	}
}

// TestRealWindowRingBackNow: closing with a caller parked on the
// built-in park service that keeps its calls, Ring back now keeps the
// window open and rings her back here at once; the receptionist answers
// (Enter) and hangs up (Esc, Y), and with nothing left parked or on the
// lines the console closes by itself, exit status 0 (issue 15).
func TestRealWindowRingBackNow(t *testing.T) {
	x := startX(t, "ring-back-now")
	parkAddr := freeAddrs(t, 1)[0]
	c, win, aor := consoleWindow(t, x, "-listen", "127.0.0.1:0", "-park-listen", parkAddr,
		"-state-dir", t.TempDir(), "-audio", "none")
	alice := aliceParkedInWindow(t, x, c, win, aor)

	if err := closeWindow(x.display, win); err != nil {
		t.Fatal(err)
	}
	ringBackNow(t, x, c, win, alice, "ringing-back-to-close")
	askHangUp(t, x, c, win)
	x.xdo(t, "key", "--window", win, "y")
	c.waitExited(t, "the console closes once nothing is left")
	if code := c.cmd.ProcessState.ExitCode(); code != exitOK {
		t.Errorf("exit status %d, want 0", code)
	}
	if d := c.events("close-decided"); len(d) != 1 || d[0].Choice != "ring-back" {
		t.Errorf("decisions %+v, want one ring-back", d)
	}
}

// aliceParkedInWindow has Alice (a demo caller) call the console at aor,
// whose window is win: the receptionist answers (Enter) and parks her
// (P) on 701. It returns her call.
func aliceParkedInWindow(t *testing.T, x *x11, c *console, win, aor string) *demo.Call {
	t.Helper()
	callers, err := demo.New(demo.Options{Console: aor, Interval: -1, GiveUp: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := callers.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(callers.Close)
	alice, err := callers.Dial(demo.Caller{Name: "Alice Martin", Number: "+442079460018", Sound: func() []int16 { return demo.Tone(440, 2) }})
	if err != nil {
		t.Fatal(err)
	}
	c.wait(t, "Alice ringing", 30*time.Second, func(s *app.Snapshot) bool { _, ok := lineNamed(s, "ringing"); return ok })
	x.xdo(t, "key", "--window", win, "Return")
	c.wait(t, "Alice answered", 30*time.Second, func(s *app.Snapshot) bool { _, ok := lineNamed(s, "active"); return ok })
	x.xdo(t, "key", "--window", win, "p")
	c.wait(t, "Alice parked by this console", 30*time.Second, func(s *app.Snapshot) bool {
		o := orbitOf(s, 701)
		return len(s.Lines) == 0 && o.State == "mine" && o.Caller == "Alice Martin"
	})
	return alice
}

// consoleWindow starts the console with args in x and waits for its
// window's first frame; it returns the console, its window and the
// address its title names (after "— ").
func consoleWindow(t *testing.T, x *x11, args ...string) (c *console, win, aor string) {
	t.Helper()
	c = startConsole(t, x, args...)
	c.waitEvent(t, "first-frame", 60*time.Second)
	win = c.window(t, x)
	title := x.xdo(t, "getwindowname", win)
	_, aor, ok := strings.Cut(title, "— ")
	if !ok {
		t.Fatalf("window title %q names no address", title)
	}
	return c, win, aor
}

// waitExited waits, for at most 30 s, until the console's process has
// exited; what says what is awaited.
func (c *console) waitExited(t *testing.T, what string) {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: not within 30 s", what)
	}
}

// ringBackNow answers the close question (asked of the console, window
// win) with Ring back now, waits for the console's event (the state
// log's "ringing-back-to-close" or "ringing-back-to-restart") and for
// Alice's parked call to ring back here, answers it (Enter) and checks
// that her call goes on.
func ringBackNow(t *testing.T, x *x11, c *console, win string, alice *demo.Call, event string) {
	t.Helper()
	asked := c.waitEvents(t, "close-asked", 1)
	ring, ok := asked.Buttons["Ring back now"]
	if !ok {
		t.Fatalf("buttons %v: no Ring back now", asked.Buttons)
	}
	x.click(t, win, ring)
	c.waitEvents(t, event, 1)
	c.wait(t, "Alice ringing back here", 30*time.Second, func(s *app.Snapshot) bool { _, ok := lineNamed(s, "back"); return ok })
	x.shot(t, "ringing-back")
	x.xdo(t, "key", "--window", win, "Return")
	c.wait(t, "Alice answered again", 30*time.Second, func(s *app.Snapshot) bool { _, ok := lineNamed(s, "active"); return ok })
	if st, _ := alice.State(); st == demo.CallEnded {
		t.Fatal("Alice's call ended")
	}
}

// askHangUp presses Esc in the console's window win and waits for the
// hang-up question.
func askHangUp(t *testing.T, x *x11, c *console, win string) {
	t.Helper()
	x.xdo(t, "key", "--window", win, "Escape")
	c.wait(t, "the hang-up asked", 10*time.Second, func(s *app.Snapshot) bool { return s.Confirm != "" })
}
