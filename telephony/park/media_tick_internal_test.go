package park

import (
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/net/ipv4"

	"github.com/switchboard/switchboard/assets"
)

// tickEngine is an engine with n legs on music on hold, all sending to
// one local socket that reads nothing (the kernel drops what overflows).
func tickEngine(tb testing.TB, n int) *engine {
	tb.Helper()
	m, err := newMusic(assets.MusicOnHold())
	if err != nil {
		tb.Fatal(err)
	}
	e, err := listenEngine(netip.MustParseAddr("127.0.0.1"), 0, m, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		e.conn.Close()
		e.rtcp.Close()
		sink.Close()
	})
	ap := sink.LocalAddr().(*net.UDPAddr).AddrPort()
	for range n {
		l := newLeg(offer{addr: ap, codec: ptPCMU, pt: ptPCMU})
		e.add(l)
		e.playMusic(l)
	}
	return e
}

// TestMusicTickDoesNotAllocate: once every leg on hold has had its entry
// in the tick's buffer, a music tick (its frames built and sent with
// sendmmsg) allocates nothing, whatever the number of legs: the clock
// runs 50 times a second for every parked call, so garbage there would
// grow with the load (issue 17).
func TestMusicTickDoesNotAllocate(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector's sync.Pool drops buffers at random: allocations are counted without -race")
	}
	e := tickEngine(t, 300)
	var msgs []ipv4.Message
	msgs = e.tick(msgs)
	e.sendTick(msgs)
	if len(msgs) != 300 {
		t.Fatalf("a tick built %d frames, want 300", len(msgs))
	}
	allocs := testing.AllocsPerRun(50, func() {
		msgs = e.tick(msgs)
		e.sendTick(msgs)
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per music tick of 300 legs, want 0", allocs)
	}
}

// BenchmarkMusicTick is one music tick for 2,000 legs on hold: its
// frames built and sent (the CPU per packet is ns/op / 2000; allocs/op
// must be 0).
func BenchmarkMusicTick(b *testing.B) {
	e := tickEngine(b, 2000)
	var msgs []ipv4.Message
	msgs = e.tick(msgs)
	e.sendTick(msgs)
	b.ReportAllocs()
	for b.Loop() {
		msgs = e.tick(msgs)
		e.sendTick(msgs)
	}
}
