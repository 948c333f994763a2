// Package freeport finds a port number that is free for both UDP and TCP
// on one address, so that a SIP user agent can listen on both transports
// at one host:port. The console (telephony/sip) uses it for listeners
// configured with port 0, as does the baresip test peer
// (internal/baresip).
//
// The port is free a moment ago, not reserved: whoever binds it may find
// it taken meanwhile and should ask again.
package freeport

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
)

// tries is how many UDP ports UDPAndTCP tries for a free TCP twin.
const tries = 20

// UDPAndTCP returns a port free on ip for both UDP and TCP: a port the
// system gives for UDP whose TCP twin is free as well, up to 20 of them.
// The error is the last one met.
func UDPAndTCP(ip netip.Addr) (int, error) {
	var lastErr error
	for range tries {
		u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		if err != nil {
			return 0, err
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		t, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
		u.Close()
		if err == nil {
			t.Close()
			return port, nil
		}
		lastErr = err
	}
	return 0, lastErr
}

// Kept returns a port free on ip for both UDP and TCP a moment ago,
// drawn from 7000-9999, up to 100 tries: for an address a test binds,
// closes and binds again (a service restarted on the same address).
// The kernel's ephemeral range (32768-60999), where UDPAndTCP's ports
// come from, is where every port-0 socket of the other tests lands, and
// one took such an address between a console's close and its reopen
// ("bind: address already in use", TestRealWindowCloseKeepsCallsHere
// beside two busy loops). Below RTPPair's range and the SIP ports
// 5060-5061. A port it returns is also claimed for the rest of the
// process (claim): test binaries run side by side each drew the same
// free port now and then, and the second to bind it failed ("SIP
// address 127.0.0.1:7039: address already in use",
// TestRealWindowRestartNow). The error is the last one met.
func Kept(ip netip.Addr) (int, error) {
	var last error
	for range 100 {
		p := keptLow + rand.IntN(keptHigh-keptLow+1)
		u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(p))))
		if err != nil {
			last = err
			continue
		}
		t, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(p))))
		u.Close()
		if err != nil {
			last = err
			continue
		}
		t.Close()
		if err := claim(p); errors.Is(err, errClaimed) {
			last = err
			continue
		} else if err != nil {
			return 0, err // the claims' directory is unusable: no port is safe to give
		}
		return p, nil
	}
	return 0, last
}

// The range Kept draws from.
const (
	keptLow  = 7000
	keptHigh = 9999
)

// RTPPair returns an even UDP port on ip whose successor (RTCP) was free
// as well a moment ago, up to 100 tries. The error is the last one met.
//
// The port is drawn from 10000-19999: below the kernel's ephemeral range
// (32768-60999 by default on Linux), where the many sockets the tests
// bind to port 0 land, and below the park service's own choice
// (20000-32767). A pair the kernel gave out (as it did before) was
// taken now and then by another test's socket between this check and
// parkd's bind: "bind: address already in use".
func RTPPair(ip netip.Addr) (int, error) {
	var last error
	for range 100 {
		p := rtpPairLow + 2*rand.IntN((rtpPairHigh-rtpPairLow)/2)
		c1, err1 := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(p))))
		c2, err2 := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(p+1))))
		if c1 != nil {
			c1.Close()
		}
		if c2 != nil {
			c2.Close()
		}
		if err1 == nil && err2 == nil {
			return p, nil
		}
		last = errors.Join(err1, err2)
	}
	return 0, last
}

// The range RTPPair draws from (RTCP at most rtpPairHigh+1).
const (
	rtpPairLow  = 10000
	rtpPairHigh = 19998
)
