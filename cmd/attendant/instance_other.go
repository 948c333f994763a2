//go:build !unix

package main

import "os"

// lockSupported: no flock here; a console that answers on the socket is
// the first.
const lockSupported = false

// tryLock always takes the lock: without flock (Windows) the socket
// alone says whether a console is there (claimInstance asks it first).
func tryLock(*os.File) (bool, error) { return true, nil }

// ownPrivateDir has nothing to check here: the temporary directory of a
// Windows user is the user's own.
func ownPrivateDir(string) error { return nil }
