package store

import (
	"errors"
	"path/filepath"
	"runtime"
	"testing"
)

func TestDefaultDir(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("the XDG fallbacks are for Linux and the BSDs")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, tc := range []struct {
		name, stateDirectory, xdg, want string
	}{
		{"systemd StateDirectory", "/var/lib/parkd:/var/lib/other", "/x", "/var/lib/parkd"},
		{"XDG_STATE_HOME", "", "/home/r/.state", "/home/r/.state/switchboard/parkd"},
		{"relative variables ignored", "rel", "rel", filepath.Join(home, ".local/state/switchboard/parkd")},
		{"home", "", "", filepath.Join(home, ".local/state/switchboard/parkd")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("STATE_DIRECTORY", tc.stateDirectory)
			t.Setenv("XDG_STATE_HOME", tc.xdg)
			got, err := DefaultDir("parkd")
			if err != nil || got != tc.want {
				t.Fatalf("DefaultDir = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`} {
		if _, err := DefaultDir(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("DefaultDir(%q): %v, want ErrInvalid", bad, err)
		}
	}
}
