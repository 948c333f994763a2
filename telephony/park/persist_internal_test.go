package park

import (
	"net/netip"
	"testing"
	"time"

	"github.com/switchboard/switchboard/telephony/park/store"
)

// TestRestoredSenderGoesOnBeyondItsLastPosition: a restored leg's RTP
// sender keeps its SSRC and continues past where it can have got since
// its position was read (one packet a 20 ms), so that after a crash no
// sequence number is sent twice and the timestamp follows the wall
// clock; a position without a read time (schema 1) skips restoreAhead.
func TestRestoredSenderGoesOnBeyondItsLastPosition(t *testing.T) {
	read := time.Unix(1_790_000_000, 0)
	m := store.Media{Remote: netip.MustParseAddrPort("192.0.2.7:16384"), Codec: ptPCMA, SendPT: 8, RecvPT: 8,
		SSRC: 0xfeedface, Seq: 65530, Timestamp: 0xffffff00, PositionAt: read}
	l := restoredLeg(m, read.Add(3*time.Second))
	const sent = 150 // 3 s of packets
	if l.ssrc != m.SSRC {
		t.Errorf("ssrc %#x, want %#x", l.ssrc, m.SSRC)
	}
	if want := m.Seq + sent + 1; l.seq != want { // wraps
		t.Errorf("seq %d, want %d", l.seq, want)
	}
	if want := m.Timestamp + (sent+1)*frameSamples; l.ts != want {
		t.Errorf("timestamp %d, want %d", l.ts, want)
	}
	m.PositionAt = time.Time{}
	if l := restoredLeg(m, read); l.seq != m.Seq+restoreAhead {
		t.Errorf("seq without a read time %d, want %d", l.seq, m.Seq+restoreAhead)
	}
}
