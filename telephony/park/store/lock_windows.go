//go:build windows

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// errorSharingViolation is ERROR_SHARING_VIOLATION, which package
// syscall does not name.
const errorSharingViolation syscall.Errno = 32

// lockFile opens path with no sharing at all: while one handle is open,
// every other open of the file fails with a sharing violation, which is
// an *InUseError. Windows closes the handle when its process dies.
func lockFile(path string) (*os.File, error) {
	p, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return nil, fmt.Errorf("park store: lock file %s: %w", path, err)
	}
	h, err := syscall.CreateFile(p, syscall.GENERIC_READ|syscall.GENERIC_WRITE, 0, nil,
		syscall.OPEN_ALWAYS, syscall.FILE_ATTRIBUTE_NORMAL, 0)
	if errors.Is(err, errorSharingViolation) {
		return nil, &InUseError{Path: path}
	}
	if err != nil {
		return nil, fmt.Errorf("park store: lock file %s: %w", path, err)
	}
	return os.NewFile(uintptr(h), path), nil
}
