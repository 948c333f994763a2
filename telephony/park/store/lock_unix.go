//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile opens path (0600, created if absent) and takes an exclusive,
// non-blocking flock on it. A lock someone else holds is an
// *InUseError. flock locks belong to the open file, so a second lockFile
// in the same process is refused too, and the kernel drops the lock when
// the holder's process dies.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("park store: lock file: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		pid := readPID(f)
		_ = f.Close()
		return nil, &InUseError{Path: path, PID: pid}
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("park store: lock %s: %w", path, err)
	}
	return f, nil
}
