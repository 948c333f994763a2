package sip_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/badsip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// TestBadSIPCorpus replays the malformed-message corpus
// (internal/badsip) against a running console user agent over UDP and
// then TCP, one case at a time. After every case the console must answer
// an OPTIONS; each case must get what its class asks (a refusal, an
// answer); no case may make it log an ERROR (a recovered panic) or leave
// a call behind. A call answered before the replay is still up, with
// audio, afterwards, and goroutines, file descriptors and heap come back
// to where they were. It runs in its own process, where sipgo's
// transaction timers are short (badsip.Isolated).
func TestBadSIPCorpus(t *testing.T) {
	if !badsip.Isolated(t) {
		return
	}
	errs := badsip.NewErrorLog(siptest.Logger("SIPTEST_LOG", "desk").Handler())
	desk := newConsole(t, "desk", 1000, func(c *sbsip.Config) { c.Logger = slog.New(errs) })

	// A live call, answered before the corpus.
	alice := newPeer(t, "alice", nil)
	got := alice.dial(t, desk.uri(), false)
	ring := desk.waitRinging(t)
	if err := desk.Answer(ctxT(t), ring.ID); err != nil {
		t.Fatal(err)
	}
	desk.waitState(t, ring.ID, telephony.StateActive)
	d := siptest.Recv(t, "alice's call answered", got)
	siptest.StartMedia(t, d, 440)
	desk.hears(t, 440)

	base := badsip.Measure()
	t.Logf("before the corpus: %s", base)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var report strings.Builder
	report.WriteString(badsip.ReplayCorpus(ctx, t, func(network string) badsip.Target {
		return badsip.Target{Name: "console", Network: network, Addr: desk.Addr(network)}
	}, errs.Checker()))

	// The live call is still up and carries audio; nothing else is left.
	if c, ok := desk.Call(ring.ID); !ok || c.State != telephony.StateActive {
		fmt.Fprintf(&report, "the call answered before the corpus is gone or changed: %+v (found %v)\n", c, ok)
	} else {
		desk.hears(t, 440)
	}
	for _, c := range desk.Calls() {
		if c.ID == ring.ID {
			continue
		}
		fmt.Fprintf(&report, "the corpus left a call behind: %+v\n", c)
		if c.State == telephony.StateRinging {
			_ = desk.Reject(ctxT(t), c.ID)
		} else {
			_ = desk.Hangup(ctxT(t), c.ID)
		}
	}

	// Everything the replay started ends with the transactions' timers.
	report.WriteString(badsip.Leaked(ctx, t, base))
	if report.Len() > 0 {
		t.Errorf("the corpus found these faults in the console:\n%s", report.String())
	}
}
