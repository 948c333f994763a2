package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// startConsole runs a console user agent on loopback that watches the
// lot 701-703 of the park service at addr.
func startConsole(t *testing.T, addr string) (*sbsip.Phone, *siptest.Log[telephony.Event]) {
	t.Helper()
	cfg := sbsip.Config{
		User:   "desk",
		Listen: []sbsip.Listener{{Transport: "udp", Addr: "127.0.0.1:0"}},
		Audio:  &siptest.ToneDevice{Freq: 1000},
		Logger: slog.New(slog.DiscardHandler),
	}
	cfg.Park = sbsip.ServiceTemplates(addr, telephony.Lot{First: 701, Last: 703})
	cfg.Park.HealthInterval = 300 * time.Millisecond
	p, err := sbsip.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var events siptest.Log[telephony.Event]
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case ev := <-p.Events():
				events.Add(ev)
			case <-ctx.Done():
				return
			}
		}
	}()
	sctx, scancel := context.WithTimeout(context.Background(), hung)
	defer scancel()
	if err := p.Start(sctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Close()
		cancel()
		<-done
	})
	return p, &events
}

// waitOrbit waits until the console shows orbit n as match wants.
func waitOrbit(t *testing.T, p *sbsip.Phone, events *siptest.Log[telephony.Event], n int, what string, match func(telephony.Orbit) bool) {
	t.Helper()
	events.Until(t, what, func([]telephony.Event) bool {
		for _, o := range p.Orbits() {
			if o.Number == n && match(o) {
				return true
			}
		}
		return false
	})
}

// TestConsoleSeesParkdCrashAndRestart: parkd is killed (no BYE, no final
// NOTIFY) while a caller is parked, and a new parkd starts on the same
// address at once. The console's lamps used to show the lost call until
// their refresh (10 minutes); the new X-Park-Instance on the health
// probe's answer now makes them subscribe again, and the orbit shows the
// truth: free.
func TestConsoleSeesParkdCrashAndRestart(t *testing.T) {
	first := startParkd(t, "-listen", "127.0.0.1:0", "-orbits", "701-703")
	addr := first.line(t, fmt.Sprintf(listeningRE, "701-703", "2m0s", "30s"))[1]
	console, events := startConsole(t, addr)

	caller := siptest.NewAgent(t, "alice", siptest.AgentOptions{})
	if _, err := caller.Call(t, sipURI(t, "sip:park-702@"+addr)); err != nil {
		t.Fatal(err)
	}
	waitOrbit(t, console, events, 702, "orbit 702 lit by alice", func(o telephony.Orbit) bool {
		return o.Occupied && strings.Contains(o.CallerURI, "alice")
	})

	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.wait(t)
	second := startParkd(t, "-listen", addr, "-orbits", "701-703")
	second.line(t, fmt.Sprintf(listeningRE, "701-703", "2m0s", "30s"))
	waitOrbit(t, console, events, 702, "orbit 702 dark after the restart", func(o telephony.Orbit) bool { return !o.Occupied })
}
