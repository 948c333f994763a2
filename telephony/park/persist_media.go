package park

import (
	"net"
	"net/netip"
	"time"

	"github.com/switchboard/switchboard/telephony/park/store"
)

// position copies l's media as the store keeps it into m: where it flows,
// its formats and where the service's own sender is in its stream. The
// write lock: the clock advances a leg's sequence under the read lock.
func (e *engine) position(l *leg, m *store.Media) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m.Remote = l.sdp
	if l.latched() {
		m.Latched, m.LatchedSSRC = l.stream.src, l.stream.ssrc
	}
	m.Codec, m.SendPT, m.RecvPT = l.codec, l.sendPT, l.recvPT
	m.SendEventPT, m.RecvEventPT, m.Mute = l.sendEvent, l.recvEvent, l.mute
	m.SSRC, m.Seq, m.Timestamp = l.ssrc, l.seq, l.ts
	m.PositionAt = time.Now()
}

// restoredLeg is the media leg of a stored leg at now: the same formats
// and the same sender. Its SSRC carries on, and its sequence and
// timestamp go on from beyond where the sender can have got since the
// position was read (one packet per 20 ms), so that nothing it sent
// before a crash is repeated under the same numbers and the timestamp
// follows the wall clock across the gap; without a read time, by
// restoreAhead packets. Its latched stream is not restored: the engine
// latches the peer's stream again from its SDP address and SIP host, as
// for a new call.
func restoredLeg(m store.Media, now time.Time) *leg {
	ahead := uint32(restoreAhead)
	if !m.PositionAt.IsZero() {
		ahead = 1 + uint32(max(now.Sub(m.PositionAt), 0)/framePeriod)
	}
	l := &leg{
		sdp:       m.Remote,
		remote:    m.Remote,
		addr:      net.UDPAddrFromAddrPort(m.Remote),
		codec:     m.Codec,
		sendPT:    m.SendPT,
		recvPT:    m.RecvPT,
		sendEvent: m.SendEventPT,
		recvEvent: m.RecvEventPT,
		mute:      m.Mute,
		ssrc:      m.SSRC,
		seq:       m.Seq + uint16(ahead),
		ts:        m.Timestamp + ahead*frameSamples,
		marker:    true,
	}
	if m.Latched.IsValid() && m.Latched != m.Remote {
		// Symmetric RTP: the peer sent from elsewhere (NAT); send there
		// until its stream is latched again.
		l.remote, l.addr = m.Latched, net.UDPAddrFromAddrPort(m.Latched)
	}
	return l
}

// validRemote says whether a stored media address can be sent to.
func validRemote(a netip.AddrPort) bool { return a.IsValid() && a.Port() != 0 }
