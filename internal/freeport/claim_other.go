//go:build !unix

package freeport

import "errors"

// errClaimed: off Unix no port is ever claimed.
var errClaimed = errors.New("port claimed")

// claim: off Unix the tests that need kept ports do not run side by
// side, and a port is only checked free.
func claim(int) error { return nil }
