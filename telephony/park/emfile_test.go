//go:build linux

package park_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony/park"
)

// lowFDsChild names the environment variable that makes
// TestHelperParkWithFewFDs run the service in a child process.
const lowFDsChild = "SWITCHBOARD_PARK_LOW_FDS_CHILD"

// spareFDs is how many file descriptors the child service has left once
// it listens.
const spareFDs = 6

// TestHelperParkWithFewFDs is not a test: run by TestTCPServedAgainAfterEMFILE
// in a child process, it starts a park service, leaves it spareFDs free
// file descriptors, prints "LISTEN host:port" and serves until its stdin
// closes. The service logs at debug level to stderr, sipgo's too.
func TestHelperParkWithFewFDs(t *testing.T) {
	if os.Getenv(lowFDsChild) != "1" {
		t.Skip("run by TestTCPServedAgainAfterEMFILE")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	slog.SetDefault(log)
	svc := siptest.StartPark(t, park.Options{Logger: log, TCPMaxPerSource: -1})
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	open := map[int]bool{}
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			open[n] = true
		}
	}
	// New descriptors take the lowest free number under the limit: put
	// the limit where exactly spareFDs numbers are free under it.
	limit, free := 0, 0
	for ; free < spareFDs; limit++ {
		if !open[limit] {
			free++
		}
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: uint64(limit), Max: uint64(limit)}); err != nil {
		t.Fatal(err)
	}
	log.Info("file descriptors limited", "open", len(open), "limit", limit)
	fmt.Printf("LISTEN %s\n", svc.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// TestTCPServedAgainAfterEMFILE: a parkd that ran out of file descriptors
// serves TCP again once connections close (issue 10: the first EMFILE
// ended sipgo's accept loop, and TCP was never served again).
func TestTCPServedAgainAfterEMFILE(t *testing.T) {
	if os.Getenv(lowFDsChild) == "1" {
		t.Skip("in the child")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperParkWithFewFDs$")
	cmd.Env = append(os.Environ(), lowFDsChild+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logged siptest.Log[string]
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			logged.Add(sc.Text())
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(siptest.WaitFor):
			_ = cmd.Process.Kill()
			<-done
		}
		<-logDone
		if t.Failed() {
			for _, l := range logged.All() {
				t.Log("child: " + l)
			}
		}
	})

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "LISTEN "); ok {
				lines <- addr
			}
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	addr := siptest.Recv(t, "the child's address", lines)
	if addr == "" {
		t.Fatal("the child ended before listening")
	}

	// Open connections until the child's Accept fails for lack of
	// descriptors; the ones it could not accept wait in its backlog.
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	exhausted := func(ls []string) bool {
		for _, l := range ls {
			if strings.Contains(l, "too many open files") {
				return true
			}
		}
		return false
	}
	for range 3 * spareFDs {
		c, err := net.DialTimeout("tcp", addr, siptest.WaitFor)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	logged.Until(t, "the child runs out of file descriptors", exhausted)

	for _, c := range conns {
		c.Close()
	}
	conns = nil

	// A new connection is served once descriptors are free again.
	c, err := net.DialTimeout("tcp", addr, siptest.WaitFor)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	if _, err := io.WriteString(c, sipMsg("OPTIONS", "sip:park@"+addr, "TCP", local, "after-emfile", "", "", -1)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(siptest.WaitFor))
	par := sip.NewParser().NewSIPStream()
	buf := make([]byte, 8192)
	for {
		n, err := c.Read(buf)
		var got *sip.Response
		_ = par.ParseSIPStream(buf[:n], func(m sip.Message) {
			if r, ok := m.(*sip.Response); ok && r.StatusCode >= 200 {
				got = r
			}
		})
		if got != nil {
			if got.StatusCode != sip.StatusOK {
				t.Fatalf("OPTIONS after EMFILE: %d; want 200", got.StatusCode)
			}
			return
		}
		if err != nil {
			t.Fatalf("no answer to an OPTIONS over TCP after the child ran out of descriptors: %v", err)
		}
	}
}
