package main

import (
	"os"
	"strings"
	"testing"
	"time"
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
	addrs := freeAddrs(t, 3)
	oldAddr, newAddr := addrs[0], addrs[1]
	c := startConsole(t, x, "-listen", oldAddr, "-park-listen", addrs[2],
		"-state-dir", t.TempDir(), "-audio", "none")
	c.waitEvent(t, "first-frame", 60*time.Second)
	win := c.window(t, x)

	alice := aliceParkedInWindow(t, x, c, win, "sip:console@"+oldAddr)

	offer := offerRestart(t, x, c, win, newAddr)
	x.click(t, win, offer.Buttons["Restart now"])
	ringBackNow(t, x, c, win, alice, "ringing-back-to-restart")
	if r := c.events("restart"); len(r) != 0 {
		t.Fatalf("restarted while the parked call rang back: %+v", r)
	}
	askHangUp(t, x, c, win)
	before := c.restartedBy(t, x, newAddr, func() { x.xdo(t, "key", "--window", win, "y") })
	b, err := os.ReadFile(before)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	ringAt, restartAt := strings.Index(log, `"event":"ringing-back-to-restart"`), strings.Index(log, `"event":"restart"`)
	if ringAt < 0 || restartAt < ringAt {
		t.Errorf("the first console's state log: ring back at %d, restart at %d; want the restart after the ring-back", ringAt, restartAt)
	}
}
