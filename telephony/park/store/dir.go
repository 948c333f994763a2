package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// DefaultDir is where a park service named name ("parkd", or the
// console's embedded service) keeps its store when no -state-dir is
// given: $STATE_DIRECTORY as systemd's StateDirectory= sets it (its first
// entry) for the packaged service; else $XDG_STATE_HOME/switchboard/name;
// else ~/.local/state/switchboard/name on Linux and the BSDs, and the
// user's configuration directory (Application Support, AppData) under
// Switchboard/name elsewhere.
func DefaultDir(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return "", fmt.Errorf("park store: state directory name %q: %w", name, ErrInvalid)
	}
	if d, _, _ := strings.Cut(os.Getenv("STATE_DIRECTORY"), ":"); filepath.IsAbs(d) {
		return d, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "switchboard", name), nil
	}
	if runtime.GOOS != "windows" && runtime.GOOS != "darwin" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("park store: the state directory: %w", err)
		}
		if home == "" {
			return "", errors.New("park store: the state directory: no home directory")
		}
		return filepath.Join(home, ".local", "state", "switchboard", name), nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("park store: the state directory: %w", err)
	}
	return filepath.Join(d, "Switchboard", name), nil
}
