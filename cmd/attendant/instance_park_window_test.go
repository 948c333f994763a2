package main

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/freeport"
)

// TestRealWindowParkAddressHeld: a console started on another SIP
// address while a first one runs its built-in park service on the park
// address it wants says so in its window ("Switchboard is already
// running"), never "address already in use", and on Show that window
// (Tab, Space) brings the first one's window forward and exits 0 saying
// so (issue 15).
func TestRealWindowParkAddressHeld(t *testing.T) {
	x := startX(t, "park-address-held")
	port, err := freeport.UDPAndTCP(netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	park := "127.0.0.1:" + strconv.Itoa(port)
	first := startConsole(t, x, "-listen", "127.0.0.1:0", "-park-listen", park, "-state-dir", "none", "-audio", "none")
	first.waitEvent(t, "first-frame", 60*time.Second)
	firstWin := first.window(t, x)

	second := startConsole(t, x, "-listen", "127.0.0.1:0", "-park-listen", park, "-state-dir", "none", "-audio", "none")
	second.waitEvents(t, "already-running", 1)
	deadline := time.Now().Add(30 * time.Second)
	var win string
	for win == "" {
		for _, w := range strings.Fields(x.xdo(t, "search", "--sync", "--onlyvisible", "--name", "^Switchboard")) {
			if w != firstWin {
				win = w
			}
		}
		if win == "" && time.Now().After(deadline) {
			t.Fatal("the second console's window never opened")
		}
		if win == "" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	time.Sleep(time.Second) // its first frame: xdotool's keys reach a window that is drawn
	x.shot(t, "second-window")
	x.xdo(t, "key", "--window", win, "Tab")
	x.xdo(t, "key", "--window", win, "space")
	first.waitEvents(t, "brought-forward", 1)
	select {
	case <-second.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the second console did not exit once the first came forward")
	}
	if code := second.cmd.ProcessState.ExitCode(); code != exitOK {
		t.Errorf("second console: exit status %d, want 0", code)
	}
	errs := second.stderr.String()
	if !strings.Contains(errs, "attendant: Switchboard is already running with its park service on "+park) || strings.Contains(errs, "already in use") {
		t.Errorf("second console's stderr: %s", errs)
	}
}
