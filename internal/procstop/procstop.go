// Package procstop stops a child process the way a user would: it asks
// with SIGTERM, gives the process a grace period to shut down cleanly,
// and kills it only when that runs out. The park load tool (cmd/parkload)
// stops its parkd with it, and the console's window tests and benchmarks
// (cmd/attendant) the console they started.
package procstop

import (
	"os"
	"syscall"
	"time"
)

// Stop sends p SIGTERM and waits until exited is closed; when it is not
// closed within grace, Stop kills p and waits for exited again. exited
// must close once p has been waited for (by whoever calls Wait on it);
// when it is closed already, Stop returns at once without signalling.
func Stop(p *os.Process, exited <-chan struct{}, grace time.Duration) {
	select {
	case <-exited:
		return
	default:
	}
	_ = p.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-exited:
	case <-t.C:
		_ = p.Kill()
		<-exited
	}
}
