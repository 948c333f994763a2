package sip_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/telephony"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// logRecords keeps the records of one level and up, for a test to read.
type logRecords struct {
	level slog.Level
	mu    sync.Mutex
	recs  []slog.Record
}

func (h *logRecords) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h *logRecords) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}
func (h *logRecords) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecords) WithGroup(string) slog.Handler      { return h }

// messages are the messages logged at level exactly that begin with
// prefix.
func (h *logRecords) messages(level slog.Level, prefix string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.recs {
		if r.Level == level && strings.HasPrefix(r.Message, prefix) {
			out = append(out, r.Message)
		}
	}
	return out
}

// TestLampRefusedShowsUnknown: a PBX that refuses every lamp SUBSCRIBE
// (a wrong password: 403 after the challenge) leaves the orbits unknown
// (LampRefused), not free, while a call is parked there; the failure is
// logged once at WARN, not per retry nor at DEBUG only. Once the PBX
// takes the subscriptions again, the lamps show its state and are known.
// Before LampFault, the orbits stayed free and known.
func TestLampRefusedShowsUnknown(t *testing.T) {
	x := startAsterisk(t, 701, 702)
	x.requireAuth(t, "s3cret")
	x.parkOther(701, "Bob")
	logs := &logRecords{level: slog.LevelInfo}
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		x.templates("87{orbit}")(c)
		c.Account = sbsip.Account{AOR: fmt.Sprintf("sip:desk@127.0.0.1:%d", x.port), Password: "wrong"}
		c.Park.LampRetryMax = time.Second
		c.Logger = slog.New(logs)
	})
	for _, n := range []int{701, 702} {
		a.waitOrbit(t, n, "unknown: its lamp refused", func(o telephony.Orbit) bool { return o.Lamp == telephony.LampRefused })
	}
	// Retries keep failing; still one warning.
	x.seen.Until(t, "asterisk: retries refused", func(seen []subscribeSeen) bool { return len(seen) >= 8 })
	if w := logs.messages(slog.LevelWarn, "orbit lamps"); len(w) != 1 {
		t.Errorf("warnings while refused: %q, want one", w)
	}
	for _, o := range a.Orbits() {
		if o.Lamp == telephony.LampKnown {
			t.Errorf("orbit %d shown known while its lamp is refused: %+v", o.Number, o)
		}
	}

	x.requireAuth(t, "wrong") // the PBX's password is the console's again
	lit := a.waitOrbit(t, 701, "known and lit once taken", func(o telephony.Orbit) bool {
		return o.Lamp == telephony.LampKnown && o.Occupied
	})
	if lit.ParkedByMe {
		t.Errorf("orbit 701 = %+v, want someone else's park", lit)
	}
	a.waitOrbit(t, 702, "known and free once taken", func(o telephony.Orbit) bool {
		return o.Lamp == telephony.LampKnown && !o.Occupied
	})
	if w := logs.messages(slog.LevelWarn, "orbit lamps"); len(w) != 1 {
		t.Errorf("warnings: %q, want one", w)
	}
}
