package park_test

import (
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/telephony/park"
)

// TestParkRightAfterRetrieveOnTheSameOrbit: a caller parked on an orbit
// whose previous caller was retrieved into a bridge a moment before is
// parked there, even while the store has yet to write that bridge. The
// retrieve freed the orbit in the lot before it told the store, so a park
// in between found the orbit still held in the store and its caller got a
// 500 (TestBridgeBurstCarriesAudioBothWays, once on CI, at GOMAXPROCS 1).
// The test holds that moment open: the service waits in it until the next
// park has been answered, or two seconds.
func TestParkRightAfterRetrieveOnTheSameOrbit(t *testing.T) {
	st, _ := openStore(t)
	settled, parked := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f := startPark(t, func(o *park.Options) {
		o.Store = st
		park.SetAfterSettle(o, func(int) {
			once.Do(func() {
				close(settled)
				select {
				case <-parked:
				case <-time.After(2 * time.Second):
				}
			})
		})
	})
	parkAlice(t, f.uri("park-701"))
	f.log.wait(t, "parked", "orbit", "701")
	if _, err := newAgent(t, "bob", nil).Call(t, f.uri("701")); err != nil {
		t.Fatal(err)
	}
	<-settled
	carol := newAgent(t, "carol", nil)
	_, err := carol.Call(t, f.uri("park-701"))
	close(parked)
	if err != nil {
		t.Fatalf("park on 701 right after its retrieve: %v", err)
	}
	f.log.wait(t, "retrieved", "orbit", "701")
	f.log.waitParked(t, 701, carol.AOR())
	if p, b := f.svc.Held(); p != 1 || b != 1 {
		t.Fatalf("Held() = %d parked, %d bridged; want 1, 1", p, b)
	}
}
