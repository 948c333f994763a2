package park_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/tone"
)

// TestRetrieverByeRightAfterItsACKNeverStrandsTheCaller: a retriever
// that hangs up the moment it has ACKed the retrieve's 200 races the
// service finishing the retrieve (its ACK and BYE are handled at once,
// and the service may see either first). Whatever the order, the parked
// caller is never left without a call: it either goes back to its orbit
// (the service saw the BYE before the ACK: PARK-PROTOCOL's "no ghost
// orbits") or gets its BYE (the bridge stood when the retriever left).
// Before the fix, a BYE handled between the ACK and the bridge's link
// found no partner to hang up, and the bridge then linked the caller to
// the ended leg: no BYE, no orbit, music gone.
func TestRetrieverByeRightAfterItsACKNeverStrandsTheCaller(t *testing.T) {
	f := startPark(t, nil)
	const rounds = 12
	var caller *siptest.Call
	var music *siptest.Media
	returned := 0
	for round := range rounds {
		if caller == nil {
			caller = parkAlice(t, f.uri("park-701"))
			f.log.wait(t, "parked", "orbit", "701")
			music = siptest.StartMedia(t, caller, 0)
			c := caller
			go func() {
				<-c.Context().Done()
				f.log.Add(map[string]string{"event": "test: caller ended", "round": strconv.Itoa(round)})
			}()
		}
		before := f.log.count("returned")
		r := newAgent(t, "bob", nil)
		dr, err := r.Call(t, f.uri("701"))
		if err != nil {
			t.Fatalf("round %d: retrieve: %v", round, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), siptest.WaitFor)
		if err := dr.Hangup(ctx); err != nil {
			t.Logf("round %d: retriever's hang-up: %v", round, err)
		}
		cancel()
		f.log.Until(t, "the caller back on 701 or hung up (round "+strconv.Itoa(round)+")", func([]map[string]string) bool {
			return f.log.count("returned") > before || caller.Context().Err() != nil
		})
		if caller.Context().Err() != nil {
			caller = nil // it got its BYE: the next round parks another
			continue
		}
		returned++
		st, _ := f.svc.Orbit(701)
		if !st.Occupied {
			t.Fatalf("round %d: the caller returned but orbit 701 is free: %+v", round, st)
		}
		// Music again, not silence.
		if rms := tone.RMS(music.WaitAudio(t, music.Len(), window)); rms < 0.01 {
			t.Fatalf("round %d: the returned caller hears silence (rms %.4f), want music", round, rms)
		}
	}
	t.Logf("%d of %d rounds went back to the orbit, the rest were hung up", returned, rounds)
}
