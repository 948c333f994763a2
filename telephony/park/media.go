package park

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zaf/g711"
	"golang.org/x/net/ipv4"
)

const (
	frameSamples = 160 // 20 ms at 8 kHz
	rtpHeaderLen = 12
	framePeriod  = 20 * time.Millisecond
	batchSize    = 64
)

// music is the music on hold encoded once per codec; every parked call
// reads the same frames, each at its own position.
type music struct {
	pcmu, pcma [][]byte
}

// newMusic cuts 8 kHz mono PCM into 20 ms frames and encodes each frame
// in PCMU and PCMA. A partial last frame wraps around to the start so the
// loop has no gap.
func newMusic(pcm []int16) (*music, error) {
	if len(pcm) < frameSamples {
		return nil, errors.New("music on hold is shorter than one 20 ms frame")
	}
	n := (len(pcm) + frameSamples - 1) / frameSamples
	m := &music{pcmu: make([][]byte, n), pcma: make([][]byte, n)}
	ublock := make([]byte, n*frameSamples)
	ablock := make([]byte, n*frameSamples)
	for i := range n * frameSamples {
		s := pcm[i%len(pcm)]
		ublock[i] = g711.EncodeUlawFrame(s)
		ablock[i] = g711.EncodeAlawFrame(s)
	}
	for i := range n {
		m.pcmu[i] = ublock[i*frameSamples : (i+1)*frameSamples]
		m.pcma[i] = ablock[i*frameSamples : (i+1)*frameSamples]
	}
	return m, nil
}

func (m *music) frame(codec uint8, i int) []byte {
	if codec == ptPCMA {
		return m.pcma[i]
	}
	return m.pcmu[i]
}

// legMode says what the engine does with a leg.
type legMode uint8

const (
	modeIdle   legMode = iota // registered, nothing sent (inbound drained)
	modeMusic                 // music on hold
	modeBridge                // relayed to and from peer
)

// leg is one RTP stream between the service and a peer. Its send state is
// touched only by the goroutine serving its current mode; mode changes
// happen under the engine's write lock.
//
// Payload types follow RFC 3264: the numbers in an SDP say what its
// writer expects to receive. What we send carries the numbers of the
// peer's SDP (sendPT, sendEvent); what we accept carries the numbers of
// ours (recvPT, recvEvent). When the peer offered, our answer repeats its
// numbers and the two are the same; when we offered (ring-back), ours
// are the static ones and the answer's may differ.
//
// Where the peer is (see engine): its SDP names sdp; until its RTP is
// latched we send there. Once a stream of its arrives and is latched,
// we send where that stream comes from (symmetric RTP), and its packets
// are known by their source and SSRC (stream).
type leg struct {
	sdp       netip.AddrPort // where the peer's SDP says it receives
	sig       netip.Addr     // where its SIP came from: a latching hint; may be invalid
	stream    streamKey      // its latched stream; stream.src invalid: none yet
	remote    netip.AddrPort // where we send: stream.src once latched, else sdp
	addr      *net.UDPAddr   // remote, reused by every batched write; replaced, never changed
	window    *time.Timer    // while its latch window is open (engine.openWindowLocked)
	codec     uint8          // the G.711 law: ptPCMU or ptPCMA
	sendPT    uint8          // payload type of codec in RTP to the peer
	recvPT    uint8          // payload type of codec in RTP from the peer
	sendEvent uint8          // telephone-event type to the peer; 0: none negotiated
	recvEvent uint8          // telephone-event type from the peer; 0: none negotiated
	mute      bool           // the peer does not want media from us (it holds)

	mode  legMode
	peer  *leg
	ssrc  uint32
	seq   uint16
	ts    uint32
	frame int
	buf   [rtpHeaderLen + frameSamples]byte

	// heard is when the peer's latched stream last brought a packet
	// (sinceEpoch); 0: never. Written by the relay reader, read by the
	// probe (heardWithin).
	heard atomic.Int64

	// relay state for packets forwarded to this leg
	relayInit bool
	inSSRC    uint32
	seqOff    uint16
	tsOff     uint32
	marker    bool
}

// streamKey identifies an RTP stream: where it comes from and its SSRC.
type streamKey struct {
	src  netip.AddrPort
	ssrc uint32
}

// latched says whether a stream of the peer's was latched.
func (l *leg) latched() bool { return l.stream.src.IsValid() }

// newLeg is the leg of a peer whose offer o our answer accepts: both
// directions use the offer's numbers.
func newLeg(o offer) *leg {
	l := &leg{
		sdp:    o.addr,
		remote: o.addr,
		addr:   net.UDPAddrFromAddrPort(o.addr),
		ssrc:   rand.Uint32(),
		seq:    uint16(rand.Uint32()),
		ts:     rand.Uint32(),
		marker: true,
	}
	l.accept(o)
	return l
}

// accept takes the payload types and direction of a peer's offer that
// our answer repeats.
func (l *leg) accept(o offer) {
	l.codec, l.sendPT, l.recvPT = o.codec, o.pt, o.pt
	l.sendEvent, l.recvEvent = o.eventPT, o.eventPT
	l.mute = o.direction == "sendonly" || o.direction == "inactive"
}

// answered is the leg of a peer that answered our offer: we send with
// the answer's numbers and receive with our offer's (static G.711 and
// ringEventPT, when the answer kept telephone-event).
func answered(a offer) *leg {
	l := newLeg(a)
	l.recvPT, l.recvEvent = a.codec, 0
	if a.eventPT != 0 {
		l.recvEvent = ringEventPT
	}
	return l
}

// ours is the audio format and telephone-event type of our own SDP for l.
func (e *engine) ours(l *leg) (format, uint8) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return format{pt: l.recvPT, codec: l.codec}, l.recvEvent
}

// engine is the service's media plane: one UDP socket for every call,
// one pacing clock that sends music to every parked call in batches,
// each tick shared among its senders' threads (senders.go), and a relay
// between bridged legs. Nothing is decoded.
//
// RTP identity and latching. With one socket for every call, the
// destination port says nothing about the call: a packet is the call's
// whose stream (source address and SSRC) the engine latched to it, and
// the engine sends to where that stream comes from (symmetric RTP,
// RFC 4961 practice), which is what makes a phone behind NAT, which
// names its private address in its SDP, work, and what keeps two calls
// whose SDPs name the same address apart. An SDP address alone never
// claims a packet. A packet of a stream not latched yet goes, in this
// order of preference:
//
//  1. to the leg latched to the same source (its peer restarted its
//     stream with a new SSRC, RFC 3550 §8); not re-latched;
//  2. to the one leg not yet latched whose SDP names exactly its source
//     (a peer without NAT), and that stream is latched to it; when
//     several legs name that address, to the one of them whose SIP came
//     from the same host; any time, since the peer told us that address;
//  3. to the one leg in its latch window whose SIP or SDP came from the
//     stream's host (a peer behind NAT: same public address, another
//     port), and that stream is latched to it, moving it if it was
//     latched elsewhere.
//
// Rule 3 never takes the stream of a leg that ended or moved its media
// within retireFor: a phone's last packets after its BYE must not take
// the window of a call just parked from the same host (which, answered
// sendonly, sends nothing and would hear nothing).
//
// Anything else, or more than one candidate, is dropped. The latch
// window (latchWindow) opens when a leg is answered and when a
// re-INVITE (the peer's, or its answer to ours) is applied, and closes
// at its first latch: so a stream from elsewhere can take a call only
// during its first packets, and only from the host it signals from. An
// attacker elsewhere cannot latch any call; one who shares the caller's
// host, or spoofs it in those first packets, can, as with every latching
// SBC. A parked caller answered sendonly sends nothing: until it does,
// its music goes to its SDP address. The lookups are map look-ups: O(1)
// per packet; a leg's entries change only under the write lock, at
// signalling time or at its latch.
type engine struct {
	conn  *net.UDPConn
	rtcp  *net.UDPConn
	pc    *ipv4.PacketConn
	local netip.AddrPort
	music *music
	log   *slog.Logger

	// broadcasts are the directed broadcast addresses of this host's
	// IPv4 networks, refused as media addresses (acceptable).
	broadcasts map[netip.Addr]bool

	mu       sync.RWMutex
	streams  map[streamKey]*leg        // latched streams
	bySrc    map[netip.AddrPort]*leg   // the leg latched to each source
	bySDP    map[netip.AddrPort][]*leg // legs not latched, by their SDP address
	bySDPSig map[sdpSig][]*leg         // the same, by SDP address and SIP host
	open     map[netip.Addr][]*leg     // legs in their latch window, by SIP and SDP host
	retired  map[streamKey]time.Time   // streams of ended or moved legs, refused by rule 3 until then
	retiredQ []retiredStream           // the same, in order of their time
	onHold   []*leg                    // legs in modeMusic, order irrelevant
	stats    engineStats
	clk      clockState    // guarded by mu
	wake     chan struct{} // one token per start of the clock

	// senders is how many threads share a music tick (senders.go) and
	// priority their real-time priority (0: normal); set before run.
	senders, priority int
}

// latchWindow is how long after an answer or re-INVITE a leg may latch
// a stream that does not come from its SDP address. Phones send their
// first packet within a round trip of the 2xx; the window only bounds
// how long a call is exposed to a stream from its host that is not its.
const latchWindow = 10 * time.Second

// sdpSig keys a leg by its SDP address and the host its SIP came from.
type sdpSig struct {
	sdp netip.AddrPort
	sig netip.Addr
}

// clockState says whether the music clock ticks. It ticks only while a
// leg needs music (on hold and not muted): the first such leg starts
// it, and it stops itself on the first tick with nothing to send.
type clockState struct {
	running       bool
	starts, stops uint64
	changed       chan struct{} // closed and replaced on every start and stop
}

// engineStats counts what the engine did; read with Service.MediaStats.
type engineStats struct {
	musicSent, relayed, sendErrors, lateTicks atomic.Uint64
}

// MediaStats are counters of the service's media plane since it started.
type MediaStats struct {
	// MusicPackets is the number of music-on-hold packets sent.
	MusicPackets uint64
	// RelayedPackets is the number of packets relayed between bridged legs.
	RelayedPackets uint64
	// SendErrors counts packets the kernel refused to send.
	SendErrors uint64
	// LateTicks counts music ticks that fell more than a frame behind.
	LateTicks uint64
}

// rtpLow and rtpHigh bound the even media port the service picks when
// none is given (RTCP on the next): below Linux's ephemeral range
// (32768-60999 by default), so that no socket bound to port 0 (an
// outgoing connection, another program's media) takes it while the
// service is stopped, and a restarted service binds the port its kept
// calls' peers send to again.
const (
	rtpLow  = 20000
	rtpHigh = 32766
)

// listenEngine opens the RTP socket on host with an even port (and its
// RTCP neighbour, drained) chosen by the system, or port when non-zero.
func listenEngine(host netip.Addr, port int, m *music, log *slog.Logger) (*engine, error) {
	var conn, rtcp *net.UDPConn
	var err error
	for try := 0; try < 50; try++ {
		p := port
		if p == 0 {
			p = rtpLow + 2*rand.IntN((rtpHigh-rtpLow)/2)
		}
		conn, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(host, uint16(p))))
		if err != nil {
			if port != 0 {
				break
			}
			continue
		}
		rtcp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(host, uint16(p+1))))
		if err != nil {
			conn.Close()
			if port != 0 {
				break
			}
			continue
		}
		break
	}
	if err != nil {
		return nil, fmt.Errorf("rtp listen on %s: %w", host, err)
	}
	_ = conn.SetReadBuffer(8 << 20)
	_ = conn.SetWriteBuffer(8 << 20)
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return &engine{
		conn:       conn,
		rtcp:       rtcp,
		pc:         ipv4.NewPacketConn(conn),
		local:      netip.AddrPortFrom(local.Addr().Unmap(), local.Port()),
		music:      m,
		log:        log,
		broadcasts: localBroadcasts(),
		streams:    make(map[streamKey]*leg),
		bySrc:      make(map[netip.AddrPort]*leg),
		bySDP:      make(map[netip.AddrPort][]*leg),
		bySDPSig:   make(map[sdpSig][]*leg),
		open:       make(map[netip.Addr][]*leg),
		retired:    make(map[streamKey]time.Time),
		clk:        clockState{changed: make(chan struct{})},
		wake:       make(chan struct{}, 1),
		senders:    1,
	}, nil
}

// run serves the engine until ctx ends: the music clock, the relay reader
// and the RTCP drain.
func (e *engine) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { e.clock(ctx) })
	wg.Go(func() { e.relay() })
	wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := e.rtcp.ReadFromUDPAddrPort(buf); err != nil && errors.Is(err, net.ErrClosed) {
				return
			}
		}
	})
	<-ctx.Done()
	e.conn.Close()
	e.rtcp.Close()
	wg.Wait()
}

// add registers a leg, not latched, its latch window open; its packets
// are drained until it gets a mode.
func (e *engine) add(l *leg) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.indexSDPLocked(l)
	e.openWindowLocked(l)
}

// remove forgets a leg, unbridging its peer (which then idles). It may
// be called more than once.
func (e *engine) remove(l *leg) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := l.peer; p != nil && p.peer == l {
		e.setModeLocked(p, modeIdle, nil)
	}
	e.setModeLocked(l, modeIdle, nil)
	e.closeWindowLocked(l)
	if l.latched() {
		e.retireLocked(l.stream)
		e.unlatchLocked(l)
	}
	e.unindexSDPLocked(l)
}

// playMusic puts a leg on music on hold from the start of the loop.
func (e *engine) playMusic(l *leg) {
	e.mu.Lock()
	l.frame = 0
	e.setModeLocked(l, modeMusic, nil)
	e.mu.Unlock()
}

// bridge relays a and b to each other, stopping any music first.
func (e *engine) bridge(a, b *leg) {
	e.mu.Lock()
	e.setModeLocked(a, modeBridge, b)
	e.setModeLocked(b, modeBridge, a)
	e.mu.Unlock()
}

// update applies a peer's offer o (re-INVITE), which the caller checked
// with acceptable; the caller holds no lock.
func (e *engine) update(l *leg, o offer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.moveLocked(l, o.addr)
	l.accept(o)
	e.wantClockLocked(l)
}

// reanswer applies a peer's answer a to our re-offer of l's session
// (resume): the peer's address, the numbers it receives (what we send)
// and its direction. What we receive stays under our offer's numbers.
// An answer whose media is unacceptable changes nothing.
func (e *engine) reanswer(l *leg, a offer) {
	if err := e.acceptable(a); err != nil {
		e.log.Warn("answer to our re-INVITE names unacceptable media; media left as it was", "error", err)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.moveLocked(l, a.addr)
	l.sendPT, l.sendEvent = a.pt, a.eventPT
	l.mute = a.direction == "sendonly" || a.direction == "inactive"
	e.wantClockLocked(l)
}

// moveLocked applies the SDP address of a new offer or answer and opens
// l's latch window. The same address keeps a latched stream (and where
// we send); another unlatches it: the peer moved its media, and we send
// to the new address until a stream of it is latched.
func (e *engine) moveLocked(l *leg, addr netip.AddrPort) {
	e.closeWindowLocked(l)
	if addr != l.sdp {
		if l.latched() {
			e.retireLocked(l.stream)
			e.unlatchLocked(l)
		}
		e.unindexSDPLocked(l)
		l.sdp = addr
		e.indexSDPLocked(l)
		e.sendToLocked(l, addr)
	}
	e.openWindowLocked(l)
}

// sendToLocked makes addr where l's RTP goes.
func (e *engine) sendToLocked(l *leg, addr netip.AddrPort) {
	if addr != l.remote {
		l.remote = addr
		l.addr = net.UDPAddrFromAddrPort(addr)
	}
}

// latchLocked makes k l's stream: its packets are l's, and l's RTP goes
// where they come from. It closes l's latch window.
func (e *engine) latchLocked(l *leg, k streamKey) {
	if l.latched() {
		e.unlatchLocked(l)
	}
	e.unindexSDPLocked(l)
	e.closeWindowLocked(l)
	if old := e.streams[k]; old != nil && old != l {
		e.unlatchLocked(old) // its source and SSRC are now l's: it waits for another
	}
	l.stream = k
	e.streams[k] = l
	e.bySrc[k.src] = l
	e.sendToLocked(l, k.src)
	e.log.Debug("rtp latched", "sdp", l.sdp, "source", k.src, "ssrc", k.ssrc)
}

// unlatchLocked forgets l's stream: l is back to its SDP address.
func (e *engine) unlatchLocked(l *leg) {
	if e.streams[l.stream] == l {
		delete(e.streams, l.stream)
	}
	if e.bySrc[l.stream.src] == l {
		delete(e.bySrc, l.stream.src)
	}
	l.stream = streamKey{}
	e.indexSDPLocked(l)
	e.sendToLocked(l, l.sdp)
}

// indexSDPLocked lists l, not latched, under its SDP address.
func (e *engine) indexSDPLocked(l *leg) {
	k := sdpSig{l.sdp, l.sig}
	if !slices.Contains(e.bySDP[l.sdp], l) {
		e.bySDP[l.sdp] = append(e.bySDP[l.sdp], l)
		e.bySDPSig[k] = append(e.bySDPSig[k], l)
	}
}

func (e *engine) unindexSDPLocked(l *leg) {
	dropLeg(e.bySDP, l.sdp, l)
	dropLeg(e.bySDPSig, sdpSig{l.sdp, l.sig}, l)
}

// openWindowLocked opens l's latch window for latchWindow: it is listed
// under the hosts its SIP and its SDP came from.
func (e *engine) openWindowLocked(l *leg) {
	e.closeWindowLocked(l)
	var t *time.Timer
	t = time.AfterFunc(latchWindow, func() {
		e.mu.Lock()
		if l.window == t {
			e.closeWindowLocked(l)
		}
		e.mu.Unlock()
	})
	l.window = t
	hs, n := l.hosts()
	for _, h := range hs[:n] {
		e.open[h] = append(e.open[h], l)
	}
}

func (e *engine) closeWindowLocked(l *leg) {
	if l.window == nil {
		return
	}
	l.window.Stop()
	l.window = nil
	hs, n := l.hosts()
	for _, h := range hs[:n] {
		dropLeg(e.open, h, l)
	}
}

// hosts are the hosts l's latch window lists it under: its SIP's, and
// its SDP's when different; n of them.
func (l *leg) hosts() (hs [2]netip.Addr, n int) {
	if l.sig.IsValid() {
		hs[n], n = l.sig, n+1
	}
	if h := l.sdp.Addr(); h.IsValid() && h != l.sig {
		hs[n], n = h, n+1
	}
	return hs, n
}

// dropLeg takes l out of m[k], deleting the key when it empties.
func dropLeg[K comparable](m map[K][]*leg, k K, l *leg) {
	ls := m[k]
	i := slices.Index(ls, l)
	if i < 0 {
		return
	}
	ls[i] = ls[len(ls)-1]
	ls[len(ls)-1] = nil
	if ls = ls[:len(ls)-1]; len(ls) == 0 {
		delete(m, k)
	} else {
		m[k] = ls
	}
}

// routeLocked finds the leg of a packet of stream k (see engine): the leg and
// true when it is known, or the leg k may be latched to (the caller
// then takes the write lock and latches), or nil.
func (e *engine) routeLocked(k streamKey) (l *leg, known bool) {
	if l := e.streams[k]; l != nil {
		return l, true
	}
	if l := e.bySrc[k.src]; l != nil {
		return l, true
	}
	switch c := e.bySDP[k.src]; {
	case len(c) == 1:
		return c[0], false
	case len(c) > 1:
		if c := e.bySDPSig[sdpSig{k.src, k.src.Addr()}]; len(c) == 1 {
			return c[0], false
		}
		return nil, false
	}
	if c := e.open[k.src.Addr()]; len(c) == 1 && !e.retiredLocked(k) {
		return c[0], false
	}
	return nil, false
}

// retireFor is how long the stream of a leg that ended or moved its
// media stays its own: a phone may go on sending until it has finished
// the transaction that ended it (64×T1 at worst).
const retireFor = 32 * time.Second

// retireLocked refuses k to the NAT rule (3) for retireFor, forgetting
// the retirements whose time passed. Under the write lock.
func (e *engine) retireLocked(k streamKey) {
	now := time.Now()
	q := e.retiredQ
	n := 0
	for ; n < len(q) && now.After(q[n].until); n++ {
		if e.retired[q[n].k].Equal(q[n].until) {
			delete(e.retired, q[n].k)
		}
	}
	q = q[n:]
	if len(q) < cap(q)/4 { // a smaller array once most of it is spent
		q = append(make([]retiredStream, 0, 2*len(q)+8), q...)
	}
	until := now.Add(retireFor)
	e.retired[k] = until
	e.retiredQ = append(q, retiredStream{k, until})
}

// retiredLocked says whether k is the stream of a leg that ended or
// moved within retireFor (see retireLocked). Under either lock.
func (e *engine) retiredLocked(k streamKey) bool {
	until, ok := e.retired[k]
	return ok && time.Now().Before(until)
}

// acceptable says whether the service can and may send o's media: an
// address of the family it sends from (its RTP socket is bound to one
// address), not a broadcast of this host's networks, and not this
// host's loopback unless the service itself is on it (parseOffer has
// refused multicast, unspecified and the limited broadcast).
func (e *engine) acceptable(o offer) error {
	a := o.addr.Addr()
	switch {
	case a.Is4() != e.local.Addr().Is4():
		have, want := "IPv4", "IPv6"
		if a.Is4() {
			have, want = want, have
		}
		return mediaFault(warnFamily, "%s media address %s: the service sends %s media only", want, a, have)
	case e.broadcasts[a]:
		return mediaFault(warnMisc, "broadcast media address %s", a)
	case a.IsLoopback() && !e.local.Addr().IsLoopback():
		return mediaFault(warnMisc, "loopback media address %s to a service not on loopback", a)
	}
	return checkMediaAddr(a)
}

// localBroadcasts are the directed broadcast addresses of this host's
// IPv4 networks (none of a /31 or /32).
func localBroadcasts() map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip4, mask := n.IP.To4(), n.Mask
		if len(mask) == net.IPv6len {
			mask = mask[net.IPv6len-net.IPv4len:]
		}
		if ip4 == nil || len(mask) != net.IPv4len {
			continue
		}
		if ones, _ := mask.Size(); ones > 30 {
			continue
		}
		var b [4]byte
		for i := range b {
			b[i] = ip4[i] | ^mask[i]
		}
		out[netip.AddrFrom4(b)] = true
	}
	return out
}

func (e *engine) setModeLocked(l *leg, m legMode, peer *leg) {
	if l.mode == modeMusic && m != modeMusic {
		for i, x := range e.onHold {
			if x == l {
				last := len(e.onHold) - 1
				e.onHold[i] = e.onHold[last]
				e.onHold[last] = nil
				e.onHold = e.onHold[:last]
				break
			}
		}
	}
	if m == modeMusic && l.mode != modeMusic {
		e.onHold = append(e.onHold, l)
	}
	if m == modeBridge {
		l.relayInit = false
		l.marker = true
	}
	l.mode, l.peer = m, peer
	e.wantClockLocked(l)
}

// wantClockLocked starts the music clock if l needs music and the clock
// is stopped. The clock's first tick then comes at once, so the leg's
// first frame is not delayed.
func (e *engine) wantClockLocked(l *leg) {
	if e.clk.running || l.mode != modeMusic || l.mute {
		return
	}
	e.clk.running = true
	e.clk.starts++
	e.clockChangedLocked()
	e.wake <- struct{}{} // never blocks: a token is sent only while stopped, and the stopped clock takes it
}

// stopClock stops the clock unless a leg needs music; it reports
// whether it stopped.
func (e *engine) stopClock() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range e.onHold {
		if !l.mute {
			return false
		}
	}
	e.clk.running = false
	e.clk.stops++
	e.clockChangedLocked()
	return true
}

func (e *engine) clockChangedLocked() {
	close(e.clk.changed)
	e.clk.changed = make(chan struct{})
}

// clockNow returns the clock's state and a channel closed at its next change.
func (e *engine) clockNow() (clockState, <-chan struct{}) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.clk, e.clk.changed
}

// send writes a batch, retrying the tail when the kernel takes only part.
func (e *engine) send(msgs []ipv4.Message) {
	for len(msgs) > 0 {
		n, err := e.pc.WriteBatch(msgs, 0)
		if err != nil {
			// One bad destination (e.g. ICMP unreachable reported as an
			// error) must not stop the others: skip it and go on.
			if n <= 0 {
				n = 1
			}
			if !errors.Is(err, net.ErrClosed) {
				e.stats.sendErrors.Add(1)
			} else {
				return
			}
		}
		msgs = msgs[n:]
	}
}

// relay reads every RTP packet arriving on the shared socket and finds
// its leg by its stream (engine: source address and SSRC, latching new
// streams). Packets of parked or idle legs are dropped unread; packets
// of bridged legs are rewritten into the peer's stream (SSRC, sequence,
// timestamp, payload type, G.711 law) and sent on.
//
// DTMF (RFC 4733): a telephone-event packet is relayed only when both
// legs negotiated telephone-event, and carries the receiving leg's
// number; otherwise it is dropped, as are a parked caller's.
//
// Known streams are served under the read lock; a packet that may latch
// a new stream is set aside and served after, under the write lock
// (once per new stream; a stream nobody may latch never takes it). The
// batch's sends go out after the locks: the buffers are the relay's and
// a leg's addr is replaced, never changed.
func (e *engine) relay() {
	in := make([]ipv4.Message, batchSize)
	out := make([]ipv4.Message, 0, batchSize)
	var later [batchSize]int // in[] indexes of packets that may latch
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, 1500)}
	}
	for {
		n, err := e.pc.ReadBatch(in, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		out = out[:0]
		nl := 0
		now := sinceEpoch()
		e.mu.RLock()
		for i := range n {
			k, ok := streamOf(&in[i])
			if !ok {
				continue
			}
			l, known := e.routeLocked(k)
			switch {
			case known:
				l.heard.Store(now)
				out = e.relayLocked(l, &in[i], out)
			case l != nil:
				later[nl], nl = i, nl+1
			}
		}
		e.mu.RUnlock()
		if nl > 0 {
			e.mu.Lock()
			for _, i := range later[:nl] {
				k, _ := streamOf(&in[i])
				l, known := e.routeLocked(k) // again: an earlier packet may have latched it
				if l == nil {
					continue
				}
				if !known {
					e.latchLocked(l, k)
				}
				l.heard.Store(now)
				out = e.relayLocked(l, &in[i], out)
			}
			e.mu.Unlock()
		}
		if len(out) > 0 {
			e.send(out)
			e.stats.relayed.Add(uint64(len(out)))
			for i := range out {
				out[i].Addr = nil
			}
		}
	}
}

// epoch is the start of sinceEpoch's count.
var epoch = time.Now()

// sinceEpoch is the time since epoch by the monotonic clock, in
// nanoseconds; never 0 after the first nanosecond.
func sinceEpoch() int64 { return int64(time.Since(epoch)) }

// heardWithin says whether l's peer sent a packet of its latched stream
// in the last d: its phone is there, whatever its SIP says.
func (l *leg) heardWithin(d time.Duration) bool {
	at := l.heard.Load()
	return at != 0 && sinceEpoch()-at < int64(d)
}

// streamOf is the stream of a received RTP packet; false for anything
// too short to be RTP or not version 2.
func streamOf(m *ipv4.Message) (streamKey, bool) {
	ua, ok := m.Addr.(*net.UDPAddr)
	b := m.Buffers[0][:m.N]
	if !ok || len(b) < rtpHeaderLen || b[0]>>6 != 2 {
		return streamKey{}, false
	}
	ap := ua.AddrPort()
	return streamKey{src: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), ssrc: binary.BigEndian.Uint32(b[8:])}, true
}

// relayLocked rewrites m's packet from src for its bridged peer and adds
// it to out, reusing out's entries (no allocation); a packet of a leg
// not bridged is dropped.
func (e *engine) relayLocked(src *leg, m *ipv4.Message, out []ipv4.Message) []ipv4.Message {
	if src.mode != modeBridge || src.peer == nil {
		return out
	}
	dst := src.peer
	pkt := m.Buffers[0][:m.N]
	if !forward(src, dst, pkt) {
		return out
	}
	if len(out) < cap(out) {
		out = out[:len(out)+1] // keeps the entry's Buffers
	} else {
		out = append(out, ipv4.Message{})
	}
	o := &out[len(out)-1]
	if o.Buffers == nil {
		o.Buffers = make([][]byte, 1)
	}
	o.Buffers[0], o.Addr = pkt, dst.addr
	return out
}

// forward rewrites pkt from src in place for dst and says whether to send it.
func forward(src, dst *leg, pkt []byte) bool {
	if len(pkt) < rtpHeaderLen || pkt[0]>>6 != 2 || dst.mute {
		return false
	}
	cc := int(pkt[0] & 0x0f)
	hlen := rtpHeaderLen + 4*cc
	if pkt[0]&0x10 != 0 { // header extension
		if len(pkt) < hlen+4 {
			return false
		}
		hlen += 4 + 4*int(binary.BigEndian.Uint16(pkt[hlen+2:]))
	}
	if len(pkt) < hlen {
		return false
	}
	// Packets are recognised by the numbers src agreed to receive, and
	// leave with the numbers dst agreed to receive; the law is
	// transcoded by codec, whatever the numbers.
	pt := pkt[1] & 0x7f
	switch {
	case pt == src.recvPT:
		payload := pkt[hlen:]
		switch {
		case src.codec == ptPCMU && dst.codec == ptPCMA:
			for i, b := range payload {
				payload[i] = g711.Ulaw2AlawFrame(b)
			}
		case src.codec == ptPCMA && dst.codec == ptPCMU:
			for i, b := range payload {
				payload[i] = g711.Alaw2UlawFrame(b)
			}
		}
		pt = dst.sendPT
	case pt == src.recvEvent && src.recvEvent != 0 && dst.sendEvent != 0:
		pt = dst.sendEvent
	default:
		return false // comfort noise, other numbers, unknown payloads: not relayed
	}
	inSeq := binary.BigEndian.Uint16(pkt[2:])
	inTS := binary.BigEndian.Uint32(pkt[4:])
	inSSRC := binary.BigEndian.Uint32(pkt[8:])
	if !dst.relayInit || inSSRC != dst.inSSRC {
		dst.relayInit, dst.inSSRC = true, inSSRC
		dst.seqOff = dst.seq - inSeq
		dst.tsOff = dst.ts - inTS
		dst.marker = true
	}
	seq, ts := inSeq+dst.seqOff, inTS+dst.tsOff
	if int16(seq-dst.seq) >= 0 {
		dst.seq, dst.ts = seq+1, ts+frameSamples
	}
	mark := pkt[1]&0x80 != 0 || dst.marker
	dst.marker = false
	writeRTPHeaderFields(pkt, pt, mark, seq, ts, dst.ssrc)
	return true
}

func writeRTPHeader(b []byte, pt uint8, marker bool, seq uint16, ts, ssrc uint32) {
	b[0] = 0x80
	writeRTPHeaderFields(b, pt, marker, seq, ts, ssrc)
}

func writeRTPHeaderFields(b []byte, pt uint8, marker bool, seq uint16, ts, ssrc uint32) {
	b[1] = pt & 0x7f
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
}

// signalIP is the host l's SIP came from (the INVITE's source, or the
// answer's to ours): the host a peer behind NAT sends its RTP from too.
// Invalid when unknown.
func (l *sipLeg) signalIP() netip.Addr {
	var src string
	switch uas := l.dialog(); {
	case uas != nil && uas.InviteRequest != nil:
		src = uas.InviteRequest.Source()
	case l.uac != nil && l.uac.InviteResponse != nil:
		src = l.uac.InviteResponse.Source()
	}
	ap, err := netip.ParseAddrPort(src)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap().WithZone("")
}

// retiredStream is an entry of engine.retiredQ.
type retiredStream struct {
	k     streamKey
	until time.Time
}
