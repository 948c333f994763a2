package park

import "time"

// SetAckWait sets how long the service's 2xx answers wait for their ACK
// (64×T1, 32 s, by default), so tests of a missing ACK run fast.
func SetAckWait(o *Options, d time.Duration) { o.ackWait = d }

// SetRefusalLogEvery sets how often a refusal of one host is logged
// (once a minute by default); -1 logs every one, for tests that look for
// each one's log line.
func SetRefusalLogEvery(o *Options, d time.Duration) { o.refusalLogEvery = d }

// SetAfterSettle makes f run as each retrieved call has left its orbit,
// before the store hears of its bridge.
func SetAfterSettle(o *Options, f func(orbit int)) { o.afterSettle = f }

// MediaStats returns the media plane's counters, for the tests that check
// music and relay packets flowed (or did not).
func (s *Service) MediaStats() MediaStats {
	st := &s.media.stats
	return MediaStats{MusicPackets: st.musicSent.Load(), RelayedPackets: st.relayed.Load(),
		SendErrors: st.sendErrors.Load(), LateTicks: st.lateTicks.Load()}
}

// Asleep says whether the caller parked on orbit n sleeps: it holds no
// SIP dialog, only its record (dormant.go).
func (s *Service) Asleep(n int) bool {
	s.mu.Lock()
	c := s.lot.at(n)
	s.mu.Unlock()
	return c != nil && c.leg.asleep()
}
