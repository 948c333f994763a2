package sip_test

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
)

// rawTo sends msg to addr over network ("udp" or "tcp") from a socket of
// its own and returns the status line of the first final response, or
// "" when none came within a few seconds. {local} in msg is replaced by
// the socket's address, {branch} by a new branch.
func rawTo(t testing.TB, network string, addr string, msg string) string {
	t.Helper()
	conn, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg = strings.ReplaceAll(msg, "{local}", conn.LocalAddr().String())
	msg = strings.ReplaceAll(msg, "{branch}", fmt.Sprintf("z9hG4bK%x", rand.Uint64()))
	if network == "tcp" {
		msg = strings.Replace(msg, "SIP/2.0/UDP", "SIP/2.0/TCP", 1)
	}
	if _, err := io.WriteString(conn, msg); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if network == "tcp" {
		r := textproto.NewReader(bufio.NewReader(conn))
		for {
			line, err := r.ReadLine()
			if err != nil {
				return ""
			}
			hdr, err := r.ReadMIMEHeader()
			if err != nil {
				return ""
			}
			if n := hdr.Get("Content-Length"); n != "" && n != "0" {
				var size int
				fmt.Sscan(n, &size)
				_, _ = io.CopyN(io.Discard, r.R, int64(size))
			}
			if !strings.HasPrefix(line, "SIP/2.0 1") {
				return line
			}
		}
	}
	buf := make([]byte, 65536)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return ""
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		if !strings.HasPrefix(line, "SIP/2.0 1") {
			return line
		}
	}
}

// without is a request of method to uri with every mandatory header but
// the one named missing.
func without(method, uri, missing string) string {
	hdrs := []struct{ name, value string }{
		{"Via", "SIP/2.0/UDP {local};branch={branch};rport"},
		{"From", "<sip:mallory@{local}>;tag=m1"},
		{"To", "<" + uri + ">"},
		{"Call-ID", fmt.Sprintf("%x@mallory", rand.Uint64())},
		{"CSeq", "1 " + method},
		{"Max-Forwards", "70"},
		{"Contact", "<sip:mallory@{local}>"},
		{"Event", "dialog"},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, uri)
	for _, h := range hdrs {
		if h.name != missing {
			fmt.Fprintf(&b, "%s: %s\r\n", h.name, h.value)
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

// TestConsoleSurvivesMissingHeaders: requests without To or From (one
// packet from anyone) used to crash the console with all its calls,
// in its own middleware or inside diago. Each is now answered 400 over
// UDP and TCP, and the console keeps its call and its audio.
func TestConsoleSurvivesMissingHeaders(t *testing.T) {
	a := newConsole(t, "desk", 1000, nil)
	alice := newPeer(t, "alice", nil)
	d := alice.dial(t, a.uri(), false)
	r := a.waitRinging(t)
	if err := a.Answer(ctxT(t), r.ID); err != nil {
		t.Fatal(err)
	}
	m := siptest.StartMedia(t, siptest.Recv(t, "alice answered", d), 440)

	u := a.uri()
	uri := u.String()
	cases := []struct{ method, missing string }{
		{"INVITE", "To"}, {"INVITE", "From"}, {"INVITE", "Call-ID"}, {"INVITE", "CSeq"}, {"INVITE", "Via"},
		{"NOTIFY", "To"}, {"NOTIFY", "From"}, {"BYE", "To"}, {"INFO", "To"}, {"REFER", "To"},
		{"OPTIONS", "To"}, {"SUBSCRIBE", "From"}, {"MESSAGE", "To"},
	}
	for _, network := range []string{"udp", "tcp"} {
		addr := fmt.Sprintf("127.0.0.1:%d", a.Addr(network).Port())
		for _, c := range cases {
			got := rawTo(t, network, addr, without(c.method, uri, c.missing))
			if c.missing == "Via" {
				// Without Via there is nowhere to answer: dropped,
				// but the console lives on (checked below).
				continue
			}
			if !strings.HasPrefix(got, "SIP/2.0 400 ") {
				t.Errorf("%s %s without %s: answered %q, want 400", network, c.method, c.missing, got)
			}
		}
		if got := rawTo(t, network, addr, without("OPTIONS", uri, "")); !strings.HasPrefix(got, "SIP/2.0 200 ") {
			t.Fatalf("%s OPTIONS after the malformed requests: %q, want 200", network, got)
		}
	}
	if c, ok := a.Call(r.ID); !ok || c.State != telephony.StateActive {
		t.Fatalf("alice's call = %+v, %v after the malformed requests, want active", c, ok)
	}
	mark := m.Len()
	m.WaitAudio(t, mark, 8000)
	m.WaitTone(t, "alice still hears the console", 1000)
	a.hears(t, 440)
}
