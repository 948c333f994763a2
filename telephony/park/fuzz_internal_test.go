package park

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony"
)

// FuzzParseOffer checks that no SDP makes parseOffer (or its codec
// preference) panic, and that an offer it accepts is one the service can
// use: a unicast address and a port to send to, a G.711 law it speaks
// under a payload type number RTP can carry, a known direction, and the
// audio line among the lines the answer mirrors.
func FuzzParseOffer(f *testing.F) {
	for _, s := range []string{
		"v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
		"v=0\nc=IN IP4 10.0.0.1\nm=video 5000 RTP/AVP 96\nm=audio 4000 RTP/AVP 96 8\na=rtpmap:96 PCMU/8000\na=sendonly\n",
		"v=0\r\nc=IN IP6 ::1\r\nm=audio 4000 RTP/AVP 0\r\n",
		"v=0\r\nc=IN IP4 224.0.0.1/127\r\nm=audio 4000 RTP/AVP 0\r\n",
		"v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\n",
		"v=0\r\nc=IN IP4 255.255.255.255\r\nm=audio 4000 RTP/AVP 0\r\n",
		"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 0 RTP/AVP 0\r\nm=audio 4002 RTP/AVP 8\r\n",
		"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 70000 RTP/AVP 0\r\n",
		"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000/2 RTP/AVP 0\r\n",
		"v=0\r\nc=IN IP4 ::ffff:127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n",
		"v=0\r\nc=IN IP6 fe80::1%eth0\r\nm=audio 4000 RTP/AVP 0\r\n",
		"m=audio 4000 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\n",
		"c=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 18\r\n",
		"c=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 128 -1 0\r\n",
		"c=\r\nm=\r\na=\r\n",
		"\x00\xff=\r\n==\r\n",
		"c=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n" + strings.Repeat("m=video 9 RTP/AVP 96\r\n", 300),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := parseOffer(body)
		if err != nil {
			return
		}
		checkOffer(t, o)
		for _, codec := range []uint8{ptPCMU, ptPCMA} {
			p, err := parseOfferPreferring(body, codec)
			offered := false
			for _, f := range o.g711 {
				offered = offered || f.codec == codec
			}
			switch {
			case err != nil && offered:
				t.Fatalf("law %d is offered, but parseOfferPreferring refuses it: %v", codec, err)
			case err == nil && p.codec != codec:
				t.Fatalf("parseOfferPreferring(%d) chose %d", codec, p.codec)
			case err == nil:
				checkOffer(t, p)
			}
		}
	})
}

func checkOffer(t *testing.T, o offer) {
	t.Helper()
	a := o.addr.Addr()
	if !o.addr.IsValid() || o.addr.Port() == 0 || a.IsMulticast() || a.IsUnspecified() ||
		a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || a.Zone() != "" {
		t.Fatalf("accepted media address %v", o.addr)
	}
	if o.codec != ptPCMU && o.codec != ptPCMA {
		t.Fatalf("accepted codec %d", o.codec)
	}
	if o.pt > 127 || o.eventPT > 127 {
		t.Fatalf("payload types %d, %d", o.pt, o.eventPT)
	}
	found := false
	for _, f := range o.g711 {
		found = found || f == format{pt: o.pt, codec: o.codec}
	}
	if !found {
		t.Fatalf("chosen %d/%d is not among the offered %v", o.pt, o.codec, o.g711)
	}
	switch o.direction {
	case "sendrecv", "sendonly", "recvonly", "inactive":
	default:
		t.Fatalf("direction %q", o.direction)
	}
	if o.audioIndex < 0 || o.audioIndex >= len(o.lines) || o.lines[o.audioIndex].kind != "audio" {
		t.Fatalf("audio line %d of %v", o.audioIndex, o.lines)
	}
}

// FuzzParseTarget checks the Request-URI's user part: no panic; what it
// accepts is "park", "park-N" or "N" written canonically (no sign, no
// leading zero, no space), N in the lot; the token is the URI's.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"park", "park-705", "705", "park-0", "park-0705", "park-+705", "+705", "0705",
		"park--1", "park-", "-705", "park-99999999999999999999", "99999999999999999999", "park-721", "701 ",
		"park-7O5", "PARK", "park-705x", "", "٧٠٥", "park-\u0667\u0660\u0665"} {
		f.Add(s, "token=t")
	}
	s := &Service{opts: Options{Orbits: telephony.DefaultLot}}
	f.Fuzz(func(t *testing.T, user, params string) {
		u := sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", UriParams: sip.NewParams()}
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(p, "=")
			if k != "" {
				u.UriParams.Add(k, v)
			}
		}
		tg, err := s.parseTarget(u)
		if err != nil {
			return
		}
		switch {
		case user == "park":
			if !tg.park || tg.orbit != 0 {
				t.Fatalf("%q: %+v", user, tg)
			}
		case tg.park:
			if user != "park-"+strconv.Itoa(tg.orbit) || !telephony.DefaultLot.Contains(tg.orbit) {
				t.Fatalf("%q accepted as a park on %d", user, tg.orbit)
			}
		default:
			if user != strconv.Itoa(tg.orbit) || !telephony.DefaultLot.Contains(tg.orbit) {
				t.Fatalf("%q accepted as a retrieve of %d", user, tg.orbit)
			}
		}
		if want, _ := u.UriParams.Get("token"); tg.token != want {
			t.Fatalf("token %q, want %q", tg.token, want)
		}
	})
}
