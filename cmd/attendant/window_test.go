package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/internal/needpeer"
	"github.com/switchboard/switchboard/internal/procstop"
)

// This file drives the real console window under Xvfb: the console (this
// test binary run as the command, see TestMain) shows a real GLFW window,
// xdotool presses keys and drags the mouse, ImageMagick's import takes a
// screenshot of each step (Fyne's own Canvas().Capture() is black under
// Xvfb) and the test reads what happened from the console's state log
// (-state-log), not from the pictures.
//
// The screenshots are kept in artifacts/screenshots/ at the top of the
// repository (or $SWITCHBOARD_SCREENSHOTS) for CI to keep.

// TestMain runs this test binary as the console when ATTENDANT_MAIN is
// set, so that the real-window test needs no second build of the GLFW
// driver; and as the benchmark's console on the in-memory phone when
// ATTENDANT_BENCH is set.
func TestMain(m *testing.M) {
	switch {
	case os.Getenv("ATTENDANT_MAIN") != "":
		stop := cpuProfile()
		code := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, time.Now())
		stop()
		os.Exit(afterRun(code, os.Args[1:], os.Stderr))
	case os.Getenv("ATTENDANT_BENCH") != "":
		os.Exit(benchConsole(os.Getenv("ATTENDANT_BENCH")))
	}
	os.Exit(m.Run())
}

// x11 is a private X server (Xvfb) and D-Bus session for one test.
type x11 struct {
	display string
	env     []string
	shots   string
	prefix  string // of the screenshots' names
	n       int
}

// needTools skips the test when the X tools are missing, or fails it
// when CI=true (CI must run it).
func needTools(t testing.TB) {
	t.Helper()
	needpeer.Program(t, "Xvfb", "xdotool", "import", "dbus-launch")
}

// startX starts Xvfb on a free display and a D-Bus session; both end
// with the test. Screenshots are named prefix-NN-step.png.
func startX(t testing.TB, prefix string) *x11 {
	t.Helper()
	needTools(t)
	x := &x11{prefix: prefix}
	// Xvfb picks a free display itself and writes its number to fd 3:
	// choosing one here raced with other tests' servers (two Xvfb on one
	// number: the loser exits, its test runs on the winner's display and
	// loses it when the winner's test ends). -noreset: by default Xvfb
	// resets when its last client leaves, and a console connecting in that
	// moment fails GLFW's init ("The GLFW library is not initialized").
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1400x900x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if n := strings.TrimSpace(line); err == nil && n != "" {
		x.display = ":" + n
	}
	if x.display == "" {
		t.Fatal("no free X display for Xvfb")
	}
	home := t.TempDir()
	run := filepath.Join(home, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home, ".cache"), 0o700); err != nil {
		t.Fatal(err)
	}
	x.env = append(os.Environ(), "DISPLAY="+x.display, "HOME="+home, "XDG_RUNTIME_DIR="+run,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"), "FYNE_SCALE=1")
	out, err := exec.Command("dbus-launch", "--sh-syntax").Output()
	if err != nil {
		t.Fatalf("dbus-launch: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSuffix(line, ";"), "="); ok && strings.HasPrefix(k, "DBUS_SESSION_BUS_") {
			v = strings.Trim(v, "'")
			x.env = append(x.env, k+"="+v)
			if k == "DBUS_SESSION_BUS_PID" {
				if pid, err := strconv.Atoi(v); err == nil {
					t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGTERM) })
				}
			}
		}
	}
	x.shots = os.Getenv("SWITCHBOARD_SCREENSHOTS")
	if x.shots == "" {
		x.shots = filepath.Join("..", "..", "artifacts", "screenshots")
	}
	if err := os.MkdirAll(x.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return x
}

// shot saves a screenshot of the whole screen as prefix-NN-name.png.
func (x *x11) shot(t testing.TB, name string) {
	t.Helper()
	x.n++
	path := filepath.Join(x.shots, fmt.Sprintf("%s-%02d-%s.png", x.prefix, x.n, name))
	cmd := exec.Command("import", "-window", "root", path)
	cmd.Env = x.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("screenshot %s: %v: %s", name, err, out)
		return
	}
	t.Logf("screenshot %s", path)
}

// xdo runs xdotool with args.
func (x *x11) xdo(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("xdotool", args...)
	cmd.Env = x.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("xdotool %q: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// console is the console running as a process, with its state log.
type console struct {
	cmd    *exec.Cmd
	log    string
	stderr *lockedWriter
	exited chan struct{}
	win    string // X window ID
}

// startConsole runs the console with args under x.
func startConsole(t testing.TB, x *x11, args ...string) *console {
	t.Helper()
	c := &console{log: filepath.Join(t.TempDir(), "state.jsonl"), stderr: &lockedWriter{buf: &bytes.Buffer{}}, exited: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], append([]string{"-state-log", c.log}, args...)...)
	c.cmd.Env = append(x.env, "ATTENDANT_MAIN=1")
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		procstop.Stop(c.cmd.Process, c.exited, 15*time.Second)
		if t.Failed() {
			t.Logf("console stderr:\n%s", c.stderr.String())
		}
	})
	return c
}

// lockedWriter is the console's stderr, written by exec's copier and
// read by the test.
type lockedWriter struct {
	mu  sync.Mutex
	buf *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// logLine is one line of the state log.
type logLine struct {
	Event string        `json:"event"`
	Error string        `json:"error"`
	State *app.Snapshot `json:"state"`
}

// lines reads the state log so far.
func (c *console) lines() []logLine {
	f, err := os.Open(c.log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []logLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

// state returns the last state the console wrote.
func (c *console) state() *app.Snapshot {
	ls := c.lines()
	for i := len(ls) - 1; i >= 0; i-- {
		if ls[i].State != nil {
			return ls[i].State
		}
	}
	return nil
}

// wait polls the state log until cond holds.
func (c *console) wait(t testing.TB, what string, d time.Duration, cond func(s *app.Snapshot) bool) *app.Snapshot {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if s := c.state(); s != nil && cond(s) {
			return s
		}
		select {
		case <-c.exited:
			t.Fatalf("the console exited while waiting for %s (%v)", what, c.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			s, _ := json.Marshal(c.state())
			t.Fatalf("never: %s\nlast state: %s", what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitEvent polls the state log for an event line.
func (c *console) waitEvent(t testing.TB, event string, d time.Duration) logLine {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, l := range c.lines() {
			if l.Event == event {
				return l
			}
		}
		select {
		case <-c.exited:
			t.Fatalf("the console exited before %q (%v)", event, c.cmd.ProcessState)
		default:
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %q in the state log", event)
	return logLine{}
}

// window finds the console's X window.
func (c *console) window(t testing.TB, x *x11) string {
	t.Helper()
	if c.win == "" {
		ids := strings.Fields(x.xdo(t, "search", "--sync", "--onlyvisible", "--name", "^Switchboard"))
		if len(ids) == 0 {
			t.Fatal("no Switchboard window")
		}
		c.win = ids[0]
	}
	return c.win
}

// px formats a canvas coordinate as a pixel (FYNE_SCALE=1).
func px(v float32) string { return strconv.Itoa(int(v + 0.5)) }

func lineNamed(s *app.Snapshot, state string) (app.LineSnapshot, bool) {
	for _, l := range s.Lines {
		if l.State == state {
			return l, true
		}
	}
	return app.LineSnapshot{}, false
}

func orbitOf(s *app.Snapshot, n int) app.OrbitSnapshot {
	for _, o := range s.Orbits {
		if o.Number == n {
			return o
		}
	}
	return app.OrbitSnapshot{}
}

func contains(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// TestRealWindowParkAndRetrieve runs the console with -demo in a real
// window: a demo caller rings, Enter answers it, its card is dragged
// onto orbit 703 with the mouse, and a click on the lit slot retrieves
// it.
func TestRealWindowParkAndRetrieve(t *testing.T) {
	x := startX(t, "park-retrieve")
	c := startConsole(t, x, "-demo", "-demo-interval", "1s", "-demo-max", "1", "-demo-giveup", "0", "-demo-seed", "7",
		"-listen", "127.0.0.1:0", "-park-listen", "127.0.0.1:0", "-audio", "none")
	c.waitEvent(t, "first-frame", 60*time.Second)
	win := c.window(t, x)
	x.shot(t, "started")

	// A demo caller rings.
	s := c.wait(t, "a ringing call", 30*time.Second, func(s *app.Snapshot) bool { _, ok := lineNamed(s, "ringing"); return ok })
	ringing, _ := lineNamed(s, "ringing")
	c.wait(t, "a desktop notification naming the caller", 10*time.Second, func(s *app.Snapshot) bool {
		return strings.Contains(s.Notification, ringing.Name)
	})
	x.shot(t, "ringing")

	// Enter answers it.
	x.xdo(t, "key", "--window", win, "Return")
	s = c.wait(t, "the call answered", 15*time.Second, func(s *app.Snapshot) bool {
		l, ok := lineNamed(s, "active")
		return ok && l.ID == ringing.ID
	})
	x.shot(t, "answered")

	// Drag its card (by its name, clear of the buttons) onto 703.
	card, _ := lineNamed(s, "active")
	slot := orbitOf(s, 703)
	fromX, fromY := card.Rect.X+card.Rect.W/2, card.Rect.Y+18
	toX, toY := slot.Rect.Centre()
	x.drag(t, win, fromX, fromY, toX, toY, nil)
	c.wait(t, "703 offered while the card hovers", 5*time.Second, func(s *app.Snapshot) bool { return orbitOf(s, 703).Hint == "Park here" })
	x.shot(t, "dragging")
	x.xdo(t, "mouseup", "1")
	c.wait(t, "the caller parked on 703", 15*time.Second, func(s *app.Snapshot) bool {
		o := orbitOf(s, 703)
		return o.State == "mine" && o.Caller == card.Name && contains(s.History, "Parked "+card.Name+" on 703")
	})
	c.wait(t, "the parked card gone", 10*time.Second, func(s *app.Snapshot) bool { return len(s.Lines) == 0 })
	x.shot(t, "parked")

	// A click on the lit slot retrieves the caller.
	s = c.state()
	toX, toY = orbitOf(s, 703).Rect.Centre()
	x.xdo(t, "mousemove", "--window", win, px(toX), px(toY))
	x.xdo(t, "click", "1")
	c.wait(t, "the caller back on a line, 703 free", 15*time.Second, func(s *app.Snapshot) bool {
		l, ok := lineNamed(s, "active")
		return ok && l.Name == card.Name && l.Detail == "retrieved from orbit 703" && orbitOf(s, 703).State == "free" &&
			contains(s.History, "Retrieved "+card.Name+" from 703 after ")
	})
	x.shot(t, "retrieved")

	// SIGTERM closes the window and the console exits cleanly.
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		if code := c.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("exit status %d after SIGTERM", code)
		}
	case <-time.After(20 * time.Second):
		t.Error("the console did not exit on SIGTERM")
	}
}

// TestRealWindowBusyPort: with its SIP port taken the console says so on
// stderr and in its window, and exits 1 when the window closes.
func TestRealWindowBusyPort(t *testing.T) {
	x := startX(t, "busy-port")
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.LocalAddr().String()
	c := startConsole(t, x, "-listen", addr, "-park-listen", "127.0.0.1:0", "-audio", "none")
	l := c.waitEvent(t, "startup-error", 60*time.Second)
	if !strings.Contains(l.Error, "SIP address "+addr+": address already in use") {
		t.Errorf("state log error %q", l.Error)
	}
	c.window(t, x)
	// Let the window's first events settle: Fyne 2.8.1 can panic ("send
	// on closed channel") when it quits while a lifecycle event (the
	// first focus) is still queued.
	time.Sleep(2 * time.Second)
	x.shot(t, "error-window")
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the console did not exit on SIGTERM")
	}
	if code := c.cmd.ProcessState.ExitCode(); code != exitRuntime {
		t.Errorf("exit status %d, want %d", code, exitRuntime)
	}
	if want := "attendant: cannot start: SIP address " + addr + ": address already in use"; !strings.Contains(c.stderr.String(), want) {
		t.Errorf("stderr %q does not say %q", c.stderr.String(), want)
	}
}
