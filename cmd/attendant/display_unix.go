//go:build linux || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// errNoDisplay is a desktop session with no display to open a window on.
var errNoDisplay = errors.New("no display")

// checkDisplay reports whether a window can be opened: an X server at
// $DISPLAY or a Wayland compositor at $WAYLAND_DISPLAY answers. Without
// one, Fyne's GLFW driver fails to initialise and panics at the first
// window, after the console said it was ready.
func checkDisplay(getenv func(string) string) error {
	x, wl := getenv("DISPLAY"), getenv("WAYLAND_DISPLAY")
	if x == "" && wl == "" {
		return fmt.Errorf("%w: DISPLAY and WAYLAND_DISPLAY are not set", errNoDisplay)
	}
	var why []string
	if x != "" {
		if err := dialX(x); err != nil {
			why = append(why, fmt.Sprintf("no X server answers at DISPLAY=%s", x))
		} else {
			return nil
		}
	}
	if wl != "" {
		if err := dialWayland(wl, getenv("XDG_RUNTIME_DIR")); err != nil {
			why = append(why, fmt.Sprintf("no Wayland compositor answers at WAYLAND_DISPLAY=%s", wl))
		} else {
			return nil
		}
	}
	return fmt.Errorf("%w: %s", errNoDisplay, strings.Join(why, "; "))
}

const displayDialTimeout = 3 * time.Second

// dialX connects to the X server that display ("[host]:N[.S]") names:
// a local one by its socket, a remote one by TCP port 6000+N.
func dialX(display string) error {
	i := strings.LastIndex(display, ":")
	if i < 0 {
		return fmt.Errorf("DISPLAY %q: no :number", display)
	}
	host, num := display[:i], display[i+1:]
	num, _, _ = strings.Cut(num, ".")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return fmt.Errorf("DISPLAY %q: no :number", display)
	}
	if host == "" || host == "unix" {
		path := "/tmp/.X11-unix/X" + num
		c, err := net.DialTimeout("unix", path, displayDialTimeout)
		if err != nil {
			// Linux X servers also listen on the abstract socket.
			c, err = net.DialTimeout("unix", "@"+path, displayDialTimeout)
		}
		if err != nil {
			return err
		}
		return c.Close()
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(6000+n)), displayDialTimeout)
	if err != nil {
		return err
	}
	return c.Close()
}

// dialWayland connects to the compositor's socket: WAYLAND_DISPLAY is a
// path, or a name in XDG_RUNTIME_DIR.
func dialWayland(name, runtimeDir string) error {
	path := name
	if !filepath.IsAbs(path) {
		if runtimeDir == "" {
			return errors.New("XDG_RUNTIME_DIR is not set")
		}
		path = filepath.Join(runtimeDir, name)
	}
	c, err := net.DialTimeout("unix", path, displayDialTimeout)
	if err != nil {
		return err
	}
	return c.Close()
}

// quietDesktop keeps the window libraries from probing what is not there.
// In an X11 session (no WAYLAND_DISPLAY) GLFW still tries Wayland first,
// and libwayland then prints "error: XDG_RUNTIME_DIR is invalid or not
// set in the environment." on the terminal wherever XDG_RUNTIME_DIR is
// unset (su, ssh -X, a service): FYNE_PLATFORM=x11, Fyne's own switch,
// sends GLFW to X11 at once. A FYNE_PLATFORM the user set wins.
func quietDesktop(getenv func(string) string, setenv func(string, string) error) {
	if getenv("FYNE_PLATFORM") == "" && getenv("WAYLAND_DISPLAY") == "" && getenv("DISPLAY") != "" {
		_ = setenv("FYNE_PLATFORM", "x11")
	}
}
