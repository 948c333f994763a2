// Package sipready tells when a sipgo user agent started by diago can
// send over UDP.
//
// diago's ServeBackground returns once sipgo reports the UDP socket bound
// ("ready"), which sipgo does just before it registers that socket with the
// user agent's transport layer. A request sent in between finds no
// connection for the address, and sipgo binds a new socket to send it: on
// the listener's own port (a client made with WithClientConnectionAddr)
// that fails with "address already in use". Whoever sends right after
// starting diago waits with WaitUDP first.
//
// sipgo has no event for the registration, so WaitUDP polls the transport
// layer (ServeUDP, for whoever serves its own socket, needs no polling); the wait is short, since sipgo registers the socket right after
// reporting it ready. Both the console (telephony/sip) and the demo callers
// (internal/demo) use it, as does the tests' harness (internal/siptest).
package sipready

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/emiago/sipgo"
)

// poll is how often WaitUDP looks at the transport layer.
const poll = time.Millisecond

// WaitUDP waits until ua's transport layer holds the UDP listener at addr
// (host:port as bound). ctx bounds the wait: when it ends first, WaitUDP
// returns an error that names addr and wraps ctx's error.
func WaitUDP(ctx context.Context, ua *sipgo.UserAgent, addr string) error {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		if c, _ := ua.TransportLayer().GetConnection("udp", addr); c != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("UDP listener %s never registered: %w", addr, ctx.Err())
		case <-tick.C:
		}
	}
}

// ServeUDP is for whoever serves its own socket: it serves conn on srv
// in a goroutine of wg and returns once sipgo has registered conn with
// its transport layer (or stopped serving it), without polling: sipgo's
// UDP transport reads a listener only after registering it. The park
// service sends its restored ring-backs and probes right after (sent
// before, they failed "address already in use" and a probe that failed
// so took a parked caller for lost).
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
