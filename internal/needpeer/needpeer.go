// Package needpeer is how a test asks for a real peer program (baresip,
// kamailio, PulseAudio, slapd, Xvfb...): the program's path when it is
// installed; otherwise the test is skipped with a message that names the
// Debian package to install, or fails when CI=true, because CI must run
// every real-peer test (scripts/install-deps installs them all).
package needpeer

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// Packages maps each peer program the tests run to the Debian/Ubuntu
// package that installs it. Every package here is in scripts/install-deps
// (a test checks it).
var Packages = map[string]string{
	"baresip":     "baresip-core",
	"kamailio":    "kamailio",
	"pulseaudio":  "pulseaudio",
	"pactl":       "pulseaudio-utils",
	"parecord":    "pulseaudio-utils",
	"pacat":       "pulseaudio-utils",
	"slapd":       "slapd",
	"slapadd":     "slapd",
	"ldapadd":     "ldap-utils",
	"ldapsearch":  "ldap-utils",
	"ldapmodify":  "ldap-utils",
	"Xvfb":        "xvfb",
	"xvfb-run":    "xvfb",
	"xdotool":     "xdotool",
	"import":      "imagemagick",
	"dbus-launch": "dbus-x11",
	"dbus-daemon": "dbus-x11", // dbus-x11 depends on dbus-daemon
	"dunst":       "dunst",
	"dunstctl":    "dunst",
	"gcc":         "gcc",
}

// inCI reports whether missing peers must fail the test.
func inCI() bool { return os.Getenv("CI") == "true" }

// Program returns the path of each program in progs (the first one's is
// returned); when any is missing the test is skipped, naming the packages
// to install, or fails under CI=true.
func Program(t testing.TB, progs ...string) string {
	t.Helper()
	var first string
	var missing []string
	for i, p := range progs {
		path, err := exec.LookPath(p)
		if err != nil {
			missing = append(missing, p)
			continue
		}
		if i == 0 {
			first = path
		}
	}
	if len(missing) > 0 {
		missingPeer(t, Message(missing...))
	}
	return first
}

// File requires a file that a package installs (a plugin, a module):
// what says what it is ("kamailio's TLS module"), pkg the package.
func File(t testing.TB, path, what, pkg string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		missingPeer(t, fmt.Sprintf("%s (%s) is not installed (apt-get install %s, or scripts/install-deps)", what, path, pkg))
	}
}

// Message says which programs are missing and which packages install
// them: "baresip is not installed (apt-get install baresip-core, or
// scripts/install-deps)".
func Message(progs ...string) string {
	var pkgs []string
	seen := map[string]bool{}
	for _, p := range progs {
		pkg, ok := Packages[p]
		if !ok {
			pkg = p
		}
		if !seen[pkg] {
			seen[pkg] = true
			pkgs = append(pkgs, pkg)
		}
	}
	sort.Strings(pkgs)
	verb := "is"
	if len(progs) > 1 {
		verb = "are"
	}
	return fmt.Sprintf("%s %s not installed (apt-get install %s, or scripts/install-deps)",
		strings.Join(progs, ", "), verb, strings.Join(pkgs, " "))
}

func missingPeer(t testing.TB, msg string) {
	t.Helper()
	if inCI() {
		t.Fatalf("%s; CI=true: real-peer tests must run, not skip", msg)
	}
	t.Skip(msg)
}
