//go:build unix

package main

import (
	"errors"
	"fmt"
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

// ownPrivateDir checks that d belongs to this user and to nobody else.
func ownPrivateDir(d string) error {
	fi, err := os.Lstat(d)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() || fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s is not a directory private to this user", d)
	}
	return nil
}
