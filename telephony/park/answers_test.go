package park_test

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
)

// A caller's BYE retransmitted over UDP (our 200 lost) gets the same 200
// again, not a 481 for the call it just ended, and ends nothing twice:
// what RFC 3261 §17.2.2's Completed state does until Timer J, which the
// service does from the answers it keeps once the transaction has ended.
func TestRetransmittedByeAnsweredTheSame(t *testing.T) {
	f := startPark(t, nil)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rtp.Close()
	local := conn.LocalAddr().String()
	id := rand.Uint64()
	dialog := func(cseq int, method, to string) string {
		return fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK%x%d\r\n", local, id, cseq) +
			fmt.Sprintf("From: <sip:raw@%s>;tag=%x\r\nTo: %s\r\nCall-ID: %x@raw\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\n", local, id, to, id, cseq, method)
	}
	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
		rtp.LocalAddr().(*net.UDPAddr).Port)
	invite := "INVITE sip:park-705@" + f.h + " SIP/2.0\r\n" + dialog(1, "INVITE", "<sip:park-705@"+f.h+">") +
		fmt.Sprintf("Contact: <sip:raw@%s>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", local, len(sdp), sdp)
	ok := udpExchange(t, f, conn, invite)
	if firstLine(ok) != "SIP/2.0 200 OK" {
		t.Fatalf("park answered %q", firstLine(ok))
	}
	to := rawHeader(ok, "To")
	ack := "ACK sip:park-705@" + f.h + " SIP/2.0\r\n" + strings.Replace(dialog(1, "ACK", to), fmt.Sprintf("%x1\r\n", id), fmt.Sprintf("%xa\r\n", id), 1) + "Content-Length: 0\r\n\r\n"
	if _, err := conn.WriteTo([]byte(ack), net.UDPAddrFromAddrPort(f.svc.Addr())); err != nil {
		t.Fatal(err)
	}
	f.log.wait(t, "parked", "orbit", "705")

	bye := "BYE sip:park-705@" + f.h + " SIP/2.0\r\n" + dialog(2, "BYE", to) + "Content-Length: 0\r\n\r\n"
	first := udpExchange(t, f, conn, bye)
	f.log.wait(t, "gave up", "orbit", "705")
	for i := 2; i <= 3; i++ {
		again := udpExchange(t, f, conn, bye)
		if firstLine(again) != firstLine(first) || firstLine(first) != "SIP/2.0 200 OK" {
			t.Errorf("BYE %d answered %q, the first %q", i, firstLine(again), firstLine(first))
		}
		for _, h := range []string{"Via", "From", "To", "Call-ID", "CSeq"} {
			if a, b := rawHeader(again, h), rawHeader(first, h); a != b {
				t.Errorf("BYE %d's answer has %s %q, the first's %q", i, h, a, b)
			}
		}
	}
	// What was logged by the time the copies were answered: one end.
	if n := f.log.count("gave up"); n != 1 {
		t.Errorf("%d 'gave up' events for one caller", n)
	}
}
