package park

import "time"

// SetAckWait sets how long the service's 2xx answers wait for their ACK
// (64×T1, 32 s, by default), so tests of a missing ACK run fast.
func SetAckWait(o *Options, d time.Duration) { o.ackWait = d }
