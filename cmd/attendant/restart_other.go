//go:build !unix

package main

import (
	"fmt"
	"os"
	"os/exec"
)

// restartAs starts exe with argv as a new process; this one then exits
// (its instance lock and sockets go with it).
func restartAs(exe string, argv []string) error {
	cmd := exec.Command(exe, argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("restart: start %s: %w", exe, err)
	}
	return cmd.Process.Release()
}
