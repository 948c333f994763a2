package badsip

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// ReplayCorpus replays the corpus (Corpus, narrowed by Select; t fails
// at once when it cannot be read) against a service over UDP and then
// TCP, one case at a time: target gives the service on each network and
// check is each Replayer's Check. It logs a line of counts per network
// (and, with Verbose, every outcome) and returns the outcomes with a
// problem, one a line (Report), "" when there is none. When the target's
// Alive reports the service dead after a network, it says so and stops.
func ReplayCorpus(ctx context.Context, t testing.TB, target func(network string) Target, check func(o *Outcome)) string {
	t.Helper()
	cases, err := Corpus()
	if err == nil {
		cases, err = Select(cases)
	}
	if err != nil {
		t.Fatal(err)
	}
	var report strings.Builder
	for _, network := range []string{"udp", "tcp"} {
		r := Replayer{Target: target(network), Check: check}
		start := time.Now()
		outs := r.All(ctx, cases)
		t.Logf("%d cases over %s in %s: %s", len(outs), network, time.Since(start).Round(time.Millisecond), Summary(outs))
		if Verbose() {
			for _, o := range outs {
				t.Logf("  %s", o.String())
			}
		}
		report.WriteString(Report(outs))
		if r.Target.Alive != nil {
			if err := r.Target.Alive(); err != nil {
				fmt.Fprintf(&report, "%s died during the corpus over %s: %v\n", r.Target.Name, network, err)
				break
			}
		}
	}
	return report.String()
}

// Leaked waits up to a minute (Settle) for this process's usage to come
// back within a little of base (10 goroutines, 4 fds, 8 MiB of heap), as
// the transactions' timers end what a replay started, logs it, and
// returns a line for a report when it does not, "" when it does.
func Leaked(ctx context.Context, t testing.TB, base Usage) string {
	t.Helper()
	slack := Usage{Goroutines: 10, FDs: 4, Heap: 8 << 20}
	after, ok := Settle(ctx, base, slack, 60*time.Second)
	t.Logf("after the corpus: %s", after)
	if ok {
		return ""
	}
	return fmt.Sprintf("leak: %s after the corpus, %s before (slack %s)\n", after, base, slack)
}

// Checker returns a Replayer.Check that makes an outcome fail
// (LoggedError, with the first new record as its detail) when the
// service logged an ERROR to l while it handled the case.
func (l *ErrorLog) Checker() func(o *Outcome) {
	seen := 0
	return func(o *Outcome) {
		n := l.Count()
		if n == seen {
			return
		}
		lines := l.Since(seen)
		seen = n
		if o.Problem == "" {
			o.Problem = LoggedError
			if len(lines) > 0 {
				o.Detail = lines[0]
			}
		}
	}
}
