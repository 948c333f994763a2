//go:build unix

package freeport

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// claims holds the lock files of the ports this process claimed, open
// (and so locked) until it exits.
var claims struct {
	mu    sync.Mutex
	files []*os.File
}

// errClaimed is a port another process (or this one) claimed already.
var errClaimed = errors.New("port claimed by another test process")

// claim takes port for this process for as long as it runs: an
// exclusive flock on a file named for the port in a directory shared by
// every process of this user. The kernel drops the lock when the
// process ends, however it ends, so no claim outlives its owner.
func claim(port int) error {
	dir := filepath.Join(os.TempDir(), "switchboard-kept-ports-"+strconv.Itoa(os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("kept ports: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("kept ports: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return errClaimed
		}
		return fmt.Errorf("kept ports: flock: %w", err)
	}
	claims.mu.Lock()
	claims.files = append(claims.files, f)
	claims.mu.Unlock()
	return nil
}
