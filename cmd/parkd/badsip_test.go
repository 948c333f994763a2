package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/badsip"
)

// TestParkdSurvivesTheBadSIPCorpus replays the malformed-message corpus
// (internal/badsip) against the real parkd binary over UDP and then TCP,
// one case at a time: the process stays alive through all of it, answers
// an OPTIONS after every case, logs no ERROR, gives each case what its
// class asks, and its open file descriptors come back to where they were.
func TestParkdSurvivesTheBadSIPCorpus(t *testing.T) {
	p := startParkd(t, "-listen", "127.0.0.1:0")
	addr := netip.MustParseAddrPort(p.line(t, fmt.Sprintf(listeningRE, "701-720", "2m0s", "30s"))[1])
	alive := func() error {
		select {
		case <-p.exited:
			return fmt.Errorf("parkd exited: %v", p.err)
		default:
			return nil
		}
	}
	if got := options(t, "udp", addr.String()); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS before the corpus: %q", got)
	}
	base, measured := badsip.MeasureProc(p.cmd.Process.Pid)
	t.Logf("parkd before the corpus: %s", base)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var report strings.Builder
	seen := ownErrors(p.stderr.String())
	report.WriteString(badsip.ReplayCorpus(ctx, t, func(network string) badsip.Target {
		return badsip.Target{Name: "park", Network: network, Addr: addr, Alive: alive}
	}, func(o *badsip.Outcome) {
		n := ownErrors(p.stderr.String())
		if n != seen && o.Problem == "" {
			o.Problem, o.Detail = badsip.LoggedError, fmt.Sprintf("%d ERROR lines", n-seen)
		}
		seen = n
	}))
	if alive() == nil {
		for _, network := range []string{"udp", "tcp"} {
			if got := options(t, network, addr.String()); got != "SIP/2.0 200 OK" {
				fmt.Fprintf(&report, "OPTIONS over %s after the corpus: %q\n", network, got)
			}
		}
	}

	// Its file descriptors come back once the replay's connections and
	// transactions are gone (64×T1, 32 s, in a real parkd).
	if measured && alive() == nil {
		var after badsip.ProcUsage
		deadline := time.Now().Add(60 * time.Second)
		for {
			after, _ = badsip.MeasureProc(p.cmd.Process.Pid)
			if after.FDs <= base.FDs+4 || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("parkd after the corpus: %s", after)
		if after.FDs > base.FDs+4 {
			fmt.Fprintf(&report, "leak: parkd holds %d fds after the corpus, %d before\n", after.FDs, base.FDs)
		}
	}
	// sipgo's transport and transaction layers log each message they
	// cannot parse or make a transaction of, with the message, and each
	// connection reset, at ERROR: one line per message, not once per
	// source per minute.
	if n := sipgoErrors(p.stderr.String()); len(n) > 0 {
		fmt.Fprintf(&report, "parkd logged ERROR lines of sipgo's transport, one per message, each with the raw message: %v\n", n)
	}
	if report.Len() > 0 {
		t.Errorf("the corpus found these faults in parkd:\n%s", report.String())
	}
}

// sipgoErrors counts sipgo's ERROR lines by message.
func sipgoErrors(logs string) map[string]int {
	n := map[string]int{}
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "level=ERROR") && isSipgo(l) {
			msg, _, _ := strings.Cut(l[strings.Index(l, "msg=")+4:], " caller=")
			n[msg]++
		}
	}
	return n
}

func isSipgo(line string) bool {
	return strings.Contains(line, "caller=TransportLayer") || strings.Contains(line, "caller=TransactionLayer")
}

// ownErrors counts parkd's ERROR log lines other than sipgo's.
func ownErrors(logs string) int {
	n := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "level=ERROR") && !isSipgo(l) {
			n++
		}
	}
	return n
}
