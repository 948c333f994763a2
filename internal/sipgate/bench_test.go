package sipgate

import (
	"net"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// BenchmarkReadFilterGoodInvite is what the read filter costs a
// well-formed INVITE with an offer on UDP (it parses the datagram once
// more than sipgo does); BenchmarkParse is sipgo's own parse of it.
func BenchmarkReadFilterGoodInvite(b *testing.B) {
	g := New(nil, "127.0.0.1:5070")
	data := request("INVITE sip:park-701@127.0.0.1 SIP/2.0", "Content-Type: application/sdp",
		"\r\nv=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\n")
	props := sip.TransportReadProps{Transport: "UDP", LocalAddr: &net.UDPAddr{}, RemoteAddr: &net.UDPAddr{}}
	b.ReportAllocs()
	for b.Loop() {
		if out, _ := g.ReadFilter(props, data); len(out) != len(data) {
			b.Fatal("refused")
		}
	}
}

func BenchmarkParse(b *testing.B) {
	data := request("INVITE sip:park-701@127.0.0.1 SIP/2.0", "Content-Type: application/sdp",
		"\r\nv=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sip.ParseMessage(data); err != nil {
			b.Fatal(err)
		}
	}
}
