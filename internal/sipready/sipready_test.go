package sipready_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/switchboard/switchboard/internal/sipready"
)

// waitFor only stops a hung test.
const waitFor = 30 * time.Second

func newUA(t *testing.T) *sipgo.UserAgent {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("sipready-test"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	return ua
}

// serveUDP makes ua serve SIP on a new loopback UDP socket, on a goroutine
// that ends at the end of the test, and returns the socket's address.
func serveUDP(t *testing.T, ua *sipgo.UserAgent) string {
	t.Helper()
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.ServeUDP(conn) }) // ends when conn closes
	t.Cleanup(func() {
		conn.Close()
		wg.Wait()
	})
	return conn.LocalAddr().String()
}

func TestWaitUDPReturnsOnceListening(t *testing.T) {
	ua := newUA(t)
	addr := serveUDP(t, ua)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := sipready.WaitUDP(ctx, ua, addr); err != nil {
		t.Fatalf("WaitUDP(%s) = %v, want nil: the user agent serves it", addr, err)
	}
	if c, err := ua.TransportLayer().GetConnection("udp", addr); c == nil {
		t.Fatalf("WaitUDP returned but the transport layer has no listener at %s: %v", addr, err)
	}
}

func TestWaitUDPGivesUpWithTheContext(t *testing.T) {
	ua := newUA(t)
	serveUDP(t, ua) // a listener at another address does not count
	probe, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.LocalAddr().String() // nothing of ua's listens here
	probe.Close()

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel2()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"cancelled", cancelled, context.Canceled},
		{"deadline", expired, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := sipready.WaitUDP(tc.ctx, ua, addr)
			if !errors.Is(err, tc.want) {
				t.Fatalf("WaitUDP(%s) = %v, want an error wrapping %v", addr, err, tc.want)
			}
			if !strings.Contains(err.Error(), addr) {
				t.Fatalf("error %q does not name %s", err, addr)
			}
		})
	}
}

// Once ServeUDP returns, sipgo's pool holds the listener, so a request
// sent from its address goes out on it instead of a socket sipgo would
// bind there ("address already in use").
func TestServeUDPReturnsOnceServed(t *testing.T) {
	ua := newUA(t)
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	sipready.ServeUDP(&wg, srv, conn)
	if c, err := ua.TransportLayer().GetConnection("udp", conn.LocalAddr().String()); err != nil || c == nil {
		t.Fatalf("after ServeUDP the pool has no listener: %v", err)
	} else {
		_, _ = c.TryClose() // GetConnection counted a reference
	}
	conn.Close()
	wg.Wait()

	// A socket that sipgo cannot serve: ServeUDP returns all the same.
	conn2, _ := net.ListenPacket("udp", "127.0.0.1:0")
	conn2.Close()
	sipready.ServeUDP(&wg, srv, conn2)
	wg.Wait()
}
