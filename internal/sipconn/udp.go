package sipconn

import (
	"net"
	"sync"

	"github.com/emiago/sipgo"
)

// ServeUDP serves conn on srv in a goroutine of wg and returns once
// sipgo has taken conn into its transport's pool (or stopped serving
// it). A request sent on conn's address before that (a park service's
// restored ring-back or probe, a console's first REGISTER) makes sipgo
// bind a socket of its own to that address, which fails "address
// already in use": the request is lost, and with it a ring-back, or a
// parked caller whose probe "failed".
func ServeUDP(wg *sync.WaitGroup, srv *sipgo.Server, conn net.PacketConn) {
	r := &readyConn{PacketConn: conn, ready: make(chan struct{})}
	served := make(chan struct{})
	wg.Go(func() {
		defer close(served)
		_ = srv.ServeUDP(r)
	})
	select {
	case <-r.ready:
	case <-served:
	}
}

// readyConn tells when sipgo first reads it: its UDP transport reads a
// listener only after it added it to its pool.
type readyConn struct {
	net.PacketConn
	once  sync.Once
	ready chan struct{}
}

func (c *readyConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.once.Do(func() { close(c.ready) })
	return c.PacketConn.ReadFrom(b)
}
