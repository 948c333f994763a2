//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
)

// restartAs replaces this process with exe run with argv.
func restartAs(exe string, argv []string) error {
	if err := syscall.Exec(exe, argv, os.Environ()); err != nil {
		return fmt.Errorf("restart: exec %s: %w", exe, err)
	}
	return nil
}
