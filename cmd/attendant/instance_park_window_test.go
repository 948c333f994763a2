package main

import (
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/freeport"
)

// TestRealWindowParkAddressHeld: a console started on another SIP
// address while a first one runs its built-in park service on the park
// address it wants says so in its window ("Switchboard is already
// running"), never "address already in use", and on Show that window
// brings the first one's window forward and exits 0 saying so (issue
// 15). Load-proof: the button is clicked where the second console's
// state log says it is once laid out, and every wait is for an event.
// It was removed (ae1774a) when, in a full run, the second console did
// not exit: Fyne's loop hung as it stopped with an input event in its
// closing queue, and the first console's goroutines handed work to
// Fyne's queue as it closed (a data race inside Fyne).
func TestRealWindowParkAddressHeld(t *testing.T) {
	x := startX(t, "park-address-held")
	port, err := freeport.Kept(netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	park := "127.0.0.1:" + strconv.Itoa(port)
	first := startConsole(t, x, "-listen", "127.0.0.1:0", "-park-listen", park, "-state-dir", "none", "-audio", "none")
	first.waitEvent(t, "first-frame", 60*time.Second)
	firstWin := first.window(t, x)

	second := startConsole(t, x, "-listen", "127.0.0.1:0", "-park-listen", park, "-state-dir", "none", "-audio", "none")
	second.waitEvent(t, "already-running", 60*time.Second)
	shown := second.waitEvents(t, "already-running-shown", 1)
	var win string
	for _, w := range strings.Fields(x.xdo(t, "search", "--sync", "--onlyvisible", "--name", "^Switchboard")) {
		if w != firstWin {
			win = w
		}
	}
	if win == "" {
		t.Fatal("the second console's window is not shown")
	}
	x.shot(t, "second-window")
	show, ok := shown.Buttons["Show that window"]
	if !ok {
		t.Fatalf("buttons %v: no Show that window", shown.Buttons)
	}
	x.click(t, win, show)
	first.waitEvents(t, "brought-forward", 1)
	select {
	case <-second.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("the second console did not exit once the first came forward")
	}
	if code := second.cmd.ProcessState.ExitCode(); code != exitOK {
		t.Errorf("second console: exit status %d, want 0", code)
	}
	errs := second.stderr.String()
	if !strings.Contains(errs, "attendant: Switchboard is already running with its park service on "+park) || strings.Contains(errs, "already in use") {
		t.Errorf("second console's stderr: %s", errs)
	}
	if strings.Contains(errs, "DATA RACE") {
		t.Errorf("second console: a data race:\n%s", errs)
	}

	// The first closes on SIGTERM as a service manager would end it: no
	// data race in its goroutines' last hand-overs to Fyne.
	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("the first console did not exit on SIGTERM")
	}
	if errs := first.stderr.String(); strings.Contains(errs, "DATA RACE") {
		t.Errorf("first console: a data race:\n%s", errs)
	}
}
