package needpeer

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestMessageNamesThePackage(t *testing.T) {
	for _, c := range []struct {
		progs []string
		want  string
	}{
		{[]string{"baresip"}, "baresip is not installed (apt-get install baresip-core, or scripts/install-deps)"},
		{[]string{"pactl", "parecord", "pulseaudio"}, "pactl, parecord, pulseaudio are not installed (apt-get install pulseaudio pulseaudio-utils, or scripts/install-deps)"},
		{[]string{"nosuch"}, "nosuch is not installed (apt-get install nosuch, or scripts/install-deps)"},
	} {
		if got := Message(c.progs...); got != c.want {
			t.Errorf("Message(%q) = %q, want %q", c.progs, got, c.want)
		}
	}
}

// TestPackagesAreInstalledByInstallDeps: every package a skip message
// names is one scripts/install-deps installs.
func TestPackagesAreInstalledByInstallDeps(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "install-deps")
	out, err := exec.Command("bash", script, "--list").Output()
	if err != nil {
		t.Fatalf("%s --list: %v", script, err)
	}
	listed := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		listed[p] = true
	}
	for _, want := range []string{"slapd", "ldap-utils", "pkg-config", "libwayland-dev", "baresip-core"} {
		if !listed[want] {
			t.Errorf("install-deps --list lacks %s", want)
		}
	}
	for prog, pkg := range Packages {
		if !listed[pkg] {
			t.Errorf("%s comes from %s, which scripts/install-deps does not install", prog, pkg)
		}
	}
}

// TestCIInstallsThroughInstallDeps: .ci/run has no package list of its
// own; it runs scripts/install-deps.
func TestCIInstallsThroughInstallDeps(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	b, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	ci := string(b)
	if !strings.Contains(ci, "scripts/install-deps") {
		t.Error(".ci/run does not run scripts/install-deps")
	}
	if strings.Contains(ci, "apt-get install") {
		t.Error(".ci/run installs Debian packages itself: the list belongs to scripts/install-deps alone")
	}
}
