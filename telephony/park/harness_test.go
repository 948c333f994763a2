package park_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony/park"
)

// eventLog records the service's park events (its "park" log records,
// attribute by attribute) for assertions.
type eventLog struct {
	siptest.Log[map[string]string]
}

func (l *eventLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *eventLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *eventLog) WithGroup(string) slog.Handler            { return l }
func (l *eventLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "park" && r.Level < slog.LevelWarn {
		return nil
	}
	// Warnings are kept too (no "event" key: no wait matches them), for
	// the dump of a failed test.
	m := map[string]string{"time": r.Time.Format("15:04:05.000")}
	if r.Message != "park" {
		m["msg"], m["level"] = r.Message, r.Level.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	l.Add(m)
	return nil
}

// wait returns the first event named ev matching every key=value given.
func (l *eventLog) wait(t testing.TB, ev string, kv ...string) map[string]string {
	t.Helper()
	return l.Wait(t, fmt.Sprintf("a %q event with %v", ev, kv), func(r map[string]string) bool {
		if r["event"] != ev {
			return false
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if r[kv[i]] != kv[i+1] {
				return false
			}
		}
		return true
	})
}

// waitParked waits for the "parked" event of the caller whose AOR is aor
// on orbit n (an orbit parked on twice has two).
func (l *eventLog) waitParked(t testing.TB, n int, aor string) {
	t.Helper()
	l.Wait(t, fmt.Sprintf("%s parked on %d", aor, n), func(r map[string]string) bool {
		return r["event"] == "parked" && r["orbit"] == strconv.Itoa(n) && strings.Contains(r["caller"], "<"+aor+">")
	})
}

// countEvents counts the events named ev of orbit in the records r (of
// an eventLog).
func countEvents(r []map[string]string, ev string, orbit int) int {
	n := 0
	for _, e := range r {
		if e["event"] == ev && e["orbit"] == strconv.Itoa(orbit) {
			n++
		}
	}
	return n
}

func (l *eventLog) count(ev string) int {
	n := 0
	for _, r := range l.All() {
		if r["event"] == ev {
			n++
		}
	}
	return n
}

type fixture struct {
	svc *park.Service
	log *eventLog
	h   string // host:port of the service
}

// startPark runs a service on a free loopback port; mod adjusts options.
func startPark(t testing.TB, mod func(*park.Options)) *fixture {
	t.Helper()
	ev := &eventLog{}
	opts := park.Options{Logger: slog.New(ev)}
	park.SetRefusalLogEvery(&opts, -1) // the tests look for each refusal's line
	if mod != nil {
		mod(&opts)
	}
	svc := siptest.StartPark(t, opts)
	t.Cleanup(func() {
		if t.Failed() {
			for _, r := range ev.All() {
				t.Logf("park service %s: %v", svc.HostPort(), r)
			}
		}
	})
	return &fixture{svc: svc, log: ev, h: svc.HostPort()}
}

func (f *fixture) uri(user string, params ...string) sip.Uri {
	s := "sip:" + user + "@" + f.h
	for _, p := range params {
		s += ";" + p
	}
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		panic(err)
	}
	return u
}

// agent is a diago user agent on loopback: a caller, a console, a phone.
type agent struct {
	*siptest.Agent
	incoming chan *diago.DialogServerSession
	answer   func(d *diago.DialogServerSession) // what to do with incoming calls
}

// newAgent starts a user agent; incoming calls go to answer (nil: they
// are queued on incoming and the handler holds them until hung up).
func newAgent(t testing.TB, name string, answer func(d *diago.DialogServerSession)) *agent {
	t.Helper()
	return newAgentOn(t, "udp", name, answer)
}

// newAgentOn is newAgent on a chosen transport (udp or tcp).
func newAgentOn(t testing.TB, transport, name string, answer func(d *diago.DialogServerSession)) *agent {
	t.Helper()
	a := &agent{incoming: make(chan *diago.DialogServerSession, 4), answer: answer}
	a.Agent = siptest.NewAgent(t, name, siptest.AgentOptions{Transport: transport, Handler: func(d *diago.DialogServerSession) {
		if a.answer != nil {
			a.answer(d)
			return
		}
		a.incoming <- d
		<-d.Context().Done()
	}})
	return a
}

// window is the audio the tests look at a time: 400 ms.
const window = 3200

// hears waits until freq dominates, above 5% of full scale, 400 ms of the
// audio m receives next.
func hears(t testing.TB, m *siptest.Media, freq float64) {
	t.Helper()
	m.WaitToneLevel(t, "the call", freq, window, 0.05)
}

func hangup(t testing.TB, d interface {
	Hangup(context.Context) error
}) {
	t.Helper()
	// The BYE's transaction lasts until its answer or Timer F (64*T1),
	// as a real phone's does.
	ctx, cancel := context.WithTimeout(context.Background(), sip.Timer_F)
	defer cancel()
	if err := d.Hangup(ctx); err != nil {
		t.Fatalf("hangup: %v", err)
	}
}
