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
type leg struct {
	remote    netip.AddrPort
	addr      *net.UDPAddr // reused by every batched write
	codec     uint8        // the G.711 law: ptPCMU or ptPCMA
	sendPT    uint8        // payload type of codec in RTP to the peer
	recvPT    uint8        // payload type of codec in RTP from the peer
	sendEvent uint8        // telephone-event type to the peer; 0: none negotiated
	recvEvent uint8        // telephone-event type from the peer; 0: none negotiated
	mute      bool         // the peer does not want media from us (it holds)

	mode  legMode
	peer  *leg
	ssrc  uint32
	seq   uint16
	ts    uint32
	frame int
	buf   [rtpHeaderLen + frameSamples]byte

	// relay state for packets forwarded to this leg
	relayInit bool
	inSSRC    uint32
	seqOff    uint16
	tsOff     uint32
	marker    bool
}

// newLeg is the leg of a peer whose offer o our answer accepts: both
// directions use the offer's numbers.
func newLeg(o offer) *leg {
	l := &leg{
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
// one pacing clock that sends music to every parked call in batches, and
// a relay between bridged legs. Nothing is decoded.
type engine struct {
	conn  *net.UDPConn
	rtcp  *net.UDPConn
	pc    *ipv4.PacketConn
	local netip.AddrPort
	music *music
	log   *slog.Logger

	mu     sync.RWMutex
	byAddr map[netip.AddrPort]*leg
	onHold []*leg // legs in modeMusic, order irrelevant
	stats  engineStats
	clk    clockState    // guarded by mu
	wake   chan struct{} // one token per start of the clock
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

// listenEngine opens the RTP socket on host with an even port (and its
// RTCP neighbour, drained) chosen by the system, or port when non-zero.
func listenEngine(host netip.Addr, port int, m *music, log *slog.Logger) (*engine, error) {
	var conn, rtcp *net.UDPConn
	var err error
	for try := 0; try < 50; try++ {
		p := port
		if p == 0 {
			p = 20000 + 2*rand.IntN(10000)
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
		conn:   conn,
		rtcp:   rtcp,
		pc:     ipv4.NewPacketConn(conn),
		local:  netip.AddrPortFrom(local.Addr().Unmap(), local.Port()),
		music:  m,
		log:    log,
		byAddr: make(map[netip.AddrPort]*leg),
		clk:    clockState{changed: make(chan struct{})},
		wake:   make(chan struct{}, 1),
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

// add registers a leg; its packets are drained until it gets a mode.
func (e *engine) add(l *leg) {
	e.mu.Lock()
	if old, ok := e.byAddr[l.remote]; ok && old != l {
		e.log.Warn("rtp address reused by a new call", "remote", l.remote)
		e.setModeLocked(old, modeIdle, nil)
	}
	e.byAddr[l.remote] = l
	e.mu.Unlock()
}

// remove forgets a leg, unbridging its peer (which then idles).
func (e *engine) remove(l *leg) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := l.peer; p != nil && p.peer == l {
		e.setModeLocked(p, modeIdle, nil)
	}
	e.setModeLocked(l, modeIdle, nil)
	if e.byAddr[l.remote] == l {
		delete(e.byAddr, l.remote)
	}
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

// update changes a leg's remote (re-INVITE); the caller holds no lock.
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
func (e *engine) reanswer(l *leg, a offer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.moveLocked(l, a.addr)
	l.sendPT, l.sendEvent = a.pt, a.eventPT
	l.mute = a.direction == "sendonly" || a.direction == "inactive"
	e.wantClockLocked(l)
}

// moveLocked points l at the peer's new address, if it changed.
func (e *engine) moveLocked(l *leg, addr netip.AddrPort) {
	if addr == l.remote {
		return
	}
	if e.byAddr[l.remote] == l {
		delete(e.byAddr, l.remote)
	}
	l.remote = addr
	l.addr = net.UDPAddrFromAddrPort(addr)
	e.byAddr[l.remote] = l
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

// clock sends one music frame to every parked leg every 20 ms, all from
// one goroutine and in sendmmsg batches, on an absolute schedule so that
// the spacing does not drift with the work done per tick. While no leg
// needs music it does not tick: it waits for wantClockLocked's token.
func (e *engine) clock(ctx context.Context) {
	var msgs []ipv4.Message
	var next time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	idle := true
	for {
		if idle {
			select {
			case <-ctx.Done():
				return
			case <-e.wake:
			}
			idle = false
			next = time.Now() // the first tick is now
		} else {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		// Build the tick's packets under the read lock (microseconds),
		// send them after it: parks, retrieves and hang-ups, which take
		// the write lock, then never wait for a tick's syscalls.
		e.mu.RLock()
		msgs = msgs[:0]
		for _, l := range e.onHold {
			if l.mute {
				continue
			}
			writeRTPHeader(l.buf[:], l.sendPT, l.marker, l.seq, l.ts, l.ssrc)
			copy(l.buf[rtpHeaderLen:], e.music.frame(l.codec, l.frame))
			l.marker = false
			l.seq++
			l.ts += frameSamples
			if l.frame++; l.frame == len(e.music.pcmu) {
				l.frame = 0
			}
			if len(msgs) < cap(msgs) {
				msgs = msgs[:len(msgs)+1] // keeps the entry's Buffers
			} else {
				msgs = append(msgs, ipv4.Message{})
			}
			m := &msgs[len(msgs)-1]
			if m.Buffers == nil {
				m.Buffers = make([][]byte, 1)
			}
			m.Buffers[0], m.Addr = l.buf[:], l.addr
		}
		e.stats.musicSent.Add(uint64(len(msgs)))
		e.mu.RUnlock()
		if len(msgs) == 0 && e.stopClock() {
			idle = true
			continue
		}
		for i := 0; i < len(msgs); i += batchSize {
			e.send(msgs[i:min(i+batchSize, len(msgs))])
		}
		for i := range msgs {
			msgs[i].Addr = nil
		}

		next = next.Add(framePeriod)
		now := time.Now()
		if d := now.Sub(next); d > framePeriod {
			// Far behind (a stall): skip ticks rather than burst.
			e.stats.lateTicks.Add(1)
			next = now
		}
		timer.Reset(next.Sub(now))
	}
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

// relay reads every RTP packet arriving on the shared socket. Packets of
// parked or idle legs are dropped unread; packets of bridged legs are
// rewritten into the peer's stream (SSRC, sequence, timestamp, payload
// type, G.711 law) and sent on.
//
// DTMF (RFC 4733): a telephone-event packet is relayed only when both
// legs negotiated telephone-event, and carries the receiving leg's
// number; otherwise it is dropped, as are a parked caller's.
func (e *engine) relay() {
	in := make([]ipv4.Message, batchSize)
	out := make([]ipv4.Message, 0, batchSize)
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
		e.mu.RLock()
		for i := range n {
			m := &in[i]
			ua, ok := m.Addr.(*net.UDPAddr)
			if !ok {
				continue
			}
			ap := ua.AddrPort()
			src := e.byAddr[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())]
			if src == nil || src.mode != modeBridge || src.peer == nil {
				continue
			}
			if dst := src.peer; forward(src, dst, m.Buffers[0][:m.N]) {
				out = append(out, ipv4.Message{Buffers: [][]byte{m.Buffers[0][:m.N]}, Addr: dst.addr})
			}
		}
		if len(out) > 0 {
			e.send(out)
			e.stats.relayed.Add(uint64(len(out)))
		}
		e.mu.RUnlock()
	}
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
