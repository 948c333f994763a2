package park_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/assets"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/tone"
	"github.com/zaf/g711"
)

// law is a G.711 law as the test encodes and decodes it.
type law struct {
	name   string // as in an rtpmap: PCMU or PCMA
	encode func(int16) byte
	decode func(byte) int16
}

var (
	pcmu = law{"PCMU", g711.EncodeUlawFrame, g711.DecodeUlawFrame}
	pcma = law{"PCMA", g711.EncodeAlawFrame, g711.DecodeAlawFrame}
)

// decodeAll decodes a payload of l.
func (l law) decodeAll(payload []byte) []int16 {
	pcm := make([]int16, len(payload))
	for i, b := range payload {
		pcm[i] = l.decode(b)
	}
	return pcm
}

// rtpIn is one RTP packet a rawPeer received.
type rtpIn struct {
	pt      uint8
	marker  bool
	seq     uint16
	payload []byte
}

// rawPeer is a SIP user agent (sipgo) whose SDP and RTP the test writes
// itself: diago cannot offer G.711 under a dynamic payload type. It
// offers one law under pt (and telephone-event under event, when not 0),
// decodes the audio that arrives under pt into heard, and keeps every
// packet for inspection.
type rawPeer struct {
	sipPeer
	pt    uint8
	law   law
	event uint8

	heard siptest.Recording  // the audio that arrived under pt
	pkts  siptest.Log[rtpIn] // every packet that arrived

	mu   sync.Mutex // guards what the sender writes next
	seq  uint16
	ts   uint32
	ssrc uint32
}

// sipPeer is what the test callers on raw sipgo share: a user agent on a
// free port of a loopback address, a dialog cache for its calls, an RTP
// socket its reader drains, and an end with the test.
type sipPeer struct {
	name  string
	host  netip.Addr // its SIP and RTP sockets' address; set before start (zero: 127.0.0.1)
	port  int        // SIP
	tcp   bool       // SIP over TCP (set before start): listens on TCP, its Contact says so
	dc    *sipgo.DialogClientCache
	rtp   *net.UDPConn
	stop  chan struct{} // closed when the test ends
	tasks sync.WaitGroup

	remote netip.AddrPort // the service's RTP address, from its answer to invite
}

// invite calls uri with the SDP offer and ACKs the answer; the call is
// hung up when the test ends. It returns the dialog and the answer, and
// sets p.remote from the answer.
func (p *sipPeer) invite(t *testing.T, uri sip.Uri, offer []byte) (*sipgo.DialogClientSession, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), siptest.WaitFor)
	defer cancel()
	d, err := p.dc.Invite(ctx, uri, offer, sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		t.Fatalf("%s: INVITE %s: %v", p.name, uri.String(), err)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = d.Bye(ctx)
		d.Close()
	})
	ans := string(d.InviteResponse.Body())
	ap, err := netip.ParseAddrPort(net.JoinHostPort(sdpLine(ans, "c=", 2), sdpLine(ans, "m=audio ", 1)))
	if err != nil {
		t.Fatalf("%s: no RTP address in the answer: %v\n%s", p.name, err, ans)
	}
	p.remote = ap
	return d, ans
}

// start brings p up as name on p.host: setup registers the caller's own
// handlers on its server (a BYE is answered for the dialog cache, after
// onBye when set), onRTP gets each RTP packet that arrives on p.rtp (see
// readRTP; nil drops them). Everything stops when the test ends.
func (p *sipPeer) start(t *testing.T, name string, setup func(*sipgo.Server), onBye func(*sip.Request), onRTP func(pkt []byte)) {
	t.Helper()
	if !p.host.IsValid() {
		p.host = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	ip := p.host.String()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(name), sipgo.WithUserAgentHostname(ip))
	if err != nil {
		t.Fatal(err)
	}
	var tcp *net.TCPListener
	if p.tcp {
		// Listening at once, and the requests the service sends down the
		// connection the client opened reach srv's handlers all the same.
		if tcp, err = net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(p.host, 0))); err != nil {
			t.Fatal(err)
		}
		p.port = tcp.Addr().(*net.TCPAddr).Port
	} else {
		probe, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.host, 0)))
		if err != nil {
			t.Fatal(err)
		}
		p.port = probe.LocalAddr().(*net.UDPAddr).Port
		probe.Close()
	}
	p.name, p.stop = name, make(chan struct{})
	addr := net.JoinHostPort(ip, strconv.Itoa(p.port))
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	copts := []sipgo.ClientOption{sipgo.WithClientHostname(ip)}
	if !p.tcp {
		copts = append(copts, sipgo.WithClientConnectionAddr(addr))
	}
	client, err := sipgo.NewClient(ua, copts...)
	if err != nil {
		t.Fatal(err)
	}
	p.dc = sipgo.NewDialogClientCache(client, p.contact())
	if setup != nil {
		setup(srv)
	}
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if onBye != nil {
			onBye(req)
		}
		if err := p.dc.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		}
	})
	p.rtp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.host, 0)))
	if err != nil {
		t.Fatalf("%s: RTP socket on %s: %v", name, ip, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if tcp != nil {
		p.tasks.Go(func() { _ = srv.ServeTCP(tcp) })
	} else {
		p.tasks.Go(func() { _ = srv.ListenAndServe(ctx, "udp", addr) })
	}
	p.tasks.Go(func() { p.readRTP(onRTP) })
	t.Cleanup(func() {
		close(p.stop)
		cancel()
		if tcp != nil {
			tcp.Close()
		}
		p.rtp.Close()
		ua.Close()
		p.tasks.Wait()
	})
	if tcp == nil {
		siptest.WaitListening(t, ua, addr)
	}
}

// readRTP calls handle (when set) with each RTP packet (version 2, a
// whole header) that arrives on p.rtp, until the socket is closed; pkt
// is only valid during the call.
func (p *sipPeer) readRTP(handle func(pkt []byte)) {
	buf := make([]byte, 1500)
	for {
		n, err := p.rtp.Read(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil || n < 12 || buf[0]>>6 != 2 || handle == nil {
			continue
		}
		handle(buf[:n])
	}
}

// contact is p's Contact: sip:name@host:port (;transport=tcp over TCP).
func (p *sipPeer) contact() sip.ContactHeader {
	u := sip.Uri{Scheme: "sip", User: p.name, Host: p.host.String(), Port: p.port}
	if p.tcp {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", "tcp")
	}
	return sip.ContactHeader{Address: u}
}

// sendPCMU sends, from p's RTP socket to dst, a PCMU sine of freq every
// 20 ms, one SSRC, until the test ends.
func (p *sipPeer) sendPCMU(freq float64, dst netip.AddrPort) { p.sendPCMUUntil(freq, dst, nil) }

// sendPCMUUntil is sendPCMU until stop is closed too.
func (p *sipPeer) sendPCMUUntil(freq float64, dst netip.AddrPort, stop <-chan struct{}) {
	p.tasks.Go(func() {
		g := tone.Sine(freq, 8000, 0.3)
		frame := make([]int16, 160)
		pkt := make([]byte, 12+160)
		seq, ts, ssrc := uint16(rand.Uint32()), rand.Uint32(), rand.Uint32()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-stop:
				return
			case <-tick.C:
			}
			g.Fill(frame)
			pkt[0], pkt[1] = 0x80, 0
			binary.BigEndian.PutUint16(pkt[2:], seq)
			binary.BigEndian.PutUint32(pkt[4:], ts)
			binary.BigEndian.PutUint32(pkt[8:], ssrc)
			for i, s := range frame {
				pkt[12+i] = pcmu.encode(s)
			}
			seq++
			ts += 160
			if _, err := p.rtp.WriteToUDPAddrPort(pkt, dst); errors.Is(err, net.ErrClosed) {
				return
			}
		}
	})
}

func newRawPeer(t *testing.T, name string, pt uint8, l law, event uint8) *rawPeer {
	t.Helper()
	p := &rawPeer{pt: pt, law: l, event: event, seq: uint16(rand.Uint32()), ts: rand.Uint32(), ssrc: rand.Uint32()}
	p.start(t, name, nil, nil, p.read)
	return p
}

// read keeps every packet and decodes the audio under p.pt.
func (p *rawPeer) read(buf []byte) {
	pkt := rtpIn{pt: buf[1] & 0x7f, marker: buf[1]&0x80 != 0, seq: binary.BigEndian.Uint16(buf[2:]),
		payload: bytes.Clone(buf[12:])}
	if pkt.pt == p.pt {
		p.heard.Add(p.law.decodeAll(pkt.payload)...)
	}
	p.pkts.Add(pkt)
}

// packet waits for the i-th packet received.
func (p *rawPeer) packet(t *testing.T, i int) rtpIn {
	t.Helper()
	var pkt rtpIn
	p.pkts.Until(t, fmt.Sprintf("%s: packet %d arrives", p.name, i), func(pkts []rtpIn) bool {
		if i < len(pkts) {
			pkt = pkts[i]
			return true
		}
		return false
	})
	return pkt
}

// payloadTypes counts the payload types of the packets received from the
// from-th on.
func (p *rawPeer) payloadTypes(from int) map[uint8]int {
	out := map[uint8]int{}
	for _, pkt := range p.pkts.All()[from:] {
		out[pkt.pt]++
	}
	return out
}

// hears waits until freq dominates, above 5% of full scale, 400 ms of the
// audio that arrives under p.pt from now on.
func (p *rawPeer) hears(t *testing.T, freq float64) {
	t.Helper()
	p.heard.WaitToneLevel(t, p.name, freq, window, 0.05)
}

// offer is p's SDP offer: its law under p.pt, telephone-event under p.event.
func (p *rawPeer) offer() []byte {
	port := p.rtp.LocalAddr().(*net.UDPAddr).Port
	formats := strconv.Itoa(int(p.pt))
	maps := fmt.Sprintf("a=rtpmap:%d %s/8000\r\n", p.pt, p.law.name)
	if p.event != 0 {
		formats += " " + strconv.Itoa(int(p.event))
		maps += fmt.Sprintf("a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", p.event, p.event)
	}
	return fmt.Appendf(nil, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP %s\r\n%sa=ptime:20\r\na=sendrecv\r\n",
		port, formats, maps)
}

// call INVITEs uri with p's offer and returns the answer SDP.
func (p *rawPeer) call(t *testing.T, uri sip.Uri) string {
	t.Helper()
	_, ans := p.invite(t, uri, p.offer())
	return ans
}

// send writes one RTP packet to the service; ts advances by step.
func (p *rawPeer) send(t *testing.T, pt uint8, marker bool, payload []byte, step uint32) {
	p.mu.Lock()
	b := make([]byte, 12, 12+len(payload))
	b[0], b[1] = 0x80, pt
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], p.seq)
	binary.BigEndian.PutUint32(b[4:], p.ts)
	binary.BigEndian.PutUint32(b[8:], p.ssrc)
	p.seq++
	p.ts += step
	p.mu.Unlock()
	if _, err := p.rtp.WriteToUDPAddrPort(append(b, payload...), p.remote); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Errorf("%s: send: %v", p.name, err)
	}
}

// sendTone sends a sine of freq in p's law under p.pt every 20 ms until
// the test ends.
func (p *rawPeer) sendTone(t *testing.T, freq float64) {
	p.tasks.Go(func() {
		g := tone.Sine(freq, 8000, 0.3)
		frame := make([]int16, 160)
		payload := make([]byte, 160)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for first := true; ; first = false {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			g.Fill(frame)
			for i, s := range frame {
				payload[i] = p.law.encode(s)
			}
			p.send(t, p.pt, first, payload, 160)
		}
	})
}

// waitPacket waits for a packet from the from-th on that satisfies ok.
func (p *rawPeer) waitPacket(t *testing.T, from int, what string, ok func(rtpIn) bool) rtpIn {
	t.Helper()
	for i := from; ; i++ {
		pkt := p.packet(t, i)
		if ok(pkt) {
			return pkt
		}
		if i-from > 500 {
			t.Fatalf("%s: no %s in 500 packets", p.name, what)
		}
	}
}

// A caller offering G.711 under a dynamic number is answered with that
// number and hears the music in its law, under that number, from the
// loop's start.
func TestDynamicG711ParkedCallerHearsMusicUnderItsNumber(t *testing.T) {
	music := assets.MusicOnHold()
	for _, tc := range []struct {
		pt, event uint8
		law       law
	}{
		{97, 101, pcma},
		{96, 0, pcmu},
	} {
		t.Run(fmt.Sprintf("%d=%s", tc.pt, tc.law.name), func(t *testing.T) {
			f := startPark(t, nil)
			p := newRawPeer(t, "dyn", tc.pt, tc.law, tc.event)
			ans := p.call(t, f.uri("park-701"))
			want := []string{fmt.Sprintf("m=audio %d RTP/AVP %d\r\n", p.remote.Port(), tc.pt),
				fmt.Sprintf("a=rtpmap:%d %s/8000\r\n", tc.pt, tc.law.name)}
			if tc.event != 0 {
				want = []string{fmt.Sprintf("m=audio %d RTP/AVP %d %d\r\n", p.remote.Port(), tc.pt, tc.event), want[1],
					fmt.Sprintf("a=rtpmap:%d telephone-event/8000\r\n", tc.event)}
			}
			for _, w := range want {
				if !strings.Contains(ans, w) {
					t.Errorf("answer lacks %q:\n%s", w, ans)
				}
			}
			if n := strings.Count(ans, "a=rtpmap:"); n != len(want)-1 {
				t.Errorf("answer names %d formats, want %d:\n%s", n, len(want)-1, ans)
			}
			f.log.wait(t, "parked", "orbit", "701", "pt", strconv.Itoa(int(tc.pt)), "codec", tc.law.name+"/8000")

			// 1 s of music: every packet under the offered number, the
			// first marked, each the next frame of the loop in the law.
			first := p.packet(t, 0)
			if !first.marker {
				t.Error("first music packet lacks the marker bit")
			}
			var pcm []int16
			for i := range 50 {
				pkt := p.packet(t, i)
				if pkt.pt != tc.pt {
					t.Fatalf("music packet %d has PT %d, want %d", i, pkt.pt, tc.pt)
				}
				if pkt.seq != first.seq+uint16(i) || len(pkt.payload) != 160 {
					t.Fatalf("music packet %d: seq %d (first %d), %d bytes", i, pkt.seq, first.seq, len(pkt.payload))
				}
				for j, b := range pkt.payload {
					s := music[(i*160+j)%len(music)]
					if b != tc.law.encode(s) {
						t.Fatalf("music packet %d sample %d is %#x, want %#x: %s of the loop's sample %d", i, j, b, tc.law.encode(s), tc.law.name, i*160+j)
					}
					pcm = append(pcm, tc.law.decode(b))
				}
			}
			if rms := tone.RMS(pcm); rms < 0.01 {
				t.Fatalf("parked caller hears silence (rms %.4f), want music", rms)
			}
		})
	}
}

// A retrieve bridges a caller on 97 = PCMA with a retriever on 0 = PCMU:
// a tone goes each way, in each side's law and under its number, and
// DTMF is renumbered (caller's 101, retriever's 100).
func TestDynamicPCMARetrieveBridgesToPCMU(t *testing.T) {
	f := startPark(t, nil)
	caller := newRawPeer(t, "caller", 97, pcma, 101)
	caller.call(t, f.uri("park-701"))
	f.log.wait(t, "parked", "orbit", "701", "pt", "97")
	desk := newRawPeer(t, "desk", 0, pcmu, 100)
	ans := desk.call(t, f.uri("701"))
	if !strings.Contains(ans, fmt.Sprintf("m=audio %d RTP/AVP 0 100\r\n", desk.remote.Port())) || !strings.Contains(ans, "a=rtpmap:0 PCMU/8000\r\n") {
		t.Fatalf("retriever's answer does not name 0 PCMU and 100:\n%s", ans)
	}
	f.log.wait(t, "retrieved", "orbit", "701")
	callerFrom, deskFrom := caller.pkts.Len(), desk.pkts.Len()

	caller.sendTone(t, 440)
	desk.sendTone(t, 1000)
	desk.hears(t, 440)
	caller.hears(t, 1000)

	// DTMF both ways, under the receiver's telephone-event number.
	digit := []byte{5, 0x0a, 0, 160}
	caller.send(t, 101, true, digit, 0)
	got := desk.waitPacket(t, deskFrom, "telephone-event", func(p rtpIn) bool { return p.pt != 0 })
	if got.pt != 100 || !bytes.Equal(got.payload, digit) {
		t.Errorf("caller's DTMF reached the retriever as PT %d %v, want 100 %v", got.pt, got.payload, digit)
	}
	desk.send(t, 100, true, digit, 0)
	got = caller.waitPacket(t, callerFrom, "telephone-event", func(p rtpIn) bool { return p.pt != 97 })
	if got.pt != 101 || !bytes.Equal(got.payload, digit) {
		t.Errorf("retriever's DTMF reached the caller as PT %d %v, want 101 %v", got.pt, got.payload, digit)
	}

	// Nothing arrived under another number.
	if pts := caller.payloadTypes(0); len(pts) != 2 || pts[97] == 0 || pts[101] != 1 {
		t.Errorf("caller received payload types %v, want 97 and one 101", pts)
	}
	if pts := desk.payloadTypes(0); len(pts) != 2 || pts[0] == 0 || pts[100] != 1 {
		t.Errorf("retriever received payload types %v, want 0 and one 100", pts)
	}
}
