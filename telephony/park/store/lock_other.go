//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package store

import (
	"errors"
	"fmt"
	"os"
)

// lockFile is not available here: a store that cannot be locked against
// a second process is not opened.
func lockFile(path string) (*os.File, error) {
	return nil, fmt.Errorf("park store: lock %s: %w", path, errors.ErrUnsupported)
}
