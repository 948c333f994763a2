package park

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/switchboard/switchboard/assets"
	"github.com/switchboard/switchboard/telephony"
	"github.com/zaf/g711"
)

func TestLotLeastRecentlyFreed(t *testing.T) {
	l := newLot(telephony.Lot{First: 1, Last: 3})
	calls := map[int]*parkedCall{}
	for want := 1; want <= 3; want++ {
		c := &parkedCall{}
		n, err := l.takeAny(c)
		if err != nil || n != want {
			t.Fatalf("takeAny = %d, %v; want %d", n, err, want)
		}
		calls[n] = c
	}
	if _, err := l.takeAny(&parkedCall{}); !errors.Is(err, ErrLotFull) {
		t.Fatalf("full lot: %v", err)
	}
	if l.release(2, calls[1]) {
		t.Fatal("release of orbit 2 by the call on 1 freed it")
	}
	if !l.release(2, calls[2]) || !l.release(1, calls[1]) || l.len() != 1 {
		t.Fatalf("release: %d orbits still taken, want 1", l.len())
	}
	c := &parkedCall{}
	if n, _ := l.takeAny(c); n != 2 || l.at(2) != c {
		t.Fatalf("takeAny after freeing 2 then 1 = %d, want 2", n)
	}
	if err := l.take(1, c); err != nil {
		t.Fatal(err)
	}
	if err := l.take(1, c); !errors.Is(err, ErrOrbitBusy) {
		t.Fatalf("take busy: %v", err)
	}
	if err := l.take(9, c); !errors.Is(err, ErrOutsideLot) {
		t.Fatalf("take outside: %v", err)
	}
	if got := l.all(); len(got) != 3 || got[0] != c || got[1] != c || got[2] != calls[3] {
		t.Fatalf("all = %v", got)
	}
}

func TestParseOffer(t *testing.T) {
	const head = "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n"
	for _, tc := range []struct {
		name, body string
		addr       string
		codec, pt  uint8
		event      uint8
		dir        string
		lines      int
		err        string
	}{
		{"pcmu", head + "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n", "10.1.1.1:4000", 0, 0, 101, "sendrecv", 1, ""},
		{"pcma first", head + "m=audio 4000 RTP/AVP 8 0\r\n", "10.1.1.1:4000", 8, 8, 0, "sendrecv", 1, ""},
		{"dynamic names", head + "m=audio 4000 RTP/AVP 96 97\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:97 PCMA/8000\r\n", "10.1.1.1:4000", 8, 97, 0, "sendrecv", 1, ""},
		{"dynamic pcmu and event", head + "m=audio 4000 RTP/AVP 96 100\r\na=rtpmap:96 pcmu/8000/1\r\na=rtpmap:100 telephone-event/8000\r\n", "10.1.1.1:4000", 0, 96, 100, "sendrecv", 1, ""},
		{"event at 48 kHz only", head + "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/48000\r\n", "10.1.1.1:4000", 0, 0, 0, "sendrecv", 1, ""},
		{"static number, other name", head + "m=audio 4000 RTP/AVP 8\r\na=rtpmap:8 PCMU/8000\r\n", "10.1.1.1:4000", 8, 8, 0, "sendrecv", 1, ""},
		{"dynamic name at 16 kHz", head + "m=audio 4000 RTP/AVP 97\r\na=rtpmap:97 PCMA/16000\r\n", "", 0, 0, 0, "", 0, "no common audio codec"},
		{"media-level c= and hold", "v=0\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\nc=IN IP4 10.2.2.2\r\na=sendonly\r\n", "10.2.2.2:5000", 0, 0, 0, "sendonly", 1, ""},
		{"video first", head + "m=video 4004 RTP/AVP 96\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n", "10.1.1.1:4000", 0, 0, 0, "sendrecv", 2, ""},
		{"g729 only", head + "m=audio 4000 RTP/AVP 18\r\n", "", 0, 0, 0, "", 0, "no common audio codec"},
		{"no audio", head + "m=video 4000 RTP/AVP 96\r\n", "", 0, 0, 0, "", 0, "no audio"},
		{"no c=", "v=0\r\nm=audio 4000 RTP/AVP 0\r\n", "", 0, 0, 0, "", 0, "no connection address"},
		{"bad port", head + "m=audio x RTP/AVP 0\r\n", "", 0, 0, 0, "", 0, "bad audio port"},
		{"bad address", "v=0\r\nc=IN IP4 host.example\r\nm=audio 4000 RTP/AVP 0\r\n", "", 0, 0, 0, "", 0, "bad connection address"},
		{"empty", "", "", 0, 0, 0, "", 0, "no audio"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseOffer([]byte(tc.body))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.addr.String() != tc.addr || o.codec != tc.codec || o.pt != tc.pt || o.eventPT != tc.event || o.direction != tc.dir || len(o.lines) != tc.lines {
				t.Fatalf("offer = %+v", o)
			}
		})
	}
}

func TestBuildSDPAnswerMirrorsLines(t *testing.T) {
	o, err := parseOffer([]byte("v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\nm=video 4002 RTP/AVP 96\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	ans := string(buildSDP(sdpParams{sessionID: 1, version: 1, addr: netip.MustParseAddrPort("127.0.0.1:20000"),
		formats: []format{{pt: o.pt, codec: o.codec}}, eventPT: o.eventPT, direction: "sendrecv", lines: o.lines, audioIdx: o.audioIndex}))
	for _, want := range []string{"m=audio 20000 RTP/AVP 0 101\r\n", "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "m=video 0 RTP/AVP 96\r\n", "c=IN IP4 127.0.0.1"} {
		if !strings.Contains(ans, want) {
			t.Errorf("answer lacks %q:\n%s", want, ans)
		}
	}
	if strings.Index(ans, "m=audio") > strings.Index(ans, "m=video") {
		t.Error("answer changed the order of media lines")
	}
	// Our answer parses back.
	back, err := parseOffer([]byte(ans))
	if err != nil || back.addr.Port() != 20000 || back.codec != 0 {
		t.Fatalf("answer does not parse back: %+v %v", back, err)
	}
}

// TestBuildSDPKeepsNoSpareCapacity: our SDP answer stays in memory for
// as long as the call (the 200 OK's body in the sipgo dialog), so it is
// returned in an array of its own size, not in the buffer it was built
// in, which grew by doubling (issue 17: ~250 bytes in 512 per call).
func TestBuildSDPKeepsNoSpareCapacity(t *testing.T) {
	o, err := parseOffer([]byte("v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []sdpParams{
		{sessionID: 1 << 61, version: 1, addr: netip.MustParseAddrPort("127.0.0.1:20000"),
			formats: []format{{pt: o.pt, codec: o.codec}}, eventPT: o.eventPT, direction: "sendonly", lines: o.lines, audioIdx: o.audioIndex},
		{sessionID: 7, version: 2, addr: netip.MustParseAddrPort("[::1]:20002"), formats: []format{{pt: ptPCMU, codec: ptPCMU}, {pt: ptPCMA, codec: ptPCMA}}},
	} {
		b := buildSDP(p)
		if cap(b) != len(b) {
			t.Errorf("buildSDP: %d bytes in an array of %d", len(b), cap(b))
		}
	}
}

func rtpPacket(pt uint8, seq uint16, ts, ssrc uint32, payload []byte) []byte {
	b := make([]byte, rtpHeaderLen+len(payload))
	writeRTPHeader(b, pt, false, seq, ts, ssrc)
	copy(b[rtpHeaderLen:], payload)
	return b
}

func TestForwardRewritesIntoPeerStream(t *testing.T) {
	src := &leg{codec: ptPCMU, sendPT: ptPCMU, recvPT: ptPCMU, sendEvent: 101, recvEvent: 101}
	dst := &leg{codec: ptPCMA, sendPT: ptPCMA, recvPT: ptPCMA, sendEvent: 96, recvEvent: 96, ssrc: 0xabcdef, seq: 1000, ts: 50000}
	payload := []byte{g711.EncodeUlawFrame(1000), g711.EncodeUlawFrame(-2000)}
	pkt := rtpPacket(ptPCMU, 7, 700, 42, payload)
	if !forward(src, dst, pkt) {
		t.Fatal("audio not forwarded")
	}
	if pt := pkt[1] & 0x7f; pt != ptPCMA {
		t.Fatalf("payload type %d, want PCMA", pt)
	}
	if pkt[1]&0x80 == 0 {
		t.Error("first relayed packet lacks the marker bit")
	}
	if seq := binary.BigEndian.Uint16(pkt[2:]); seq != 1000 {
		t.Errorf("seq %d, want 1000 (continuing our stream)", seq)
	}
	if ts := binary.BigEndian.Uint32(pkt[4:]); ts != 50000 {
		t.Errorf("ts %d, want 50000", ts)
	}
	if ssrc := binary.BigEndian.Uint32(pkt[8:]); ssrc != 0xabcdef {
		t.Errorf("ssrc %x, want ours", ssrc)
	}
	if got := g711.DecodeAlawFrame(pkt[rtpHeaderLen]); got < 900 || got > 1100 {
		t.Errorf("transcoded sample %d, want about 1000", got)
	}
	// A reordered older packet keeps its relative place.
	next := rtpPacket(ptPCMU, 9, 1020, 42, payload)
	forward(src, dst, next)
	old := rtpPacket(ptPCMU, 8, 860, 42, payload)
	forward(src, dst, old)
	if seq := binary.BigEndian.Uint16(old[2:]); seq != 1001 {
		t.Errorf("reordered seq %d, want 1001", seq)
	}
	if dst.seq != 1003 {
		t.Errorf("stream next seq %d, want 1003", dst.seq)
	}
	// DTMF maps to the peer's telephone-event type.
	ev := rtpPacket(101, 10, 1180, 42, []byte{1, 0x8a, 0, 160})
	if !forward(src, dst, ev) || ev[1]&0x7f != 96 {
		t.Errorf("telephone-event not mapped: pt %d", ev[1]&0x7f)
	}
	// Comfort noise and junk are dropped.
	if forward(src, dst, rtpPacket(13, 11, 1200, 42, []byte{1})) {
		t.Error("comfort noise forwarded")
	}
	if forward(src, dst, []byte{0x80, 0}) {
		t.Error("short packet forwarded")
	}
	// A new source SSRC (the caller's re-INVITE) continues our stream too.
	re := rtpPacket(ptPCMU, 30000, 9, 77, payload)
	forward(src, dst, re)
	if seq := binary.BigEndian.Uint16(re[2:]); seq != 1004 {
		t.Errorf("after SSRC change seq %d, want 1004", seq)
	}
	// A muted (holding) peer gets nothing.
	dst.mute = true
	if forward(src, dst, rtpPacket(ptPCMU, 12, 1220, 42, payload)) {
		t.Error("forwarded to a peer that holds")
	}
}

func TestMusicFramesWrapAround(t *testing.T) {
	pcm := make([]int16, 250) // 1.56 frames
	for i := range pcm {
		pcm[i] = int16(i * 10)
	}
	m, err := newMusic(pcm)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.pcmu) != 2 || len(m.pcmu[1]) != frameSamples {
		t.Fatalf("frames %d", len(m.pcmu))
	}
	// Sample 250 of the loop is sample 0 again.
	if m.pcmu[1][250-frameSamples] != g711.EncodeUlawFrame(0) {
		t.Error("loop does not wrap to the start")
	}
	if _, err := newMusic(make([]int16, 10)); err == nil {
		t.Error("music shorter than a frame accepted")
	}
}

func TestGuard(t *testing.T) {
	allow, err := ParseAllow("10.0.0.0/8, 192.168.1.7")
	if err != nil {
		t.Fatal(err)
	}
	g := newGuard(allow, "", "", "r")
	for src, want := range map[string]bool{"10.2.3.4:5060": true, "192.168.1.7:1": true, "192.168.1.8:1": false, "127.0.0.1:5060": false, "junk": false} {
		if got := g.allowed(src); got != want {
			t.Errorf("allowed(%s) = %v", src, got)
		}
	}
	for _, bad := range []string{"", "10.0.0.0/33", "nonsense"} {
		if _, err := ParseAllow(bad); err == nil {
			t.Errorf("ParseAllow(%q) accepted", bad)
		}
	}

	g = newGuard(DefaultAllow(), "park", "pw", "realm")
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "park", Host: "h"})
	req.SetSource("127.0.0.1:5000")
	code, hdr := g.check(req)
	if code != 401 || hdr == nil {
		t.Fatalf("no credentials: %d", code)
	}
	chal, err := digest.ParseChallenge(hdr.Value())
	if err != nil {
		t.Fatal(err)
	}
	sign := func(pw string) {
		cred, _ := digest.Digest(chal, digest.Options{Method: "INVITE", URI: "sip:park@h", Username: "park", Password: pw})
		req.RemoveHeader("Authorization")
		req.AppendHeader(sip.NewHeader("Authorization", cred.String()))
	}
	sign("pw")
	if code, _ := g.check(req); code != 0 {
		t.Fatalf("good credentials: %d", code)
	}
	sign("bad")
	if code, _ := g.check(req); code != 403 {
		t.Fatalf("bad password: %d", code)
	}
	// A stale nonce is challenged again, not refused.
	chal.Nonce = g.nonce(time.Now().Add(-time.Hour))
	sign("pw")
	if code, _ := g.check(req); code != 401 {
		t.Fatalf("stale nonce: %d", code)
	}
	// A forged nonce is refused.
	chal.Nonce = "1234.abcd"
	sign("pw")
	if code, _ := g.check(req); code != 401 {
		t.Fatalf("forged nonce: %d", code)
	}
}

func TestOptionsValidation(t *testing.T) {
	music := make([]int16, 1600)
	for _, tc := range []struct {
		o   Options
		err string
	}{
		{Options{Music: music, Orbits: telephony.Lot{First: 720, Last: 701}}, "reversed"},
		{Options{Music: music, Password: "x"}, "needs a username"},
		{Options{Music: music, Fallback: "not a uri"}, "fallback"},
		{Options{Music: music, OutboundProxy: "not a uri"}, "outbound proxy"},
		{Options{Music: music, OutboundProxy: "http://proxy"}, "outbound proxy"},
		{Options{}, "music"},
		{Options{Music: music, ParkTime: -time.Second}, "positive"},
	} {
		if _, err := New(tc.o); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%+v) = %v, want %q", tc.o.Orbits, err, tc.err)
		}
	}
}

func TestParkerOf(t *testing.T) {
	for _, tc := range []struct {
		uri  string
		hdrs map[string]string
		want string
	}{
		{"sip:park@h;parker=a%40b", nil, "sip:a@b"},
		{"sip:park@h;parker=sip%3Aa%40b%3A5060", nil, "sip:a@b:5060"},
		{"sip:park@h", map[string]string{"X-Park-Parker": "<sip:x@y>"}, "sip:x@y"},
		{"sip:park@h;parker=a%40b", map[string]string{"Referred-By": `"Desk" <sip:d@e>;cid=1`}, "sip:d@e"},
		{"sip:park@h", nil, ""},
		{"sip:park-705@h;token=t;parker-user=console;parker-host=10.0.0.5:5060", nil, "sip:console@10.0.0.5:5060"},
		{"sip:park@h;parker=mangled%3A1;parker-user=c;parker-host=h:1", nil, "sip:c@h:1"},
		{"sip:park@h;parker-user=c", nil, ""},
	} {
		var u sip.Uri
		if err := sip.ParseUri(tc.uri, &u); err != nil {
			t.Fatal(err)
		}
		req := sip.NewRequest(sip.INVITE, u)
		for k, v := range tc.hdrs {
			req.AppendHeader(sip.NewHeader(k, v))
		}
		if got := parkerOf(req); got != tc.want {
			t.Errorf("parkerOf(%s %v) = %q, want %q", tc.uri, tc.hdrs, got, tc.want)
		}
	}
}

func TestParseOfferPreferring(t *testing.T) {
	const head = "v=0\r\nc=IN IP4 127.0.0.1\r\n"
	// Port 8000 must not pass for an offer of PCMA.
	if _, err := parseOfferPreferring([]byte(head+"m=audio 8000 RTP/AVP 0\r\n"), ptPCMA); err == nil {
		t.Error("PCMA found in an offer of PCMU only")
	}
	o, err := parseOfferPreferring([]byte(head+"m=audio 4000 RTP/AVP 0 8\r\n"), ptPCMA)
	if err != nil || o.codec != ptPCMA {
		t.Errorf("preferring PCMA from 0 8: %+v %v", o, err)
	}
}

// A leg is recognised by its own numbers and written with its peer's:
// 97 = PCMA from one side, 0 = PCMU to the other, DTMF 101 to 100.
func TestForwardUsesLegNumbers(t *testing.T) {
	a := &leg{codec: ptPCMA, sendPT: 97, recvPT: 97, sendEvent: 101, recvEvent: 101, ssrc: 1}
	u := &leg{codec: ptPCMU, sendPT: ptPCMU, recvPT: ptPCMU, sendEvent: 100, recvEvent: 100, ssrc: 2}
	pkt := rtpPacket(97, 1, 160, 42, []byte{g711.EncodeAlawFrame(1000)})
	if !forward(a, u, pkt) || pkt[1]&0x7f != ptPCMU {
		t.Fatalf("97 (PCMA) not relayed as 0: pt %d", pkt[1]&0x7f)
	}
	if got := g711.DecodeUlawFrame(pkt[rtpHeaderLen]); got < 900 || got > 1100 {
		t.Errorf("A-law 97 transcoded to %d, want about 1000", got)
	}
	back := rtpPacket(ptPCMU, 1, 160, 43, []byte{g711.EncodeUlawFrame(-1000)})
	if !forward(u, a, back) || back[1]&0x7f != 97 {
		t.Fatalf("0 (PCMU) not relayed as 97: pt %d", back[1]&0x7f)
	}
	if got := g711.DecodeAlawFrame(back[rtpHeaderLen]); got > -900 || got < -1100 {
		t.Errorf("μ-law 0 transcoded to %d, want about -1000", got)
	}
	// The static number of the same law was not negotiated: dropped.
	if forward(a, u, rtpPacket(ptPCMA, 2, 320, 42, []byte{1})) {
		t.Error("PT 8 relayed from a leg that offered PCMA as 97")
	}
	ev := rtpPacket(101, 3, 480, 42, []byte{5, 0x8a, 0, 160})
	if !forward(a, u, ev) || ev[1]&0x7f != 100 {
		t.Errorf("telephone-event 101 relayed as %d, want 100", ev[1]&0x7f)
	}
	if forward(a, u, rtpPacket(100, 4, 480, 42, []byte{5, 0x8a, 0, 160})) {
		t.Error("the receiving leg's event number relayed from the sender")
	}
	// No telephone-event negotiated with the receiver: DTMF is dropped.
	u.sendEvent = 0
	if forward(a, u, rtpPacket(101, 5, 480, 42, []byte{5, 0x8a, 0, 160})) {
		t.Error("DTMF relayed to a leg without telephone-event")
	}
}

// The answer repeats the offer's numbers (RFC 3264).
func TestAnswerNamesOfferedNumbers(t *testing.T) {
	s := &Service{media: &engine{local: netip.MustParseAddrPort("127.0.0.1:20000")}}
	l := &sipLeg{sess: 1, ver: 1}
	for _, tc := range []struct {
		offer string
		want  []string
	}{
		{"m=audio 4000 RTP/AVP 97 101\r\na=rtpmap:97 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
			[]string{"m=audio 20000 RTP/AVP 97 101\r\n", "a=rtpmap:97 PCMA/8000\r\n", "a=rtpmap:101 telephone-event/8000\r\n"}},
		{"m=audio 4000 RTP/AVP 96 120\r\na=rtpmap:96 PCMU/8000\r\na=rtpmap:120 telephone-event/8000\r\n",
			[]string{"m=audio 20000 RTP/AVP 96 120\r\n", "a=rtpmap:96 PCMU/8000\r\n", "a=rtpmap:120 telephone-event/8000\r\n"}},
		{"m=audio 4000 RTP/AVP 8 0\r\n", []string{"m=audio 20000 RTP/AVP 8\r\n", "a=rtpmap:8 PCMA/8000\r\n"}},
	} {
		o, err := parseOffer([]byte("v=0\r\nc=IN IP4 127.0.0.1\r\n" + tc.offer))
		if err != nil {
			t.Fatal(err)
		}
		ans := string(s.answerSDP(l, o))
		for _, w := range tc.want {
			if !strings.Contains(ans, w) {
				t.Errorf("answer to %q lacks %q:\n%s", tc.offer, w, ans)
			}
		}
		if n := strings.Count(ans, "a=rtpmap:"); n != len(tc.want)-1 {
			t.Errorf("answer to %q has %d rtpmap lines, want %d:\n%s", tc.offer, n, len(tc.want)-1, ans)
		}
		nl := newLeg(o)
		if nl.sendPT != o.pt || nl.recvPT != o.pt || nl.sendEvent != o.eventPT || nl.recvEvent != o.eventPT {
			t.Errorf("leg for %q: %+v", tc.offer, nl)
		}
	}
}

// A ring-back answer's numbers are what we send; ours (static, and 101
// for telephone-event) are what we receive.
func TestAnsweredLegKeepsBothNumbers(t *testing.T) {
	a, err := parseOffer([]byte("v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 97 102\r\na=rtpmap:97 PCMA/8000\r\na=rtpmap:102 telephone-event/8000\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := answered(a)
	if l.codec != ptPCMA || l.sendPT != 97 || l.recvPT != ptPCMA || l.sendEvent != 102 || l.recvEvent != ringEventPT {
		t.Errorf("answered leg %+v", l)
	}
	a, err = parseOffer([]byte("v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l := answered(a); l.sendPT != 0 || l.recvPT != 0 || l.sendEvent != 0 || l.recvEvent != 0 {
		t.Errorf("answered leg without telephone-event %+v", l)
	}
}

// startEngine runs a media engine on loopback until the test ends, and
// checks that its goroutines end with it.
func startEngine(t *testing.T) *engine {
	t.Helper()
	m, err := newMusic(assets.MusicOnHold())
	if err != nil {
		t.Fatal(err)
	}
	e, err := listenEngine(netip.MustParseAddr("127.0.0.1"), 0, m, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		e.run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("media engine did not stop")
		}
	})
	return e
}

// waitClock waits until the engine's clock state satisfies ok.
func waitClock(t *testing.T, e *engine, what string, ok func(clockState) bool) clockState {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		st, changed := e.clockNow()
		if ok(st) {
			return st
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("clock never %s: %+v", what, st)
		}
	}
}

// rtpPeer is a UDP socket standing for a peer's RTP port.
func rtpPeer(t *testing.T) (*net.UDPConn, netip.AddrPort) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, c.LocalAddr().(*net.UDPAddr).AddrPort()
}

func readRTP(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no RTP: %v", err)
	}
	return buf[:n]
}

// expectMusicStart reads c's first packets: the loop from its start,
// in the leg's law and under its number, the first with the marker.
func expectMusicStart(t *testing.T, e *engine, c *net.UDPConn, pt, codec uint8) {
	t.Helper()
	for i := range 3 {
		p := readRTP(t, c)
		if p[1]&0x7f != pt {
			t.Fatalf("music packet %d has PT %d, want %d", i, p[1]&0x7f, pt)
		}
		if (p[1]&0x80 != 0) != (i == 0) {
			t.Errorf("music packet %d marker %v", i, p[1]&0x80 != 0)
		}
		if string(p[rtpHeaderLen:]) != string(e.music.frame(codec, i)) {
			t.Fatalf("music packet %d is not frame %d of the loop in %s", i, i, codecName(codec))
		}
	}
}

// The music clock ticks only while a leg needs music: not at start, not
// when the last parked leg leaves or is bridged, not for a leg whose peer
// holds; it starts again with the next, whose first frame is not lost.
func TestClockRunsOnlyWhileMusicIsNeeded(t *testing.T) {
	e := startEngine(t)
	if st, _ := e.clockNow(); st.running || st.starts != 0 {
		t.Fatalf("clock runs with nobody parked: %+v", st)
	}
	stopped := func(n uint64) func(clockState) bool {
		return func(st clockState) bool { return !st.running && st.stops == n }
	}

	c1, a1 := rtpPeer(t)
	l1 := newLeg(offer{addr: a1, codec: ptPCMA, pt: 97})
	e.add(l1)
	e.playMusic(l1)
	if st, _ := e.clockNow(); !st.running || st.starts != 1 {
		t.Fatalf("first park did not start the clock: %+v", st)
	}
	expectMusicStart(t, e, c1, 97, ptPCMA)

	c2, a2 := rtpPeer(t)
	l2 := newLeg(offer{addr: a2, codec: ptPCMU, pt: 96})
	e.add(l2)
	e.playMusic(l2)
	expectMusicStart(t, e, c2, 96, ptPCMU)
	e.remove(l1)
	readRTP(t, c2) // still ticking for the other
	if st, _ := e.clockNow(); !st.running || st.starts != 1 || st.stops != 0 {
		t.Fatalf("clock stopped with a call still parked: %+v", st)
	}
	e.remove(l2)
	waitClock(t, e, "stopped when the last parked call left", stopped(1))

	// The next park starts it again, from the loop's start.
	c3, a3 := rtpPeer(t)
	l3 := newLeg(offer{addr: a3, codec: ptPCMU, pt: ptPCMU})
	e.add(l3)
	e.playMusic(l3)
	if st, _ := e.clockNow(); !st.running || st.starts != 2 {
		t.Fatalf("second park did not restart the clock: %+v", st)
	}
	expectMusicStart(t, e, c3, ptPCMU, ptPCMU)

	// Bridged, nobody needs music.
	_, a4 := rtpPeer(t)
	l4 := newLeg(offer{addr: a4, codec: ptPCMU, pt: ptPCMU})
	e.add(l4)
	e.bridge(l3, l4)
	waitClock(t, e, "stopped when the parked call was bridged", stopped(2))

	// A parked leg whose peer holds needs no music; when it resumes
	// (re-INVITE), the clock starts again.
	e.remove(l4)
	e.update(l3, offer{addr: a3, codec: ptPCMU, pt: ptPCMU, direction: "sendonly"})
	e.playMusic(l3)
	if st, _ := e.clockNow(); st.running || st.starts != 2 {
		t.Fatalf("clock started for a leg whose peer holds: %+v", st)
	}
	e.update(l3, offer{addr: a3, codec: ptPCMU, pt: ptPCMU, direction: "sendrecv"})
	if st, _ := e.clockNow(); !st.running || st.starts != 3 {
		t.Fatalf("resumed leg did not start the clock: %+v", st)
	}
	e.remove(l3)
	waitClock(t, e, "stopped at the end", stopped(3))
}

// TestPickedRTPPortBelowEphemeralRange: a service given no media port
// picks an even one whose RTCP twin is below the kernel's ephemeral
// range, so that no port-0 socket takes it while the service is stopped
// and its restart binds it again.
func TestPickedRTPPortBelowEphemeralRange(t *testing.T) {
	m, err := newMusic(assets.MusicOnHold())
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		e, err := listenEngine(netip.MustParseAddr("127.0.0.1"), 0, m, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		p := int(e.local.Port())
		e.conn.Close()
		e.rtcp.Close()
		if p%2 != 0 || p < rtpLow || p+1 > 32767 {
			t.Fatalf("picked media port %d: want even, %d to 32766", p, rtpLow)
		}
	}
}
