package park_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/badsip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/tone"
	"github.com/switchboard/switchboard/telephony/park"
)

// TestBadSIPCorpus replays the malformed-message corpus
// (internal/badsip) against a running park service over UDP and then
// TCP, one case at a time. After every case the service must answer an
// OPTIONS; each case must get what its class asks (a refusal, an answer)
// and the status PARK-PROTOCOL.md fixes where it does; no case may make
// it log an ERROR (a recovered panic). Afterwards a caller parked before
// the replay is still parked and hears music, and goroutines, file
// descriptors and heap come back to where they were. It runs in its own
// process, where sipgo's transaction timers are short (badsip.Isolated).
func TestBadSIPCorpus(t *testing.T) {
	if !badsip.Isolated(t) {
		return
	}
	cases, err := badsip.Corpus()
	if err == nil {
		cases, err = badsip.Select(cases)
	}
	if err != nil {
		t.Fatal(err)
	}
	var next slog.Handler
	if os.Getenv("SIPTEST_LOG") != "" {
		next = siptest.Logger("SIPTEST_LOG", "park").Handler()
	}
	errs := badsip.NewErrorLog(next)
	svc := siptest.StartPark(t, park.Options{Logger: slog.New(errs)})
	f := &fixture{svc: svc, h: svc.HostPort()}

	// A caller parked before the corpus, on an orbit no case names.
	caller := newAgent(t, "alice", nil)
	dc, err := caller.Call(t, f.uri("park-720"))
	if err != nil {
		t.Fatalf("park on 720: %v", err)
	}
	music := siptest.StartMedia(t, dc, 0)
	hearsMusic(t, music)

	base := badsip.Measure()
	t.Logf("before the corpus: %s", base)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var report strings.Builder
	for _, network := range []string{"udp", "tcp"} {
		r := badsip.Replayer{
			Target: badsip.Target{Name: "park", Network: network, Addr: svc.Addr()},
			Check:  checkErrors(errs),
		}
		start := time.Now()
		outs := r.All(ctx, cases)
		t.Logf("%d cases over %s in %s: %s", len(outs), network, time.Since(start).Round(time.Millisecond), badsip.Summary(outs))
		if badsip.Verbose() {
			for _, o := range outs {
				t.Logf("  %s", o.String())
			}
		}
		report.WriteString(badsip.Report(outs))
	}

	// The parked caller is still parked, and hears music.
	if st, _ := svc.Orbit(720); !st.Occupied {
		fmt.Fprintf(&report, "the caller parked on 720 before the corpus is no longer parked: %+v\n", st)
	} else {
		hearsMusic(t, music)
	}

	// Everything the replay started ends with the transactions' timers.
	slack := badsip.Usage{Goroutines: 10, FDs: 4, Heap: 8 << 20}
	after, ok := badsip.Settle(ctx, base, slack, 60*time.Second)
	t.Logf("after the corpus: %s", after)
	if !ok {
		fmt.Fprintf(&report, "leak: %s after the corpus, %s before (slack %s)\n", after, base, slack)
	}
	if report.Len() > 0 {
		t.Errorf("the corpus found these faults in the park service:\n%s", report.String())
	}
}

// checkErrors makes an outcome fail when the service logged an ERROR
// while it handled the case.
func checkErrors(errs *badsip.ErrorLog) func(o *badsip.Outcome) {
	seen := 0
	return func(o *badsip.Outcome) {
		n := errs.Count()
		if n == seen {
			return
		}
		lines := errs.Since(seen)
		seen = n
		if o.Problem == "" {
			o.Problem = badsip.LoggedError
			if len(lines) > 0 {
				o.Detail = lines[0]
			}
		}
	}
}

// hearsMusic waits for 400 ms of audio that is not silence.
func hearsMusic(t *testing.T, m *siptest.Media) {
	t.Helper()
	for i := 0; i < 2; i++ {
		win := m.WaitAudio(t, m.Len(), window)
		if rms := tone.RMS(win); rms < 0.01 {
			t.Fatalf("the parked caller hears silence (rms %.4f), want music", rms)
		}
	}
}
