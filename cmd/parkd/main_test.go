package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/syncbuf"
)

// Generous limits that only stop a hung test; nothing is measured by them.
const (
	hung     = 60 * time.Second
	hungExit = 2 * time.Minute
)

var (
	buildOnce sync.Once
	binDir    string
	parkdPath string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// parkdBinary builds the real parkd once per test run (with the race
// detector when the tests have it) and returns its path.
func parkdBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("the go command is not on PATH: %w", err)
			return
		}
		if binDir, buildErr = os.MkdirTemp("", "parkd-test-"); buildErr != nil {
			return
		}
		parkdPath = filepath.Join(binDir, "parkd")
		args := []string{"build", "-o", parkdPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command(goTool, append(args, ".")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return parkdPath
}

// proc is a running parkd.
type proc struct {
	cmd    *exec.Cmd
	lines  chan string    // stdout, line by line; closed at EOF
	stdout syncbuf.Buffer // all of stdout
	stderr syncbuf.Buffer
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// startParkd runs the real binary with args, its park store in a
// directory of the test's own unless args name one.
func startParkd(t testing.TB, args ...string) *proc {
	t.Helper()
	if !slices.Contains(args, "-state-dir") {
		args = append([]string{"-state-dir", t.TempDir()}, args...)
	}
	p := &proc{cmd: exec.Command(parkdBinary(t), args...), lines: make(chan string, 100), exited: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "GORACE=halt_on_error=1")
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.stdout.Write([]byte(sc.Text() + "\n"))
			p.lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it to the end first
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("parkd stdout:\n%s\nparkd stderr:\n%s", p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

// line waits for the next stdout line and checks it against re.
func (p *proc) line(t testing.TB, re string) []string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatalf("parkd closed stdout, want a line matching %s", re)
		}
		m := regexp.MustCompile(re).FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("parkd said %q, want a line matching %s", l, re)
		}
		return m
	case <-time.After(hung):
		t.Fatalf("parkd said nothing, want a line matching %s", re)
	}
	return nil
}

// waitLog waits until parkd's logs on stderr contain s.
func (p *proc) waitLog(t testing.TB, s string) {
	t.Helper()
	deadline := time.Now().Add(hung)
	for !strings.Contains(p.stderr.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("parkd never logged %s", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wait waits for parkd to exit and returns its exit code.
func (p *proc) wait(t testing.TB) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(hungExit):
		t.Fatal("parkd did not exit")
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("parkd: %v", p.err)
	return -1
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// options sends one SIP OPTIONS for sip:park@addr over network ("udp" or
// "tcp") from a plain socket and returns the response's status line.
func options(t *testing.T, network, addr string) string {
	t.Helper()
	conn, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	req := strings.Join([]string{
		"OPTIONS sip:park@" + addr + " SIP/2.0",
		"Via: SIP/2.0/" + strings.ToUpper(network) + " " + local + ";branch=z9hG4bK" + randomHex(8) + ";rport",
		"Max-Forwards: 70",
		"From: <sip:probe@" + local + ">;tag=" + randomHex(4),
		"To: <sip:park@" + addr + ">",
		"Call-ID: " + randomHex(8) + "@probe",
		"CSeq: 1 OPTIONS",
		"Contact: <sip:probe@" + local + ";transport=" + network + ">",
		"Accept: application/sdp",
		"Content-Length: 0",
		"", "",
	}, "\r\n")
	deadline := time.Now().Add(hung)
	buf := make([]byte, 65535)
	for time.Now().Before(deadline) {
		// UDP may lose a datagram: send again, as SIP does, until answered.
		if _, err := conn.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		n, err := conn.Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && network == "udp" {
			continue
		}
		if err != nil {
			t.Fatalf("OPTIONS over %s: %v", network, err)
		}
		status, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		if strings.HasPrefix(status, "SIP/2.0 1") { // provisional
			continue
		}
		return status
	}
	t.Fatalf("no answer to OPTIONS over %s", network)
	return ""
}

var listeningRE = `^parkd: listening on (127\.0\.0\.1:\d+) \(udp, tcp\), orbits %s, park time %s, ring-back %s$`

// TestParkdAnswersOptionsAndStopsOnSIGTERM runs the real binary on a free
// port, checks SIP OPTIONS over UDP and TCP and stops it with SIGTERM.
func TestParkdAnswersOptionsAndStopsOnSIGTERM(t *testing.T) {
	p := startParkd(t, "-listen", "127.0.0.1:0", "-drain", "45s")
	addr := p.line(t, fmt.Sprintf(listeningRE, "701-720", "2m0s", "30s"))[1]
	if got := options(t, "udp", addr); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS over UDP: %q, want SIP/2.0 200 OK", got)
	}
	if got := options(t, "tcp", addr); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS over TCP: %q, want SIP/2.0 200 OK", got)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.line(t, `^parkd: terminated: stopped after \S+; 0 parked calls and 0 bridged calls kept in \S+ for the next start$`)
	if code := p.wait(t); code != 0 {
		t.Fatalf("parkd exited %d after SIGTERM, want 0", code)
	}
	if errs := p.stderr.String(); !strings.Contains(errs, `msg="park service listening"`) || strings.Contains(errs, "level=ERROR") {
		t.Fatalf("parkd's logs:\n%s", errs)
	}
}

// sipURI parses s for a call.
func sipURI(t testing.TB, s string) sip.Uri {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestParkdDrainRingsBackTheParker is the graceful stop with a call
// parked: SIGTERM makes parkd refuse new parks and ring the parker back;
// the parker answers and takes the caller, hangs up, and parkd exits 0.
func TestParkdDrainRingsBackTheParker(t *testing.T) {
	p := startParkd(t, "-listen", "127.0.0.1:0", "-orbits", "701-710", "-park-time", "1h", "-drain", "1m", "-drain-on-exit")
	addr := p.line(t, fmt.Sprintf(listeningRE, "701-710", "1h0m0s", "30s"))[1]

	rung := make(chan *sip.Request, 1)
	answer, hangup := make(chan struct{}), make(chan struct{})
	parker := siptest.NewAgent(t, "desk", siptest.AgentOptions{Handler: func(d *diago.DialogServerSession) {
		rung <- d.InviteRequest
		select {
		case <-answer:
		case <-d.Context().Done():
			return
		}
		if _, err := d.Answer(diago.AnswerOptions{}); err != nil {
			t.Errorf("parker answering the ring-back: %v", err)
			return
		}
		select {
		case <-hangup:
		case <-d.Context().Done():
		}
	}}).AOR()
	caller := siptest.NewAgent(t, "alice", siptest.AgentOptions{})
	dc, err := caller.Call(t, sipURI(t, "sip:park-705@"+addr), sip.NewHeader("X-Park-Parker", "<"+parker+">"))
	if err != nil {
		t.Fatalf("park on 705: %v", err)
	}
	if h := dc.InviteResponse.GetHeader("X-Park-Orbit"); h == nil || h.Value() != "705" {
		t.Fatalf("X-Park-Orbit = %v, want 705", h)
	}
	// The park is settled once the service has the caller's ACK.
	p.waitLog(t, "event=parked orbit=705")

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.line(t, `^parkd: terminated: refusing new parks, ringing back 1 parked call, waiting up to 1m0s for calls to leave$`)
	inv := siptest.Recv(t, "the parker rung back", rung)
	if h := inv.GetHeader("X-Park-Orbit"); h == nil || h.Value() != "705" {
		t.Fatalf("ring-back INVITE has X-Park-Orbit %v, want 705", h)
	}

	// While it drains: no new parks, and the health check says so.
	if got := options(t, "udp", addr); !strings.HasPrefix(got, "SIP/2.0 503") {
		t.Fatalf("OPTIONS while draining: %q, want 503", got)
	}
	latecomer := siptest.NewAgent(t, "bob", siptest.AgentOptions{})
	if _, err := latecomer.Call(t, sipURI(t, "sip:park@"+addr)); err == nil {
		t.Fatal("a new park was accepted while draining")
	} else if siptest.Status(err) != 503 {
		t.Fatalf("a new park while draining: %v, want 503", err)
	}

	// The parker takes the call back, then hangs up: the caller is
	// hung up with it and nothing is left to wait for.
	close(answer)
	close(hangup)
	select {
	case <-dc.Context().Done():
	case <-time.After(hung):
		t.Fatal("the caller's call did not end after the parker hung up")
	}
	p.line(t, `^parkd: stopped after \S+; no call was left$`)
	if code := p.wait(t); code != 0 {
		t.Fatalf("parkd exited %d after SIGTERM, want 0", code)
	}
	logs := p.stderr.String()
	for _, want := range []string{`event=parked orbit=705`, `event="timed out" orbit=705`, `event="rang back" orbit=705`} {
		if !strings.Contains(logs, want) {
			t.Errorf("parkd's logs lack %s", want)
		}
	}
}

// TestParkdBadFlagExits2 runs the binary with a bad flag: exit status 2,
// exactly one line on stderr, nothing on stdout.
func TestParkdBadFlagExits2(t *testing.T) {
	p := startParkd(t, "-orbits", "720-701")
	if code := p.wait(t); code != 2 {
		t.Fatalf("exit status %d, want 2", code)
	}
	if got, want := p.stderr.String(), "parkd: -orbits 720-701: reversed range\n"; got != want {
		t.Fatalf("stderr %q, want %q", got, want)
	}
	if out := p.stdout.String(); out != "" {
		t.Fatalf("stdout %q, want nothing", out)
	}
}

// TestParkdBusyPortExits1: a port already taken is a failure at start.
func TestParkdBusyPortExits1(t *testing.T) {
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	p := startParkd(t, "-listen", busy.LocalAddr().String())
	if code := p.wait(t); code != 1 {
		t.Fatalf("exit status %d, want 1", code)
	}
	errs := p.stderr.String()
	if strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "parkd: cannot start: listen "+busy.LocalAddr().String()+": ") ||
		!strings.Contains(errs, "address already in use") {
		t.Fatalf("stderr %q, want one line saying the address is in use", errs)
	}
	if out := p.stdout.String(); out != "" {
		t.Fatalf("stdout %q, want nothing", out)
	}
}

// TestParkdHelp prints the flags on stdout and exits 0.
func TestParkdHelp(t *testing.T) {
	p := startParkd(t, "-help")
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit status %d, want 0", code)
	}
	out := p.stdout.String()
	for _, f := range []string{"-listen", "-advertise", "-orbits", "-park-time", "-ringback", "-fallback", "-moh", "-allow",
		"-user", "-password", "-drain", "-rtp-port", "-log-level", "-log-format"} {
		if !strings.Contains(out, "  "+f+" ") {
			t.Errorf("help lacks %s:\n%s", f, out)
		}
	}
	if errs := p.stderr.String(); errs != "" {
		t.Fatalf("stderr %q, want nothing", errs)
	}
}
