package sip_test

import (
	"strconv"
	"testing"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
)

// BenchmarkPresenceScroll: a directory of 5,000 people, a screenful of
// 30 watched, scrolled by a screenful per op: the 30 left behind are
// unsubscribed and 30 new ones subscribed and known, against the RFC
// 4235 source on loopback. Reports the subscriptions the server holds
// at most (bounded by the screen, never the directory) and those the
// phone has filed.
func BenchmarkPresenceScroll(b *testing.B) {
	src := siptest.StartDialogSource(b)
	a := newConsole(b, "desk", 1000, nil)
	const people, screen = 5000, 30
	targets := make([]string, people)
	for i := range targets {
		targets[i] = src.URI(strconv.Itoa(10000 + i))
	}
	maxHeld, maxFiled := 0, 0
	seen := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		first := (i * screen) % (people - screen)
		shown := targets[first : first+screen]
		a.Watch(shown)
		last := shown[screen-1]
		// The screen is known when its last row's first state came.
		a.events.Until(b, "the screen known", func(items []telephony.Event) bool {
			for j := seen; j < len(items); j++ {
				if pc, ok := items[j].(telephony.PresenceChanged); ok && pc.Target == last {
					seen = j + 1
					return true
				}
			}
			return false
		})
		maxHeld = max(maxHeld, src.Live())
		_, filed := a.Watching()
		maxFiled = max(maxFiled, filed)
	}
	b.StopTimer()
	b.ReportMetric(float64(maxHeld), "server-subs")
	b.ReportMetric(float64(maxFiled), "phone-subs")
}
