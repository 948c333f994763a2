package badsip

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Usage is what a process holds: goroutines, open file descriptors and
// live heap (after a GC).
type Usage struct {
	Goroutines int
	FDs        int
	Heap       uint64 // bytes
}

// String is the usage in a log line's words.
func (u Usage) String() string {
	return fmt.Sprintf("%d goroutines, %d fds, %.1f MiB heap", u.Goroutines, u.FDs, float64(u.Heap)/(1<<20))
}

// Measure returns this process's usage, after a GC.
func Measure() Usage {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return Usage{Goroutines: runtime.NumGoroutine(), FDs: countFDs("self"), Heap: ms.HeapAlloc}
}

func countFDs(pid string) int {
	ents, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		return -1 // not Linux: the check is skipped
	}
	return len(ents)
}

// Within reports whether u is at most base plus slack in every measure.
func (u Usage) Within(base, slack Usage) bool {
	return u.Goroutines <= base.Goroutines+slack.Goroutines &&
		(u.FDs < 0 || u.FDs <= base.FDs+slack.FDs) &&
		u.Heap <= base.Heap+slack.Heap
}

// Settle polls Measure until it is within slack of base and returns the
// last measure; ok is false if wait passed first. The polling waits for
// the transactions' timers (64×T1) to end what the replay started.
func Settle(ctx context.Context, base, slack Usage, wait time.Duration) (Usage, bool) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		u := Measure()
		if u.Within(base, slack) {
			return u, true
		}
		select {
		case <-ctx.Done():
			return u, false
		case <-tick.C:
		}
	}
}

// ProcUsage is what another process (a parkd) holds: open file
// descriptors, threads and resident memory, from /proc.
type ProcUsage struct {
	FDs     int
	Threads int
	RSS     uint64 // bytes
}

// String is the usage in a log line's words.
func (u ProcUsage) String() string {
	return fmt.Sprintf("%d fds, %d threads, %.1f MiB resident", u.FDs, u.Threads, float64(u.RSS)/(1<<20))
}

var statusLine = regexp.MustCompile(`(?m)^(Threads|VmRSS):\s+(\d+)`)

// MeasureProc returns the usage of process pid; ok is false where /proc
// does not tell it (not Linux, or the process is gone).
func MeasureProc(pid int) (ProcUsage, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return ProcUsage{}, false
	}
	u := ProcUsage{FDs: countFDs(strconv.Itoa(pid))}
	for _, m := range statusLine.FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.ParseUint(m[2], 10, 64)
		switch m[1] {
		case "Threads":
			u.Threads = int(n)
		case "VmRSS":
			u.RSS = n * 1024
		}
	}
	return u, true
}

// isolatedEnv names the test a child process of the test binary runs
// alone (see Isolated); skipEnv lists the cases ("udp/name") that child
// must not send, because they crashed an earlier child.
const (
	isolatedEnv = "BADSIP_ISOLATED"
	skipEnv     = "BADSIP_SKIP"
	verboseEnv  = "BADSIP_VERBOSE"
)

// Verbose reports whether the test that started this child (see
// Isolated) runs with -v: the child itself always does.
func Verbose() bool {
	if os.Getenv(isolatedEnv) != "" {
		return os.Getenv(verboseEnv) != ""
	}
	return testing.Verbose()
}

// sendingMark starts the line a child writes to stderr before it sends
// a case, so that its parent can tell which case crashed it.
const sendingMark = "badsip: sending "

// maxCrashes bounds the children Isolated starts after crashes.
const maxCrashes = 40

// Isolated runs the calling test again, alone, in a child process of
// the test binary, and reports the child's failure as its own; it
// returns true in the child, where the test's body runs. The child
// shortens sipgo's transaction timers (T1 50 ms, so 64×T1 is 3.2 s)
// before any SIP stack starts: sipgo keeps them in unsynchronised
// package variables, so they can only be changed in a process where no
// other test's user agent runs. With them, what a replay leaves in the
// transaction layer ends in seconds instead of 32 s, and the leak checks
// can wait for it.
//
// When a case crashes the child (an in-process service panics), the
// parent reports the case and the panic, and runs a new child that skips
// it (and Replayer.All reports it as Crashed), so that one crasher does
// not hide the rest of the corpus.
//
// Call it first in a top-level test (not a subtest) that does not call
// t.Parallel.
func Isolated(t *testing.T) bool {
	t.Helper()
	if os.Getenv(isolatedEnv) == t.Name() {
		sip.SetTimers(50*time.Millisecond, 400*time.Millisecond, 500*time.Millisecond)
		// sipgo logs what it drops to the default logger; the replay
		// judges what it drops by the silence, and shows it with
		// SIPTEST_LOG set.
		if os.Getenv("SIPTEST_LOG") == "" {
			slog.SetDefault(slog.New(slog.DiscardHandler))
		} else {
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
		}
		return true
	}
	args := []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.count=1", "-test.v"}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(d).Round(time.Second).String())
	}
	var skip, crashes []string
	for {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), isolatedEnv+"="+t.Name(), skipEnv+"="+strings.Join(skip, ","))
		if testing.Verbose() {
			cmd.Env = append(cmd.Env, verboseEnv+"=1")
		}
		out, err := cmd.CombinedOutput()
		text, last := stripMarks(string(out))
		crash := crashAfterLastMark(string(out))
		if err != nil && crash != "" && last != "" && len(skip) < maxCrashes && !slices.Contains(skip, last) {
			crashes = append(crashes, fmt.Sprintf("%s crashed the process:\n%s", last, indent(crash)))
			skip = append(skip, last)
			continue
		}
		if len(crashes) > 0 {
			t.Errorf("%d cases crashed the process (each run again without it):\n%s", len(crashes), strings.Join(crashes, "\n"))
		}
		if err != nil {
			t.Errorf("%s in its own process: %v\n%s", t.Name(), err, indent(text))
		} else if testing.Verbose() {
			t.Logf("%s in its own process:\n%s", t.Name(), indent(text))
		}
		return false
	}
}

// stripMarks removes the sending marks from a child's output and
// returns the case of the last one ("udp/name").
func stripMarks(out string) (text, last string) {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if c, ok := strings.CutPrefix(l, sendingMark); ok {
			last = c
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n"), last
}

// crashAfterLastMark returns the start of a panic or fatal error that
// follows the last sending mark of a child's output, or "".
func crashAfterLastMark(out string) string {
	i := strings.LastIndex(out, sendingMark)
	if i < 0 {
		return ""
	}
	rest := out[i:]
	j := -1
	for _, m := range []string{"\npanic: ", "\nfatal error: "} {
		if k := strings.Index(rest, m); k >= 0 && (j < 0 || k < j) {
			j = k
		}
	}
	if j < 0 {
		return ""
	}
	lines := strings.Split(strings.TrimPrefix(rest[j:], "\n"), "\n")
	return strings.Join(lines[:min(len(lines), 16)], "\n")
}

// markSending tells a parent (see Isolated) which case goes next.
func markSending(network, name string) {
	if os.Getenv(isolatedEnv) != "" {
		fmt.Fprintf(os.Stderr, "%s%s/%s\n", sendingMark, network, name)
	}
}

// skipped reports whether an earlier child crashed on this case.
func skipped(network, name string) bool {
	s := os.Getenv(skipEnv)
	return s != "" && slices.Contains(strings.Split(s, ","), network+"/"+name)
}

func indent(s string) string {
	return "    | " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    | ")
}
