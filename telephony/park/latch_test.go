package park_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/tone"
)

// hostPeer is a raw caller (sipgo; the test writes its SDP and RTP) on
// a "host" of its own: its SIP and RTP sockets are on ip (127.0.0.x
// tell hosts apart on loopback; ::1 for IPv6). Its SDP names advertise,
// or its RTP socket when that is zero, as a phone behind NAT names its
// private address. It answers the service's re-INVITEs 200 sendrecv
// (taken off hold), sends PCMU tones when told, and records the PCMU
// it receives and the SSRC of every packet.
type hostPeer struct {
	sipPeer
	d         *sipgo.DialogClientSession
	advertise netip.AddrPort // what its SDP names; zero: its RTP socket

	heard     siptest.Recording         // PCMU that arrived
	ssrcs     siptest.Log[uint32]       // SSRC of every packet that arrived
	reinvites siptest.Log[*sip.Request] // the service's re-INVITEs

	sending sync.Once
}

// newHostPeer starts a peer on ip; advertise "" names its RTP socket.
func newHostPeer(t *testing.T, name, ip, advertise string) *hostPeer {
	t.Helper()
	p := &hostPeer{}
	p.host = netip.MustParseAddr(ip)
	if advertise != "" {
		p.advertise = netip.MustParseAddrPort(advertise)
	}
	p.start(t, name, func(srv *sipgo.Server) {
		srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
			p.reinvites.Add(req)
			res := sip.NewSDPResponseFromRequest(req, p.sdp(2))
			contact := p.contact()
			res.AppendHeader(&contact)
			_ = tx.Respond(res)
		})
		srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	}, nil, p.read)
	return p
}

// media is the RTP address p's SDP names: advertise, or its RTP socket.
func (p *hostPeer) media() netip.AddrPort {
	if p.advertise.IsValid() {
		return p.advertise
	}
	return p.rtp.LocalAddr().(*net.UDPAddr).AddrPort()
}

// sdp is the peer's SDP: PCMU at p.media(), sendrecv, version ver.
func (p *hostPeer) sdp(ver int) []byte {
	m := p.media()
	family := "IP4"
	if m.Addr().Is6() {
		family = "IP6"
	}
	a := m.Addr().String()
	return fmt.Appendf(nil, "v=0\r\no=- 9 %d IN %s %s\r\ns=-\r\nc=IN %s %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n",
		ver, family, a, family, a, m.Port())
}

// call INVITEs uri with p's SDP, ACKs the answer and reads the service's
// RTP address from it; the call is hung up when the test ends.
func (p *hostPeer) call(t *testing.T, uri sip.Uri) {
	t.Helper()
	p.d, _ = p.invite(t, uri, p.sdp(1))
}

// read records the SSRC of an RTP packet, and its audio if PCMU.
func (p *hostPeer) read(pkt []byte) {
	p.ssrcs.Add(binary.BigEndian.Uint32(pkt[8:]))
	if pkt[1]&0x7f == 0 {
		p.heard.Add(pcmu.decodeAll(pkt[12:])...)
	}
}

// sendTone sends, from p's RTP socket to to (the service's RTP address
// when zero), a PCMU sine of freq every 20 ms until the test ends; once.
func (p *hostPeer) sendTone(freq float64, to netip.AddrPort) {
	if !to.IsValid() {
		to = p.remote
	}
	p.sending.Do(func() { p.sendPCMU(freq, to) })
}

// hears waits until freq dominates 400 ms of what p receives from now on.
func (p *hostPeer) hears(t *testing.T, freq float64) {
	t.Helper()
	p.heard.WaitToneLevel(t, p.name, freq, window, 0.05)
}

// hearsMusic waits for 400 ms of audio that is not silence.
func (p *hostPeer) hearsMusic(t *testing.T) {
	t.Helper()
	if rms := tone.RMS(p.heard.WaitAudio(t, p.heard.Len(), window)); rms < 0.01 {
		t.Fatalf("%s hears silence (rms %.4f), want music", p.name, rms)
	}
}

// streamGoesOn waits until n more packets of the stream ssrc arrive.
func (p *hostPeer) streamGoesOn(t *testing.T, ssrc uint32, n int) {
	t.Helper()
	mark := p.ssrcs.Len()
	p.ssrcs.Until(t, fmt.Sprintf("%s: %d more packets of stream %08x", p.name, n, ssrc), func(all []uint32) bool {
		got := 0
		for _, s := range all[mark:] {
			if s == ssrc {
				got++
			}
		}
		return got >= n
	})
}

// retrieveWith retrieves orbit with r (which sends freq once answered)
// and waits until the parked caller c was taken off hold and started
// sending cfreq from its RTP socket.
func retrieveWith(t *testing.T, f *fixture, orbit string, r *hostPeer, freq float64, c *hostPeer, cfreq float64) {
	t.Helper()
	off := make(chan bool, 1)
	go func() {
		ok := c.reinvites.Await(siptest.WaitFor, func(rs []*sip.Request) bool { return len(rs) > 0 })
		if ok {
			c.sendTone(cfreq, netip.AddrPort{})
		}
		off <- ok
	}()
	r.call(t, f.uri(orbit))
	r.sendTone(freq, netip.AddrPort{})
	if !siptest.Recv(t, c.name+" taken off hold", off) {
		t.Fatalf("%s was never taken off hold", c.name)
	}
}

// Two calls whose SDPs name the same address and port (two sites with
// the same private plan) stay apart: the RTP of each is known by where
// it really comes from and its SSRC, so the first keeps its music when
// the second parks, the second hears its own where it sends from, and
// once both are retrieved audio flows both ways on each.
func TestSameSDPAddressCallsStayApart(t *testing.T) {
	f := startPark(t, nil)
	a := newHostPeer(t, "siteA", "127.0.0.1", "")
	a.call(t, f.uri("park-701"))
	f.log.wait(t, "parked", "orbit", "701")
	a.sendTone(440, netip.AddrPort{}) // a phone that sends while held
	a.hearsMusic(t)
	mine := a.ssrcs.All()[a.ssrcs.Len()-1]

	// Site B's phone names the very same address:port, and sends from
	// its own host.
	b := newHostPeer(t, "siteB", "127.0.0.3", a.media().String())
	b.call(t, f.uri("park-702"))
	f.log.wait(t, "parked", "orbit", "702")
	b.sendTone(600, netip.AddrPort{})
	b.hearsMusic(t)
	a.streamGoesOn(t, mine, 50) // A's music was not taken over by B's call

	ra := newHostPeer(t, "deskA", "127.0.0.1", "")
	rb := newHostPeer(t, "deskB", "127.0.0.4", "")
	ra.call(t, f.uri("701"))
	ra.sendTone(1000, netip.AddrPort{})
	rb.call(t, f.uri("702"))
	rb.sendTone(1500, netip.AddrPort{})
	ra.hears(t, 440)
	rb.hears(t, 600)
	a.hears(t, 1000)
	b.hears(t, 1500)
}

// A phone behind NAT names its private address in its SDP and sends
// from another (its public one, the host its SIP comes from). Parked
// and answered sendonly, it sends nothing and its music goes where its
// SDP says; taken off hold for a retrieve, it sends, its RTP is latched,
// and the retriever and it hear each other.
func TestNATCallerLatchedWhenBridged(t *testing.T) {
	f := startPark(t, nil)
	// Its SDP names 127.0.0.9, where nobody listens: its private address.
	n := newHostPeer(t, "natted", "127.0.0.5", "127.0.0.9:4000")
	n.call(t, f.uri("park-705"))
	f.log.wait(t, "parked", "orbit", "705")
	r := newHostPeer(t, "desk", "127.0.0.1", "")
	retrieveWith(t, f, "705", r, 1000, n, 440)
	r.hears(t, 440)
	n.hears(t, 1000)
}

// A phone behind NAT that sends while parked (it ignores our sendonly)
// hears its music where it sends from, once its first packet arrives.
func TestNATCallerHearsMusicOnceItSends(t *testing.T) {
	f := startPark(t, nil)
	n := newHostPeer(t, "natted", "127.0.0.6", "127.0.0.9:4002")
	n.call(t, f.uri("park-706"))
	f.log.wait(t, "parked", "orbit", "706")
	n.sendTone(440, netip.AddrPort{})
	n.hearsMusic(t)
}

// RTP from another host cannot take a call: a stream that arrives at
// the service's RTP port during a parked caller's first packets, from a
// host that is neither where its SIP nor where its SDP came from, gets
// no music and no audio of the call, before or after the retrieve.
func TestLatchNotTakenFromAnotherHost(t *testing.T) {
	f := startPark(t, nil)
	c := newHostPeer(t, "carol", "127.0.0.1", "")
	// The attacker floods the RTP port before the caller parks, so its
	// packets are there in every latch window.
	x := newHostPeer(t, "mallory", "127.0.0.66", "")
	svcRTP := probeRTPAddr(t, f)
	x.sendTone(2000, svcRTP)

	c.call(t, f.uri("park-708"))
	f.log.wait(t, "parked", "orbit", "708")
	c.hearsMusic(t)
	r := newHostPeer(t, "desk", "127.0.0.1", "")
	retrieveWith(t, f, "708", r, 1000, c, 440)
	r.hears(t, 440)
	c.hears(t, 1000)
	c.heard.WaitAudio(t, c.heard.Len(), 4*window) // well after the latch
	if n := x.ssrcs.Len(); n != 0 {
		t.Fatalf("the attacker received %d packets of the call", n)
	}
}

// probeRTPAddr is the service's RTP address, read from the answer to a
// call parked and hung up at once.
func probeRTPAddr(t *testing.T, f *fixture) netip.AddrPort {
	t.Helper()
	p := newHostPeer(t, "probe", "127.0.0.1", "")
	p.call(t, f.uri("park-720"))
	ctx, cancel := context.WithTimeout(context.Background(), siptest.WaitFor)
	defer cancel()
	if err := p.d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	return p.remote
}
