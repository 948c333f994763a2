package notify_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/needpeer"
	"github.com/switchboard/switchboard/internal/notify"
)

// busConfig is a private session bus with no service files, so that
// nothing is started on demand: the tests start the notification
// service themselves (or not at all).
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// startBus starts a real dbus-daemon and returns its address.
func startBus(t *testing.T) string {
	t.Helper()
	daemon := needpeer.Program(t, "dbus-daemon")
	dir := t.TempDir()
	sock := filepath.Join(dir, "bus")
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(busConfig, sock)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--nofork", "--nopidfile", "--config-file="+conf, "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	return strings.TrimSpace(line)
}

// startXvfb starts a virtual X display for the notification service and
// returns its name (":5").
func startXvfb(t *testing.T) string {
	t.Helper()
	xvfb := needpeer.Program(t, "Xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(xvfb, "-displayfd", "3", "-screen", "0", "1024x768x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if err != nil {
		t.Fatalf("Xvfb told no display: %v", err)
	}
	return ":" + strings.TrimSpace(line)
}

// server is a real notification service (dunst) on a private bus.
type server struct {
	t    *testing.T
	addr string
	env  []string
	ctl  string
}

func startServer(t *testing.T) *server {
	t.Helper()
	dunst := needpeer.Program(t, "dunst", "dunstctl")
	ctl := needpeer.Program(t, "dunstctl")
	addr := startBus(t)
	display := startXvfb(t)
	home := t.TempDir()
	env := append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+addr, "DISPLAY="+display,
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "WAYLAND_DISPLAY=")
	cmd := exec.Command(dunst)
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return &server{t: t, addr: addr, env: env, ctl: ctl}
}

// connect connects once dunst owns its name on the bus.
func (s *server) connect() *notify.Client {
	s.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		c, err := notify.Connect(ctx, s.addr)
		cancel()
		if err == nil {
			s.t.Cleanup(func() { _ = c.Close() })
			return c
		}
		if !errors.Is(err, notify.ErrNoService) || time.Now().After(deadline) {
			s.t.Fatalf("connect to dunst: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) dunstctl(args ...string) string {
	s.t.Helper()
	cmd := exec.Command(s.ctl, args...)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("dunstctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// displayed is how many notifications dunst shows.
func (s *server) displayed() int {
	n, err := strconv.Atoi(s.dunstctl("count", "displayed"))
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

func (s *server) waitDisplayed(want int) {
	s.t.Helper()
	deadline := time.Now().Add(waitFor)
	for s.displayed() != want {
		if time.Now().After(deadline) {
			s.t.Fatalf("dunst shows %d notifications, want %d", s.displayed(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNoBusIsQuickAndQuiet(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	if _, err := notify.SessionAddress(); !errors.Is(err, notify.ErrNoBus) {
		t.Fatalf("SessionAddress without a bus: %v, want ErrNoBus", err)
	}
	c, err := notify.Session(context.Background())
	if !errors.Is(err, notify.ErrNoBus) {
		t.Fatalf("Session without a bus: %v, %v; want ErrNoBus", c, err)
	}
}

func TestBusWithoutService(t *testing.T) {
	addr := startBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := notify.Session(ctx)
	if !errors.Is(err, notify.ErrNoService) {
		t.Fatalf("Session on a bus with no notification service: %v, %v; want ErrNoService", c, err)
	}
}

func TestActionAndWithdraw(t *testing.T) {
	s := startServer(t)
	c := s.connect()
	if !c.Actions() {
		t.Fatal("dunst shows actions, the client says it does not")
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()

	actions := make(chan string, 4)
	closed := make(chan notify.ClosedReason, 4)
	h := notify.Handlers{
		OnAction: func(key string) { actions <- key },
		OnClosed: func(r notify.ClosedReason) { closed <- r },
	}
	n := notify.Notification{Title: "Incoming call", Body: "Alice Martin +442079460018",
		Actions: []notify.Action{{Key: "answer", Label: "Answer"}}, Urgent: true}
	first, err := c.Notify(ctx, n, h)
	if err != nil {
		t.Fatal(err)
	}
	s.waitDisplayed(1)
	// The receptionist clicks Answer (dunst's default action is the one
	// action there is).
	s.dunstctl("action", "0")
	select {
	case key := <-actions:
		if key != "answer" {
			t.Fatalf("action %q, want answer", key)
		}
	case <-time.After(waitFor):
		t.Fatal("no ActionInvoked for the click")
	}
	// dunst keeps it after the click: the program withdraws it (the call
	// was answered).
	if err := c.Withdraw(ctx, first); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-closed:
		if r != notify.ClosedByCall {
			t.Fatalf("closed for %d, want %d (withdrawn)", r, notify.ClosedByCall)
		}
	case <-time.After(waitFor):
		t.Fatal("no NotificationClosed after Withdraw")
	}

	closed2 := make(chan notify.ClosedReason, 4)
	id, err := c.Notify(ctx, notify.Notification{Title: "Incoming call", Body: "Bob Stone"},
		notify.Handlers{OnClosed: func(r notify.ClosedReason) { closed2 <- r }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Withdraw(ctx, id); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-closed2:
		if r != notify.ClosedByCall {
			t.Fatalf("closed for %d, want %d (withdrawn)", r, notify.ClosedByCall)
		}
	case <-time.After(waitFor):
		t.Fatal("no NotificationClosed after Withdraw")
	}
	s.waitDisplayed(0)
	if err := c.Withdraw(ctx, id); err != nil {
		t.Fatalf("withdrawing one already gone: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Notify(ctx, n, h); !errors.Is(err, notify.ErrClosed) {
		t.Fatalf("Notify after Close: %v, want ErrClosed", err)
	}
}

// waitFor only stops a hung test: the waits end when what they wait for
// happens, and a loaded machine may be slow.
const waitFor = 30 * time.Second
