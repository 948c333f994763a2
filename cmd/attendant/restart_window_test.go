package main

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/freeport"
)

// TestRealWindowRestartNow: after a new SIP address is saved in
// Settings, Restart now runs the close path and starts the console
// again in the same process (exec): the new address applies (the flag
// that gave the old one is not passed again), and the old address is
// let go.
func TestRealWindowRestartNow(t *testing.T) {
	x := startX(t, "restart")
	addrs := freeAddrs(t, 2)
	oldAddr, newAddr := addrs[0], addrs[1]
	c := startConsole(t, x, "-listen", oldAddr, "-park-listen", "127.0.0.1:0", "-audio", "none")
	c.waitEvent(t, "first-frame", 60*time.Second)
	win := c.window(t, x)

	offer := offerRestart(t, x, c, win, newAddr)
	x.shot(t, "restart-offered")
	before := c.restartedBy(t, x, newAddr, func() { x.click(t, win, offer.Buttons["Restart now"]) })
	if b, err := os.ReadFile(before); err != nil || !strings.Contains(string(b), `"event":"restart"`) {
		t.Errorf("the first console's state log lacks the restart (%v)", err)
	}
	// The old address is free: the close path let it go.
	pc, err := net.ListenPacket("udp", oldAddr)
	if err != nil {
		t.Fatalf("the old address is still held: %v", err)
	}
	pc.Close()
	if !strings.Contains(c.stderr.String(), "msg=restarting") {
		t.Errorf("no restart in the log:\n%s", c.stderr.String())
	}
}

// freeAddrs picks n free UDP-and-TCP ports on 127.0.0.1 and returns them
// as host:port addresses.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		p, err := freeport.Kept(netip.MustParseAddr("127.0.0.1"))
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = "127.0.0.1:" + strconv.Itoa(p)
	}
	return addrs
}

// offerRestart types newAddr as the SIP address in the console's
// Settings (window win) and saves it; it returns the restart offer.
func offerRestart(t *testing.T, x *x11, c *console, win, newAddr string) eventLine {
	t.Helper()
	top := c.waitEvents(t, "top-buttons", 1)
	x.click(t, win, top.Buttons["Settings…"])
	shown := c.waitEvents(t, "settings-shown", 1)
	x.click(t, win, shown.Buttons["SIP address"])
	x.xdo(t, "key", "--window", win, "ctrl+a")
	x.xdo(t, "type", "--window", win, "--delay", "30", newAddr)
	x.click(t, win, shown.Buttons["Save"])
	return c.waitEvents(t, "restart-offered", 1)
}

// restartedBy runs act, which makes the console restart, and checks that
// it started again in the same process with one window on newAddr. The
// restarted console writes a new state log at the same path, so the old
// one is moved aside first (this process still writes to it) to the
// path returned.
func (c *console) restartedBy(t *testing.T, x *x11, newAddr string, act func()) (before string) {
	t.Helper()
	before = c.log + ".before"
	if err := os.Rename(c.log, before); err != nil {
		t.Fatal(err)
	}
	act()
	c.waitEvent(t, "first-frame", 60*time.Second)
	select {
	case <-c.exited:
		t.Fatalf("the process exited (%v): the console was not started again in it", c.cmd.ProcessState)
	default:
	}
	x.shot(t, "restarted")
	ids := strings.Fields(x.xdo(t, "search", "--sync", "--onlyvisible", "--name", "^Switchboard — sip:console@"+strings.ReplaceAll(newAddr, ".", "\\.")+"$"))
	if len(ids) != 1 {
		t.Fatalf("%d windows for the new address", len(ids))
	}
	return before
}
