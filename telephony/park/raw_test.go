package park_test

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
)

// rawRequest sends one hand-written SIP request over UDP and returns the
// first final response. head is the request line and any extra headers;
// Via, From, To, Call-ID, CSeq and Content-Length are added.
func rawRequest(t testing.TB, f *fixture, head string, body ...string) string {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	method := strings.Fields(head)[0]
	b := strings.Join(body, "")
	id := rand.Uint64()
	msg := head +
		fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK%x\r\n", local, id) +
		fmt.Sprintf("From: <sip:raw@%s>;tag=%x\r\nTo: <sip:park@%s>\r\nCall-ID: %x@raw\r\nCSeq: 1 %s\r\nMax-Forwards: 70\r\n", local, id, f.h, id, method) +
		fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(b), b)
	return udpExchange(t, f, conn, msg)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}
