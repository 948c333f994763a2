package park_test

import (
	"context"
	"fmt"
	"log/slog"
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
	errs := badsip.NewErrorLog(siptest.Logger("SIPTEST_LOG", "park").Handler())
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
	report.WriteString(badsip.ReplayCorpus(ctx, t, func(network string) badsip.Target {
		return badsip.Target{Name: "park", Network: network, Addr: svc.Addr()}
	}, errs.Checker()))

	// The parked caller is still parked, and hears music.
	if st, _ := svc.Orbit(720); !st.Occupied {
		fmt.Fprintf(&report, "the caller parked on 720 before the corpus is no longer parked: %+v\n", st)
	} else {
		hearsMusic(t, music)
	}

	// Everything the replay started ends with the transactions' timers.
	report.WriteString(badsip.Leaked(ctx, t, base))
	if report.Len() > 0 {
		t.Errorf("the corpus found these faults in the park service:\n%s", report.String())
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
