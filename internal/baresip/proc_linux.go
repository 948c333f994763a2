package baresip

import "syscall"

// sysProcAttr makes the kernel kill baresip if the test process dies
// without stopping it, so no peer outlives a crashed test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
