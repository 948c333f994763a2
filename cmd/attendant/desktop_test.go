package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/app"
)

// withoutEnv is env less the variables named.
func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || k == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// TestNoDisplayOneLine runs the console (this test binary as the
// command) with DISPLAY and WAYLAND_DISPLAY unset: one line on stderr
// that says what to do, exit status 3, nothing started (no "console
// ready", no GLFW panic).
func TestNoDisplayOneLine(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-audio", "none", "-listen", "127.0.0.1:0", "-park-listen", "127.0.0.1:0")
	cmd.Env = append(withoutEnv(os.Environ(), "DISPLAY", "WAYLAND_DISPLAY"), "ATTENDANT_MAIN=1", "HOME="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitNoDisplay {
		t.Fatalf("exit %v, want status %d\nstderr: %s", err, exitNoDisplay, stderr.String())
	}
	want := "attendant: no display: DISPLAY and WAYLAND_DISPLAY are not set: run it in a desktop session, or for a headless try under Xvfb: xvfb-run -a attendant -demo\n"
	if stderr.String() != want {
		t.Errorf("stderr:\n%q\nwant:\n%q", stderr.String(), want)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q", stdout.String())
	}
}

// TestCheckDisplay: a display is there when its X server or Wayland
// compositor accepts a connection; a DISPLAY nobody serves is none.
func TestCheckDisplay(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

	// An "X server" on TCP 6000+N.
	var ln net.Listener
	var n int
	for n = 50; n < 1000 && ln == nil; n++ {
		ln, _ = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(6000+n))
	}
	if ln == nil {
		t.Fatal("no free port above 6050")
	}
	defer ln.Close()
	n--
	if err := checkDisplay(env(map[string]string{"DISPLAY": "127.0.0.1:" + strconv.Itoa(n) + ".0"})); err != nil {
		t.Errorf("X on TCP: %v", err)
	}

	// A "compositor" socket in the runtime dir.
	dir := t.TempDir()
	wl, err := net.Listen("unix", filepath.Join(dir, "wayland-7"))
	if err != nil {
		t.Fatal(err)
	}
	defer wl.Close()
	if err := checkDisplay(env(map[string]string{"WAYLAND_DISPLAY": "wayland-7", "XDG_RUNTIME_DIR": dir})); err != nil {
		t.Errorf("Wayland: %v", err)
	}

	for name, kv := range map[string]map[string]string{
		"nothing set":      {},
		"no X server":      {"DISPLAY": ":" + strconv.Itoa(5000+n)},
		"a broken DISPLAY": {"DISPLAY": "nonsense"},
		"no compositor":    {"WAYLAND_DISPLAY": "wayland-8", "XDG_RUNTIME_DIR": dir},
	} {
		if err := checkDisplay(env(kv)); !errors.Is(err, errNoDisplay) {
			t.Errorf("%s: %v, want errNoDisplay", name, err)
		}
	}
}

// TestQuietDesktopPicksX11: in an X11 session GLFW is sent to X11 (no
// Wayland probe to complain about XDG_RUNTIME_DIR); a Wayland session
// and the user's own FYNE_PLATFORM are left alone.
func TestQuietDesktopPicksX11(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"DISPLAY": ":0"}, "x11"},
		{map[string]string{"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, ""},
		{map[string]string{"DISPLAY": ":0", "FYNE_PLATFORM": "wayland"}, "wayland"},
	} {
		got := c.env["FYNE_PLATFORM"]
		quietDesktop(func(k string) string { return c.env[k] }, func(k, v string) error {
			if k == "FYNE_PLATFORM" {
				got = v
			}
			return nil
		})
		if got != c.want {
			t.Errorf("%v: FYNE_PLATFORM %q, want %q", c.env, got, c.want)
		}
	}
}

// TestRealWindowQuietStart: started in an X session without
// XDG_RUNTIME_DIR and with a D-Bus session that has no notification
// service, the console writes no "XDG_RUNTIME_DIR is invalid" and no
// D-Bus errors on the terminal, not at the start and not at incoming
// calls (their notifications fail).
func TestRealWindowQuietStart(t *testing.T) {
	x := startX(t, "quiet-start")
	q := *x
	q.env = withoutEnv(x.env, "XDG_RUNTIME_DIR", "WAYLAND_DISPLAY", "FYNE_PLATFORM")
	c := startConsole(t, &q, "-demo", "-demo-interval", "1s", "-demo-max", "2", "-demo-giveup", "0", "-demo-seed", "3",
		"-listen", "127.0.0.1:0", "-park-listen", "127.0.0.1:0", "-audio", "none")
	c.waitEvent(t, "first-frame", 60*time.Second)
	c.wait(t, "two ringing calls notified", 30*time.Second, func(s *app.Snapshot) bool {
		n := 0
		for _, l := range s.Lines {
			if l.State == "ringing" {
				n++
			}
		}
		return n == 2 && s.Notification != ""
	})
	out := c.stderr.String()
	for _, noise := range []string{"XDG_RUNTIME_DIR", "Fyne error", "D-Bus", "message to bus", "Cause:"} {
		if strings.Contains(out, noise) {
			t.Errorf("the terminal shows %q:\n%s", noise, out)
		}
	}
}
