package park

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/assets"
	"golang.org/x/net/ipv4"
)

// legAt is a leg whose SDP names sdp and whose SIP came from sig
// ("" for unknown), registered with e.
func legAt(e *engine, sdp, sig string) *leg {
	l := newLeg(offer{addr: netip.MustParseAddrPort(sdp), codec: ptPCMU, pt: ptPCMU})
	if sig != "" {
		l.sig = netip.MustParseAddr(sig)
	}
	e.add(l)
	return l
}

func key(src string, ssrc uint32) streamKey {
	return streamKey{src: netip.MustParseAddrPort(src), ssrc: ssrc}
}

// route is routeLocked under the read lock.
func (e *engine) route(k streamKey) (*leg, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.routeLocked(k)
}

// latch latches k as the relay does: to the leg route names, if any.
func (e *engine) latch(k streamKey) *leg {
	e.mu.Lock()
	defer e.mu.Unlock()
	l, known := e.routeLocked(k)
	if l != nil && !known {
		e.latchLocked(l, k)
	}
	return l
}

// The rules of engine's doc comment, one by one.
func TestLatchRules(t *testing.T) {
	e := startEngine(t)

	// A stream from exactly the SDP address latches; we keep sending there.
	a := legAt(e, "127.0.0.1:4000", "127.0.0.1")
	if l := e.latch(key("127.0.0.1:4000", 1)); l != a {
		t.Fatalf("stream from the SDP address went to %p, want %p", l, a)
	}
	if l, known := e.route(key("127.0.0.1:4000", 1)); l != a || !known {
		t.Fatal("latched stream not known")
	}
	// A new SSRC from the same source is the same peer's.
	if l, known := e.route(key("127.0.0.1:4000", 2)); l != a || !known {
		t.Fatal("new SSRC from a latched source not routed to its leg")
	}

	// Another call naming the same address, its SIP from another host,
	// sending from that host: latched there, apart from the first.
	b := legAt(e, "127.0.0.1:4000", "127.0.0.3")
	if l := e.latch(key("127.0.0.3:5000", 7)); l != b {
		t.Fatal("stream from the second call's SIP host not latched to it")
	}
	if b.remote != netip.MustParseAddrPort("127.0.0.3:5000") || a.remote != netip.MustParseAddrPort("127.0.0.1:4000") {
		t.Fatalf("sending to %s and %s", a.remote, b.remote)
	}

	// Two unlatched legs naming one address: the one whose SIP came from
	// the stream's host takes it; with none or both, nobody does.
	c := legAt(e, "127.0.0.1:6000", "127.0.0.1")
	d := legAt(e, "127.0.0.1:6000", "127.0.0.7")
	if l, _ := e.route(key("127.0.0.1:6000", 3)); l != c {
		t.Fatal("ambiguous SDP address not settled by the SIP host")
	}
	legAt(e, "127.0.0.1:6000", "127.0.0.1")
	if l, _ := e.route(key("127.0.0.1:6000", 3)); l != nil {
		t.Fatal("a stream two legs may own was given to one")
	}
	_ = d

	// Another host, neither SIP nor SDP of any leg: nothing.
	if l, _ := e.route(key("127.0.0.66:7000", 9)); l != nil {
		t.Fatal("a stream from a stranger was routed")
	}

	// Behind NAT: SDP names a private address; the stream comes from
	// the SIP host, inside the window. Its window closes at the latch,
	// so a second stream from that host does not move it...
	n := legAt(e, "10.0.0.5:4000", "127.0.0.5")
	if l := e.latch(key("127.0.0.5:30000", 11)); l != n {
		t.Fatal("NAT stream from the SIP host not latched")
	}
	if l, _ := e.route(key("127.0.0.5:30002", 12)); l != nil {
		t.Fatal("a second stream from the host moved a latched leg outside its window")
	}
	// ...until a re-INVITE opens it again (same SDP: the latch stays).
	e.update(n, offer{addr: netip.MustParseAddrPort("10.0.0.5:4000"), codec: ptPCMU, pt: ptPCMU})
	if n.remote != netip.MustParseAddrPort("127.0.0.5:30000") {
		t.Fatalf("re-INVITE with the same SDP unlatched: sending to %s", n.remote)
	}
	if l := e.latch(key("127.0.0.5:30002", 12)); l != n || n.remote != netip.MustParseAddrPort("127.0.0.5:30002") {
		t.Fatal("stream not moved inside the re-INVITE's window")
	}
	// A re-INVITE naming another address: we send there until it sends.
	e.update(n, offer{addr: netip.MustParseAddrPort("127.0.0.8:4000"), codec: ptPCMU, pt: ptPCMU})
	if n.latched() || n.remote != netip.MustParseAddrPort("127.0.0.8:4000") {
		t.Fatalf("moved media still latched, sending to %s", n.remote)
	}

	// A window that expires: a NAT stream is not latched after it.
	w := legAt(e, "10.0.0.6:4000", "127.0.0.9")
	e.mu.Lock()
	e.closeWindowLocked(w)
	e.mu.Unlock()
	if l, _ := e.route(key("127.0.0.9:30000", 13)); l != nil {
		t.Fatal("NAT stream latched outside the window")
	}

	// Removing legs leaves no trace in the indexes.
	for _, l := range []*leg{a, b, c, d, n, w} {
		e.remove(l)
		e.remove(l)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if len(e.streams) != 0 || len(e.bySrc) != 0 {
		t.Fatalf("streams left: %v %v", e.streams, e.bySrc)
	}
	for k, ls := range e.bySDP {
		if k.Port() != 6000 || len(ls) != 1 {
			t.Fatalf("bySDP left %s: %d", k, len(ls))
		}
	}
}

// The relay's per-packet work for a known stream (stream of the packet,
// route, rewrite for the peer, queue to send) allocates nothing.
func TestRelayPathDoesNotAllocate(t *testing.T) {
	e := startEngine(t)
	a := legAt(e, "127.0.0.1:4000", "127.0.0.1")
	b := legAt(e, "127.0.0.1:4002", "127.0.0.1")
	e.latch(key("127.0.0.1:4000", 1))
	e.latch(key("127.0.0.1:4002", 2))
	e.bridge(a, b)
	pkt := rtpPacket(ptPCMU, 1, 160, 1, make([]byte, frameSamples))
	m := ipv4.Message{Buffers: [][]byte{pkt}, N: len(pkt), Addr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}}
	out := make([]ipv4.Message, 0, batchSize)
	allocs := testing.AllocsPerRun(1000, func() {
		e.mu.RLock()
		k, _ := streamOf(&m)
		if l, known := e.routeLocked(k); known {
			out = e.relayLocked(l, &m, out[:0])
		}
		e.mu.RUnlock()
	})
	if len(out) != 1 || out[0].Addr != b.addr {
		t.Fatalf("packet not relayed to the peer: %+v", out)
	}
	if allocs != 0 {
		t.Fatalf("%.1f allocations per relayed packet, want 0", allocs)
	}
}

// BenchmarkRelayPath is TestRelayPathDoesNotAllocate's work, timed, with
// 10,000 latched streams in the index.
func BenchmarkRelayPath(b *testing.B) {
	m0, err := newMusic(assets.MusicOnHold())
	if err != nil {
		b.Fatal(err)
	}
	e, err := listenEngine(netip.MustParseAddr("127.0.0.1"), 0, m0, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer e.conn.Close()
	defer e.rtcp.Close()
	for i := range 10000 {
		ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 4000)
		l := newLeg(offer{addr: ap, codec: ptPCMU, pt: ptPCMU})
		e.add(l)
		e.latch(streamKey{src: ap, ssrc: uint32(i)})
	}
	x := legAt(e, "127.0.0.1:4000", "127.0.0.1")
	y := legAt(e, "127.0.0.1:4002", "127.0.0.1")
	e.latch(key("127.0.0.1:4000", 1))
	e.bridge(x, y)
	pkt := rtpPacket(ptPCMU, 1, 160, 1, make([]byte, frameSamples))
	m := ipv4.Message{Buffers: [][]byte{pkt}, N: len(pkt), Addr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}}
	out := make([]ipv4.Message, 0, batchSize)
	b.ReportAllocs()
	now := sinceEpoch() // once a batch in relay
	for b.Loop() {
		e.mu.RLock()
		k, _ := streamOf(&m)
		if l, known := e.routeLocked(k); known {
			l.heard.Store(now)
			out = e.relayLocked(l, &m, out[:0])
		}
		e.mu.RUnlock()
	}
}

// The Warning of a media refusal is one safe quoted-string whatever the
// SDP it quotes, and carries the fault's warn-code.
func TestWarningIsSafe(t *testing.T) {
	_, err := parseOffer([]byte("v=0\r\nc=IN IP4 \"evil\"\\x\r\nm=audio 4000 RTP/AVP 0\r\n"))
	h := warning(err).Value()
	if !strings.HasPrefix(h, `307 park "`) || strings.Count(h, `"`) != 2 || strings.Contains(h, `\\`) {
		t.Fatalf("Warning %q", h)
	}
	_, err = parseOffer([]byte("v=0\r\nc=IN IP4 " + strings.Repeat("9", 5000) + "\r\nm=audio 4000 RTP/AVP 0\r\n"))
	if h := warning(err).Value(); len(h) > 200 {
		t.Fatalf("Warning of %d bytes", len(h))
	}
	_, err = parseOffer([]byte("v=0\r\nc=IN IP4 239.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n"))
	if h := warning(err).Value(); !strings.HasPrefix(h, "330 ") {
		t.Fatalf("multicast Warning %q, want warn-code 330", h)
	}
}

// An audio line rejected with port 0 is skipped for the next audio line,
// and the answer rejects it in turn.
func TestPortZeroAudioLineSkipped(t *testing.T) {
	o, err := parseOffer([]byte("v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 0 RTP/AVP 8\r\nm=audio 4000 RTP/AVP 0\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if o.audioIndex != 1 || o.addr.Port() != 4000 || o.codec != ptPCMU {
		t.Fatalf("offer %+v", o)
	}
	ans := string(buildSDP(sdpParams{addr: netip.MustParseAddrPort("127.0.0.1:20000"), formats: []format{{pt: o.pt, codec: o.codec}},
		direction: "sendrecv", lines: o.lines, audioIdx: o.audioIndex}))
	if !strings.Contains(ans, "m=audio 0 RTP/AVP 8\r\nm=audio 20000 RTP/AVP 0\r\n") {
		t.Fatalf("answer:\n%s", ans)
	}
}

// An SDP with a NUL byte, or with more media lines than an answer
// mirroring them could carry, is refused as garbled.
func TestGarbledSDPRefused(t *testing.T) {
	good := "v=0\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	if _, err := parseOffer([]byte(good)); err != nil {
		t.Fatal(err)
	}
	if _, err := parseOffer([]byte(strings.Replace(good, "s=-", "s=\x00\x00", 1))); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Fatalf("NUL bytes: %v", err)
	}
	many := strings.Replace(good, "m=audio", strings.Repeat("m=video 0 RTP/AVP 96\r\n", maxMediaLines)+"m=audio", 1)
	if _, err := parseOffer([]byte(many)); err == nil || !strings.Contains(err.Error(), "media lines") {
		t.Fatalf("%d media lines: %v", maxMediaLines+1, err)
	}
}

// A phone sends a few packets after its call ends (its BYE, or a
// re-INVITE that moves its media): that stream's tail must not take the
// latch window of another call from the same host, such as a caller
// just parked sendonly, who sends nothing, so that its music went to the
// ended call's phone (TestRingBackNow, under load: the console's last
// packets of a ring-back it hung up took Bob's parked leg, and Bob heard
// nothing after the restore either). A new stream from that source (the
// same phone's next call, behind the same NAT) still latches.
func TestLatchEndedCallsTailTakesNoOtherCall(t *testing.T) {
	e := startEngine(t)
	ended := legAt(e, "127.0.0.1:46788", "127.0.0.1")
	tail := key("127.0.0.1:46788", 5)
	if l := e.latch(tail); l != ended {
		t.Fatal("the first call's stream was not latched to it")
	}
	parked := legAt(e, "127.0.0.1:40474", "127.0.0.1") // in its window, sending nothing
	e.remove(ended)
	if l, _ := e.route(tail); l != nil {
		t.Fatalf("the ended call's tail went to a leg (the parked one: %v)", l == parked)
	}
	if parked.remote != netip.MustParseAddrPort("127.0.0.1:40474") {
		t.Fatalf("the parked caller's music goes to %s", parked.remote)
	}
	if l := e.latch(key("127.0.0.1:46788", 6)); l != parked {
		t.Fatal("a new stream from the host, in the parked leg's window, was not latched to it")
	}

	// The same for a stream its call moved away from by a re-INVITE.
	moved := legAt(e, "127.0.0.2:5000", "127.0.0.2")
	old := key("127.0.0.2:5000", 9)
	if l := e.latch(old); l != moved {
		t.Fatal("the moving call's stream was not latched to it")
	}
	other := legAt(e, "10.1.1.1:4000", "127.0.0.2") // behind NAT, in its window
	e.update(moved, offer{addr: netip.MustParseAddrPort("127.0.0.2:5002"), codec: ptPCMU, pt: ptPCMU})
	e.mu.Lock()
	e.closeWindowLocked(moved) // only other's window is open
	e.mu.Unlock()
	if l, _ := e.route(old); l != nil {
		t.Fatalf("the moved stream's tail went to a leg (the NAT one: %v)", l == other)
	}

	// A retired stream is a stream like any other once its time passed.
	e.mu.Lock()
	for k := range e.retired {
		e.retired[k] = time.Now().Add(-time.Second)
	}
	e.mu.Unlock()
	if l := e.latch(old); l != other {
		t.Fatal("a stream retired long ago was still refused")
	}
}
