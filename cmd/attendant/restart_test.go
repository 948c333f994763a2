package main

import (
	"slices"
	"testing"
)

// TestRestartArgs: the console starts again with the flags that are not
// settings (the demo, the logs, the state log), without those the window's
// settings hold (the settings just saved must win over them, even a flag
// given at its default value) and without -reset-settings (it would
// forget what was just saved).
func TestRestartArgs(t *testing.T) {
	args := []string{"-demo", "-listen", "127.0.0.1:5060", "-display-name=Front", "-park", "10.0.0.5:5070",
		"-orbits", "801-810", "-state-log", "/tmp/s.jsonl", "-log-level=debug", "-reset-settings",
		"-ldap-starttls", "-contacts", "a.csv", "-audio", "none", "-park-time", "90s"}
	got := restartArgs(args)
	want := []string{"-audio=none", "-demo=true", "-log-level=debug", "-park-time=90s", "-state-log=/tmp/s.jsonl"}
	if !slices.Equal(got, want) {
		t.Errorf("restartArgs(%q)\n = %q\nwant %q", args, got, want)
	}
	if got := restartArgs([]string{"-park-listen", "127.0.0.1:5071"}); len(got) != 0 {
		t.Errorf("-park-listen kept: %q", got)
	}
}
