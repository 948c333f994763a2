package freeport_test

import (
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/switchboard/switchboard/internal/freeport"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// TestUDPAndTCPBindsBoth: the port it returns takes a UDP and a TCP
// listener at once.
func TestUDPAndTCPBindsBoth(t *testing.T) {
	port, err := freeport.UDPAndTCP(loopback)
	if err != nil {
		t.Fatal(err)
	}
	if port <= 0 || port > 65535 {
		t.Fatalf("port %d", port)
	}
	addr := net.JoinHostPort(loopback.String(), strconv.Itoa(port))
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("UDP on the port: %v", err)
	}
	defer u.Close()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("TCP on the port: %v", err)
	}
	l.Close()
}

// TestUDPAndTCPForeignAddress: an address of no interface here is an
// error, not a port.
func TestUDPAndTCPForeignAddress(t *testing.T) {
	if port, err := freeport.UDPAndTCP(netip.MustParseAddr("192.0.2.1")); err == nil {
		t.Fatalf("port %d on 192.0.2.1, want an error", port)
	}
}

// TestRTPPairIsEvenAndFree: the port is even and both it and its RTCP
// successor can be bound.
func TestRTPPairIsEvenAndFree(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	p, err := freeport.RTPPair(ip)
	if err != nil {
		t.Fatal(err)
	}
	if p%2 != 0 {
		t.Fatalf("port %d is odd", p)
	}
	if p < 10000 || p+1 > 19999 {
		t.Fatalf("port %d: want 10000-19999, below the kernel's ephemeral ports and parkd's own choice", p)
	}
	for _, port := range []int{p, p + 1} {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
		if err != nil {
			t.Fatalf("port %d: %v", port, err)
		}
		c.Close()
	}
}

func TestKeptIsFreeBelowEphemeral(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	for range 20 {
		p, err := freeport.Kept(ip)
		if err != nil {
			t.Fatal(err)
		}
		if p < 7000 || p > 9999 {
			t.Fatalf("Kept gave %d, outside 7000-9999", p)
		}
		u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(p))))
		if err != nil {
			t.Fatalf("UDP %d: %v", p, err)
		}
		tc, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(p))))
		u.Close()
		if err != nil {
			t.Fatalf("TCP %d: %v", p, err)
		}
		tc.Close()
	}
}

// TestKeptNeverGivesAPortTwice: ports Kept returns are claimed for the
// process, so it never returns one twice, even once the first is let go
// (a test that closes its service to reopen it on the same address must
// not find another test's there). Another process would skip them alike.
func TestKeptNeverGivesAPortTwice(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		p, err := freeport.Kept(loopback)
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("Kept gave %d twice", p)
		}
		seen[p] = true
	}
}
