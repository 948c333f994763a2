package sip_test

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
	cases, err := badsip.Corpus()
	if err == nil {
		cases, err = badsip.Select(cases)
	}
	if err != nil {
		t.Fatal(err)
	}
	var next slog.Handler
	if os.Getenv("SIPTEST_LOG") != "" {
		next = siptest.Logger("SIPTEST_LOG", "desk").Handler()
	}
	errs := badsip.NewErrorLog(next)
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
	for _, network := range []string{"udp", "tcp"} {
		r := badsip.Replayer{
			Target: badsip.Target{Name: "console", Network: network, Addr: desk.Addr(network)},
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
	slack := badsip.Usage{Goroutines: 10, FDs: 4, Heap: 8 << 20}
	after, ok := badsip.Settle(ctx, base, slack, 60*time.Second)
	t.Logf("after the corpus: %s", after)
	if !ok {
		fmt.Fprintf(&report, "leak: %s after the corpus, %s before (slack %s)\n", after, base, slack)
	}
	if report.Len() > 0 {
		t.Errorf("the corpus found these faults in the console:\n%s", report.String())
	}
}

// checkErrors makes an outcome fail when the console logged an ERROR
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
