package park_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony/park"
)

// TestBridgeBurstCarriesAudioBothWays: callers are parked and each is
// retrieved the moment its park is ACKed, four at a time, on a service
// that keeps its calls (the store's write after each park's ACK is where
// the park's goroutine used to stop before starting the music). Every
// bridge carries each side's tone to the other, checked on every bridge
// with tones of its own.
//
// The park's goroutine started the music once its store write after the
// ACK was done, however the call had moved on meanwhile: a retrieve that
// claimed the call and bridged it in that gap had its caller's leg taken
// back out of the bridge and put on music. The caller still heard its
// retriever (and the music), the retriever heard nothing
// (BenchmarkParkdRestart saw it in 4 of 16 runs, one bridge of 50), and
// the race detector saw the music clock and the relay write the same leg.
// The gap needs the park's goroutine to wait for a processor at the wrong
// moment, as it did on the loaded machine of the benchmark: the burst runs
// on one (GOMAXPROCS 1), with every bridge's media already flowing.
func TestBridgeBurstCarriesAudioBothWays(t *testing.T) {
	const (
		workers         = 4 // the service takes at most 4 unconfirmed parks from one address
		perWorker       = 6
		bridges         = workers * perWorker
		orbitsPerWorker = 5 // the lot is 701-720
	)
	st, _ := openStore(t)
	f := startPark(t, func(o *park.Options) { o.Store = st })
	// Each side's own tone, different on every bridge.
	callerTone := func(i int) float64 { return 400 + 25*float64(i) }
	retrieverTone := func(i int) float64 { return 2000 + 25*float64(i) }
	type bridge struct{ caller, retriever *siptest.Media }
	calls := make([]bridge, bridges)
	errs := make([]error, workers)
	agents := make([][2]*agent, workers)
	for w := range agents {
		agents[w] = [2]*agent{newAgent(t, fmt.Sprintf("caller%d", w), nil), newAgent(t, fmt.Sprintf("retriever%d", w), nil)}
	}
	func() {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w * perWorker; i < (w+1)*perWorker; i++ {
					// Each worker parks on orbits of its own, five, and
					// parks on its first again once its call there is
					// bridged; another worker's call on it would get 486
					// however far that worker had got.
					k := i - w*perWorker
					orbit := 701 + w*orbitsPerWorker + k%orbitsPerWorker
					if k >= orbitsPerWorker && !f.log.Await(siptest.WaitFor, func(r []map[string]string) bool {
						return countEvents(r, "retrieved", orbit) >= k/orbitsPerWorker
					}) {
						errs[w] = fmt.Errorf("bridge %d: the earlier call on %d was never retrieved", i, orbit)
						return
					}
					c, err := agents[w][0].Call(t, f.uri(fmt.Sprintf("park-%d", orbit)))
					if err != nil {
						errs[w] = fmt.Errorf("bridge %d: park on %d: %w", i, orbit, err)
						return
					}
					r, err := agents[w][1].Call(t, f.uri(fmt.Sprint(orbit)))
					if err != nil {
						errs[w] = fmt.Errorf("bridge %d: retrieve of %d: %w", i, orbit, err)
						return
					}
					calls[i] = bridge{siptest.StartMedia(t, c, callerTone(i)), siptest.StartMedia(t, r, retrieverTone(i))}
				}
			})
		}
		wg.Wait()
	}()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range calls {
		b.retriever.WaitToneLevel(t, fmt.Sprintf("bridge %d: the retriever hearing its caller", i), callerTone(i), window, 0.05)
		b.caller.WaitToneLevel(t, fmt.Sprintf("bridge %d: the caller hearing its retriever", i), retrieverTone(i), window, 0.05)
	}
}
