//go:build unix

package main

import (
	"errors"
	"os"
	"syscall"
)

// lockSupported: flock decides which console is first.
const lockSupported = true

// tryLock takes an exclusive flock on f without waiting; false when
// another process (or another open of the file) holds it.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		return false, nil
	}
	return false, err
}
