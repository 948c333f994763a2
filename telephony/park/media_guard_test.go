package park_test

import (
	"context"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/tone"
)

// badMedia are SDPs the service must not send media to (PARK-PROTOCOL.md:
// 488 with X-Park-Reason unacceptable-media), with a word the Warning
// must carry to name the fault. The service under test listens on
// 127.0.0.1 (IPv4 only).
var badMedia = []struct{ name, body, warn string }{
	{"multicast", mediaSDP("c=IN IP4 239.1.2.3/127", "m=audio 4000 RTP/AVP 0"), "multicast"},
	{"multicast IPv6", mediaSDP("c=IN IP6 ff02::1", "m=audio 4000 RTP/AVP 0"), "multicast"},
	{"limited broadcast", mediaSDP("c=IN IP4 255.255.255.255", "m=audio 4000 RTP/AVP 0"), "broadcast"},
	// lo is 127.0.0.1/8 on every Linux: its broadcast is a broadcast the
	// service can tell.
	{"subnet broadcast", mediaSDP("c=IN IP4 127.255.255.255", "m=audio 4000 RTP/AVP 0"), "broadcast"},
	{"unspecified", mediaSDP("c=IN IP4 0.0.0.0", "m=audio 4000 RTP/AVP 0"), "unspecified"},
	{"unspecified IPv6", mediaSDP("c=IN IP6 ::", "m=audio 4000 RTP/AVP 0"), "unspecified"},
	{"port 0", mediaSDP("c=IN IP4 127.0.0.1", "m=audio 0 RTP/AVP 0"), "port 0"},
	{"IPv6 to an IPv4 service", mediaSDP("c=IN IP6 ::1", "m=audio 4000 RTP/AVP 0"), "IPv6"},
	{"media-level c= overrides", mediaSDP("c=IN IP4 127.0.0.1", "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 224.0.0.1"), "multicast"},
	{"no c=", mediaSDP("", "m=audio 4000 RTP/AVP 0"), "connection"},
	{"garbled c=", mediaSDP("c=IN IP4", "m=audio 4000 RTP/AVP 0"), "connection"},
	{"c= family mismatch", mediaSDP("c=IN IP4 ::1", "m=audio 4000 RTP/AVP 0"), "connection"},
	{"c= not IN", mediaSDP("c=ATM NSAP 47.0005.80.ffe100", "m=audio 4000 RTP/AVP 0"), "connection"},
	{"c= host name", mediaSDP("c=IN IP4 media.example", "m=audio 4000 RTP/AVP 0"), "connection"},
}

// mediaSDP is an SDP with session-level line c (none when empty) and the
// audio line m, offering PCMU.
func mediaSDP(c, m string) string {
	if c != "" {
		c += "\r\n"
	}
	return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n" + c + "t=0 0\r\n" + m + "\r\na=rtpmap:0 PCMU/8000\r\n"
}

// wantUnacceptable checks that res is a 488 carrying X-Park-Reason
// unacceptable-media and a Warning that contains warn.
func wantUnacceptable(t *testing.T, what, res, warn string) {
	t.Helper()
	if !strings.HasPrefix(res, "SIP/2.0 488") {
		t.Fatalf("%s answered %q, want 488", what, firstLine(res))
	}
	if got := rawHeader(res, "X-Park-Reason"); got != "unacceptable-media" {
		t.Errorf("%s: X-Park-Reason %q, want unacceptable-media\n%s", what, got, res)
	}
	if got := rawHeader(res, "Warning"); !strings.Contains(got, warn) {
		t.Errorf("%s: Warning %q does not name the fault (%q)", what, got, warn)
	}
}

// rawHeader is the value of the first header name of a raw SIP message.
func rawHeader(msg, name string) string {
	head, _, _ := strings.Cut(msg, "\r\n\r\n")
	for line := range strings.SplitSeq(head, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// A park INVITE whose media the service would aim at a third party (a
// group, a broadcast, nowhere, a family it cannot reach) or that it
// cannot read is refused 488 with its reason, and nothing is parked.
func TestParkRefusesUnacceptableMedia(t *testing.T) {
	f := startPark(t, nil)
	for _, tc := range badMedia {
		t.Run(tc.name, func(t *testing.T) {
			res := rawRequest(t, f, "INVITE sip:park@"+f.h+" SIP/2.0\r\nContact: <sip:x@127.0.0.1:9>\r\nContent-Type: application/sdp\r\n", tc.body)
			wantUnacceptable(t, "park INVITE with "+tc.name, res, tc.warn)
		})
	}
	if n := f.svc.Parked(); n != 0 {
		t.Fatalf("%d calls parked with unacceptable media", n)
	}
	if st := f.svc.MediaStats(); st.MusicPackets != 0 {
		t.Fatalf("%d music packets sent with nobody parked", st.MusicPackets)
	}
}

// A retrieve with unacceptable media is refused the same way, and the
// parked caller stays on its orbit with its music.
func TestRetrieveRefusesUnacceptableMedia(t *testing.T) {
	f := startPark(t, nil)
	p := newHoldPeer(t, "ursula")
	p.park(t, f.uri("park-703"), "sendrecv")
	f.log.wait(t, "parked", "orbit", "703")
	for _, tc := range badMedia {
		t.Run(tc.name, func(t *testing.T) {
			res := rawRequest(t, f, "INVITE sip:703@"+f.h+" SIP/2.0\r\nContact: <sip:x@127.0.0.1:9>\r\nContent-Type: application/sdp\r\n", tc.body)
			wantUnacceptable(t, "retrieve with "+tc.name, res, tc.warn)
		})
	}
	if st, _ := f.svc.Orbit(703); !st.Occupied {
		t.Fatal("orbit 703 left by refused retrieves")
	}
	if rms := tone.RMS(p.heard.WaitAudio(t, p.heard.Len(), window)); rms < 0.01 {
		t.Fatalf("parked caller hears silence (rms %.4f) after refused retrieves, want music", rms)
	}
}

// A re-INVITE with unacceptable media gets 488 with its reason, and the
// call keeps its media: the parked caller still hears its music where
// it heard it.
func TestReinviteRefusesUnacceptableMedia(t *testing.T) {
	f := startPark(t, nil)
	p := newHoldPeer(t, "vera")
	p.park(t, f.uri("park-704"), "sendrecv")
	f.log.wait(t, "parked", "orbit", "704")
	for _, tc := range badMedia {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), siptest.WaitFor)
			defer cancel()
			req := sip.NewRequest(sip.INVITE, p.d.InviteResponse.Contact().Address)
			req.SetBody([]byte(tc.body))
			req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			res, err := p.d.Do(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if res.IsSuccess() {
				_ = p.d.WriteRequest(sip.NewRequest(sip.ACK, p.d.InviteResponse.Contact().Address))
			}
			wantUnacceptable(t, "re-INVITE with "+tc.name, res.String(), tc.warn)
		})
	}
	if rms := tone.RMS(p.heard.WaitAudio(t, p.heard.Len(), window)); rms < 0.01 {
		t.Fatalf("parked caller hears silence (rms %.4f) after refused re-INVITEs, want its music", rms)
	}
	if st, _ := f.svc.Orbit(704); !st.Occupied {
		t.Fatal("orbit 704 left by refused re-INVITEs")
	}
}
