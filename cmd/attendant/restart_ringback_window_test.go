package main

import (
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/internal/demo"
	"github.com/switchboard/switchboard/internal/freeport"
)

// TestRealWindowRestartRingBackNow: with a caller parked on the built-in
// park service that keeps its calls, Restart now (after a new SIP
// address is saved) asks the close question; "Ring back now" rings her
// back here with the window open and does not restart; the receptionist
// answers (Enter) and hangs up (Esc, Y), and only then, with nothing
// left parked or on the lines, the console starts again in the same
// process on the new address (issue 15). Before, Ring back now
// restarted at once, as Close does.
func TestRealWindowRestartRingBackNow(t *testing.T) {
	x := startX(t, "restart-ring-back-now")
	lo := netip.MustParseAddr("127.0.0.1")
	var ports [3]int
	for i := range ports {
		p, err := freeport.UDPAndTCP(lo)
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	oldAddr, newAddr := "127.0.0.1:"+strconv.Itoa(ports[0]), "127.0.0.1:"+strconv.Itoa(ports[1])
	c := startConsole(t, x, "-listen", oldAddr, "-park-listen", "127.0.0.1:"+strconv.Itoa(ports[2]),
		"-state-dir", t.TempDir(), "-audio", "none")
	c.waitEvent(t, "first-frame", 60*time.Second)
	win := c.window(t, x)

	alice := aliceParkedInWindow(t, x, c, win, "sip:console@"+oldAddr)

	top := c.waitEvents(t, "top-buttons", 1)
	x.click(t, win, top.Buttons["Settings…"])
	shown := c.waitEvents(t, "settings-shown", 1)
	x.click(t, win, shown.Buttons["SIP address"])
	x.xdo(t, "key", "--window", win, "ctrl+a")
	x.xdo(t, "type", "--window", win, "--delay", "30", newAddr)
	x.click(t, win, shown.Buttons["Save"])
	offer := c.waitEvents(t, "restart-offered", 1)
	x.click(t, win, offer.Buttons["Restart now"])
	asked := c.waitEvents(t, "close-asked", 1)
	ring, ok := asked.Buttons["Ring back now"]
	if !ok {
		t.Fatalf("buttons %v: no Ring back now", asked.Buttons)
	}
	x.click(t, win, ring)
	c.waitEvents(t, "ringing-back-to-restart", 1)
	c.wait(t, "Alice ringing back here", 30*time.Second, func(s *app.Snapshot) bool { _, ok := lineNamed(s, "back"); return ok })
	x.shot(t, "ringing-back")
	x.xdo(t, "key", "--window", win, "Return")
	c.wait(t, "Alice answered again", 30*time.Second, func(s *app.Snapshot) bool { _, ok := lineNamed(s, "active"); return ok })
	if st, _ := alice.State(); st == demo.CallEnded {
		t.Fatal("Alice's call ended")
	}
	if r := c.events("restart"); len(r) != 0 {
		t.Fatalf("restarted while the parked call rang back: %+v", r)
	}
	x.xdo(t, "key", "--window", win, "Escape")
	c.wait(t, "the hang-up asked", 10*time.Second, func(s *app.Snapshot) bool { return s.Confirm != "" })

	// The restarted console writes a new state log at the same path:
	// the old one is kept aside (this process still writes to it).
	before := c.log + ".before"
	if err := os.Rename(c.log, before); err != nil {
		t.Fatal(err)
	}
	x.xdo(t, "key", "--window", win, "y")
	c.waitEvent(t, "first-frame", 60*time.Second)
	select {
	case <-c.exited:
		t.Fatalf("the process exited (%v): the console was not started again in it", c.cmd.ProcessState)
	default:
	}
	x.shot(t, "restarted")
	b, err := os.ReadFile(before)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	ringAt, restartAt := strings.Index(log, `"event":"ringing-back-to-restart"`), strings.Index(log, `"event":"restart"`)
	if ringAt < 0 || restartAt < ringAt {
		t.Errorf("the first console's state log: ring back at %d, restart at %d; want the restart after the ring-back", ringAt, restartAt)
	}
	ids := strings.Fields(x.xdo(t, "search", "--sync", "--onlyvisible", "--name", "^Switchboard — sip:console@"+strings.ReplaceAll(newAddr, ".", "\\.")+"$"))
	if len(ids) != 1 {
		t.Fatalf("%d windows for the new address", len(ids))
	}
}
