//go:build unix

package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/switchboard/switchboard/internal/syncbuf"
)

// TestRunBadFlagsExit2 runs parkd's run with bad flags and values: each
// is status 2 and one line on stderr, and nothing starts.
func TestRunBadFlagsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"-no-such-flag"},
		{"-orbits", "720-701"},
		{"-park-time", "soon"},
		{"-listen"},
		{"stray-argument"},
	} {
		var stdout, stderr strings.Builder
		if code := run(args, &stdout, &stderr, nil); code != exitUsage || exitUsage != 2 {
			t.Errorf("%q: exit status %d, want 2", args, code)
		}
		if e := stderr.String(); !strings.HasPrefix(e, "parkd: ") || strings.Count(e, "\n") != 1 {
			t.Errorf("%q: stderr %q, want one line", args, e)
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: stdout %q, want nothing", args, stdout.String())
		}
	}
}

// crashChild is the environment variable that makes
// TestParkdCrashIsNotExit2 the crashing parkd in a child process.
const crashChild = "PARKD_TEST_CRASH_CHILD"

// TestParkdCrashIsNotExit2 runs parkd's main in a child process, lets it
// start serving, and panics in a goroutine of its own: the child must not
// exit 2 (the status of a bad flag, and Go's for an unrecovered panic) but
// abort with SIGABRT after the panic's stack.
func TestParkdCrashIsNotExit2(t *testing.T) {
	if os.Getenv(crashChild) == "1" {
		crashAsParkd()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestParkdCrashIsNotExit2$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChild+"=1", "GOTRACEBACK=")
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("the crashing parkd: %v (want it killed by SIGABRT)\nstderr:\n%s", err, stderr.String())
	}
	if ee.ExitCode() == exitUsage {
		t.Fatalf("a crash exited %d, the status of a bad flag\nstderr:\n%s", exitUsage, stderr.String())
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGABRT {
		t.Fatalf("the crashing parkd ended with %v, want SIGABRT\nstderr:\n%s", ee, stderr.String())
	}
	if e := stderr.String(); !strings.Contains(e, "panic: parkd test crash") || !strings.Contains(e, "goroutine ") {
		t.Fatalf("stderr lacks the panic and its stack:\n%s", e)
	}
}

// crashAsParkd is the child: parkd's main serving on a free port, then a
// panic nobody recovers.
func crashAsParkd() {
	// No core file for this deliberate crash.
	_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{})
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	os.Stdout = w
	os.Args = []string{"parkd", "-listen", "127.0.0.1:0", "-log-level", "error"}
	go main()
	// main prints its listening line once it serves; crash after it.
	if _, err := bufio.NewReader(r).ReadString('\n'); err != nil {
		panic(err)
	}
	go io.Copy(io.Discard, r)
	go func() { panic("parkd test crash") }()
	select {}
}
