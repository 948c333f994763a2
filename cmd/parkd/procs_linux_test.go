package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestParkdRaisesGoProcsForItsSenders: the real parkd gives the Go
// runtime one processor more per music sender (two here), and leaves a
// GOMAXPROCS set in its environment as it is.
func TestParkdRaisesGoProcsForItsSenders(t *testing.T) {
	env := slices.DeleteFunc(os.Environ(), func(v string) bool { return strings.HasPrefix(v, "GOMAXPROCS=") })
	raised := regexp.MustCompile(`msg="Go processors raised for the music senders" from=(\d+) to=(\d+) senders=2`)
	for _, c := range []struct {
		name  string
		env   []string
		raise bool
	}{
		{"default", env, true},
		{"GOMAXPROCS set", append(slices.Clip(env), "GOMAXPROCS=3"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := startParkdEnv(t, c.env, "-listen", "127.0.0.1:0", "-senders", "2", "-log-level", "debug")
			p.line(t, fmt.Sprintf(listeningRE, "701-720", "2m0s", "30s"))
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := p.wait(t); code != 0 {
				t.Fatalf("parkd exited %d after SIGTERM, want 0", code)
			}
			m := raised.FindStringSubmatch(p.stderr.String())
			if !c.raise {
				if m != nil || strings.Contains(p.stderr.String(), "Go processors raised") {
					t.Fatalf("parkd raised its Go processors with GOMAXPROCS set: %s", m)
				}
				return
			}
			if m == nil {
				t.Fatal("parkd did not say it raised its Go processors for its two music senders")
			}
			from, _ := strconv.Atoi(m[1])
			to, _ := strconv.Atoi(m[2])
			if to != from+2 {
				t.Fatalf("parkd raised its Go processors from %d to %d, want %d", from, to, from+2)
			}
		})
	}
}
