package main

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/freeport"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/tone"
	"github.com/switchboard/switchboard/telephony"
)

// freeRTPPort is an even port whose successor (RTCP) was free too on
// 127.0.0.1 a moment ago.
func freeRTPPort(t testing.TB) int {
	t.Helper()
	p, err := freeport.RTPPair(netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// window is how much audio the checks look at: 400 ms.
const window = 3200

// hearsMusic waits for the next 400 ms m receives and checks it is music.
func hearsMusic(t *testing.T, what string, m *siptest.Media) {
	t.Helper()
	if rms := tone.RMS(m.WaitAudio(t, m.Len(), window)); rms < 0.01 {
		t.Fatalf("%s hears silence (rms %.4f), want music", what, rms)
	}
}

// hearsTone waits until freq dominates what m receives.
func hearsTone(t *testing.T, m *siptest.Media, freq float64) {
	t.Helper()
	m.WaitToneLevel(t, "the call", freq, window, 0.05)
}

// ended waits until d's dialog ended (its BYE came).
func ended(t *testing.T, what string, d interface{ Context() context.Context }) {
	t.Helper()
	select {
	case <-d.Context().Done():
	case <-time.After(hung):
		t.Fatalf("never: %s", what)
	}
}

// TestParkdKeepsCallsAcrossARestart: the real parkd, with a park store,
// holds two parked callers (music checked) and a bridged call (a
// retrieved caller, tones both ways) while a console watches the lot. It
// is stopped by kill -9, or by SIGTERM (which must keep the calls), and
// started again on the same store and addresses: both parked callers hear
// music again, the bridge carries tones both ways again, the console's
// lamps show the two orbits lit (after the new instance made it
// subscribe again), a retrieve of a restored call bridges its caller, and
// hang-ups end the right legs (a give-up leaves its orbit, the bridge's
// hang-up ends its other side).
func TestParkdKeepsCallsAcrossARestart(t *testing.T) {
	for _, stop := range []struct {
		name string
		sig  syscall.Signal
	}{{"kill -9", syscall.SIGKILL}, {"SIGTERM", syscall.SIGTERM}} {
		t.Run(stop.name, func(t *testing.T) {
			dir := t.TempDir()
			addr := "127.0.0.1:" + strconv.Itoa(siptest.FreePort(t))
			args := []string{"-state-dir", dir, "-listen", addr, "-rtp-port", strconv.Itoa(freeRTPPort(t)), "-orbits", "701-703"}
			first := startParkd(t, args...)
			first.line(t, fmt.Sprintf(listeningRE, "701-703", "2m0s", "30s"))
			console, events := startConsole(t, addr)

			// Two parked callers, each sending its own tone (dropped
			// while parked), hearing music.
			freqs := []float64{500, 700}
			callers := make([]*siptest.Call, 2)
			music := make([]*siptest.Media, 2)
			for i, n := range []int{701, 702} {
				c, err := siptest.NewAgent(t, fmt.Sprintf("caller%d", n), siptest.AgentOptions{}).Call(t, sipURI(t, fmt.Sprintf("sip:park-%d@%s", n, addr)))
				if err != nil {
					t.Fatalf("park on %d: %v", n, err)
				}
				first.waitLog(t, fmt.Sprintf("event=parked orbit=%d", n))
				callers[i], music[i] = c, siptest.StartMedia(t, c, freqs[i])
				hearsMusic(t, fmt.Sprintf("the caller on %d", n), music[i])
			}
			// A bridged call: dan parked on 703, retrieved by rita.
			dan, err := siptest.NewAgent(t, "dan", siptest.AgentOptions{}).Call(t, sipURI(t, "sip:park-703@"+addr))
			if err != nil {
				t.Fatal(err)
			}
			first.waitLog(t, "event=parked orbit=703")
			danMedia := siptest.StartMedia(t, dan, 440)
			rita, err := siptest.NewAgent(t, "rita", siptest.AgentOptions{}).Call(t, sipURI(t, "sip:703@"+addr))
			if err != nil {
				t.Fatal(err)
			}
			ritaMedia := siptest.StartMedia(t, rita, 1000)
			hearsTone(t, danMedia, 1000)
			hearsTone(t, ritaMedia, 440)
			waitOrbit(t, console, events, 702, "orbit 702 lit before the stop", func(o telephony.Orbit) bool { return o.Occupied })

			if err := first.cmd.Process.Signal(stop.sig); err != nil {
				t.Fatal(err)
			}
			if stop.sig == syscall.SIGTERM {
				first.line(t, `^parkd: terminated: stopped after \S+; 2 parked calls and 1 bridged call kept in \S+ for the next start$`)
			}
			first.wait(t)

			second := startParkd(t, args...)
			second.line(t, `^parkd: listening on 127\.0\.0\.1:\d+ \(udp, tcp\), orbits 701-703, park time 2m0s, ring-back 30s, restored 2 parked calls and 1 bridged call$`)
			for i, n := range []int{701, 702} {
				hearsMusic(t, fmt.Sprintf("the restored caller on %d", n), music[i])
			}
			hearsTone(t, danMedia, 1000)
			hearsTone(t, ritaMedia, 440)
			for _, n := range []int{701, 702} {
				waitOrbit(t, console, events, n, fmt.Sprintf("orbit %d lit after the restart", n), func(o telephony.Orbit) bool {
					return o.Occupied && strings.Contains(o.CallerURI, fmt.Sprintf("caller%d", n))
				})
			}

			// Retrieve 701: bob hears its caller, who hears bob.
			bob, err := siptest.NewAgent(t, "bob", siptest.AgentOptions{}).Call(t, sipURI(t, "sip:701@"+addr))
			if err != nil {
				t.Fatalf("retrieve of the restored 701: %v", err)
			}
			bobMedia := siptest.StartMedia(t, bob, 880)
			hearsTone(t, bobMedia, freqs[0])
			hearsTone(t, music[0], 880)
			second.waitLog(t, "event=retrieved orbit=701")
			// 702's caller gives up: only its orbit goes dark.
			hangupCall(t, callers[1])
			second.waitLog(t, `event="gave up" orbit=702`)
			waitOrbit(t, console, events, 702, "orbit 702 dark after its caller gave up", func(o telephony.Orbit) bool { return !o.Occupied })
			// Rita hangs up the restored bridge: dan gets his BYE.
			hangupCall(t, rita)
			ended(t, "dan's BYE after rita hung up the restored bridge", dan)
			// Bob hangs up: the restored 701 caller gets its BYE.
			hangupCall(t, bob)
			ended(t, "the 701 caller's BYE after bob hung up", callers[0])
		})
	}
}

func hangupCall(t *testing.T, d interface{ Hangup(context.Context) error }) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hung)
	defer cancel()
	if err := d.Hangup(ctx); err != nil {
		t.Fatalf("hangup: %v", err)
	}
}
