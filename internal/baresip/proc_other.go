//go:build !linux

package baresip

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
