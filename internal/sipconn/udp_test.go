package sipconn_test

import (
	"net"
	"sync"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/switchboard/switchboard/internal/sipconn"
)

// Once ServeUDP returns, sipgo's pool holds the listener, so a request
// sent from its address goes out on it instead of a socket sipgo would
// bind there ("address already in use").
func TestServeUDPReturnsOnceServed(t *testing.T) {
	ua, err := sipgo.NewUA(sipconn.UserAgentOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	sipconn.ServeUDP(&wg, srv, conn)
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
	sipconn.ServeUDP(&wg, srv, conn2)
	wg.Wait()
}
