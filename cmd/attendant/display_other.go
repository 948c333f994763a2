//go:build !(linux || freebsd || netbsd || openbsd || dragonfly)

package main

import "errors"

// errNoDisplay is a session with no display to open a window on.
var errNoDisplay = errors.New("no display")

// checkDisplay reports whether a window can be opened; on Windows and
// macOS a process always has the desktop it was started from.
func checkDisplay(func(string) string) error { return nil }

// quietDesktop has nothing to quiet outside X11 and Wayland.
func quietDesktop(func(string) string, func(string, string) error) {}
