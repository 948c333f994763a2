package park_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/tone"
)

// gatePeer is a raw SIP sender on one loopback socket (UDP or one TCP
// connection kept for every request), for requests no SIP stack would
// send.
type gatePeer struct {
	t     testing.TB
	conn  net.Conn
	rd    *bufio.Reader
	tr    string // UDP or TCP
	local string
	n     int
}

func newGatePeer(t testing.TB, f *fixture, network string) *gatePeer {
	t.Helper()
	c, err := net.Dial(network, f.svc.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &gatePeer{t: t, conn: c, rd: bufio.NewReader(c), tr: strings.ToUpper(network), local: c.LocalAddr().String()}
}

// request is a well-formed request line and header section for method
// to uri (Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length of
// body), then edits: "-Name" drops that header, "Name: value" replaces
// it, "SIP/x.y" replaces the version, "Content-Length: n" lies about the
// body.
func (p *gatePeer) request(method, uri, body string, edits ...string) []byte {
	p.n++
	id := fmt.Sprintf("gate%d-%s", p.n, p.local)
	version := "SIP/2.0"
	hdrs := []string{
		fmt.Sprintf("Via: SIP/2.0/%s %s;branch=z9hG4bK%x%d", p.tr, p.local, time.Now().UnixNano(), p.n),
		"From: <sip:raw@" + p.local + ">;tag=" + strconv.Itoa(p.n),
		"To: <" + uri + ">",
		"Call-ID: " + id,
		"CSeq: 1 " + method,
		"Max-Forwards: 70",
		"Content-Length: " + strconv.Itoa(len(body)),
	}
	for _, e := range edits {
		if v, ok := strings.CutPrefix(e, "SIP/"); ok {
			version = "SIP/" + v
			continue
		}
		drop, _ := strings.CutPrefix(e, "-")
		name, _, _ := strings.Cut(drop, ":")
		kept := hdrs[:0:0]
		for _, h := range hdrs {
			if n, _, _ := strings.Cut(h, ":"); !strings.EqualFold(n, name) {
				kept = append(kept, h)
			}
		}
		hdrs = kept
		if !strings.HasPrefix(e, "-") {
			hdrs = append(hdrs, e)
		}
	}
	return []byte(method + " " + uri + " " + version + "\r\n" + strings.Join(hdrs, "\r\n") + "\r\n\r\n" + body)
}

func (p *gatePeer) send(b []byte) {
	p.t.Helper()
	if _, err := p.conn.Write(b); err != nil {
		p.t.Fatalf("send: %v", err)
	}
}

// answer returns the next final response on the socket, skipping
// provisional ones; the test fails when none comes within WaitFor.
func (p *gatePeer) answer(what string) *sip.Response {
	p.t.Helper()
	for {
		_ = p.conn.SetReadDeadline(time.Now().Add(siptest.WaitFor))
		raw, err := p.read()
		if err != nil {
			p.t.Fatalf("no answer to %s over %s: %v", what, p.tr, err)
		}
		m, err := sip.ParseMessage(raw)
		if err != nil {
			p.t.Fatalf("answer to %s does not parse: %v\n%s", what, err, raw)
		}
		if res, ok := m.(*sip.Response); ok && res.StatusCode >= 200 {
			return res
		}
	}
}

func (p *gatePeer) read() ([]byte, error) {
	if p.tr == "UDP" {
		buf := make([]byte, 65535)
		n, err := p.conn.Read(buf)
		return buf[:n], err
	}
	var head strings.Builder
	length := 0
	for {
		line, err := p.rd.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if line == "\r\n" && head.Len() == 0 {
			continue // keep-alive
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
		if name, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(p.rd, body); err != nil {
		return nil, err
	}
	return append([]byte(head.String()), body...), nil
}

// options checks that the service still answers: OPTIONS gets 200.
func (p *gatePeer) options(f *fixture, after string) {
	p.t.Helper()
	p.send(p.request("OPTIONS", "sip:park@"+f.h, ""))
	if res := p.answer("OPTIONS after " + after); res.StatusCode != sip.StatusOK {
		p.t.Fatalf("OPTIONS after %s over %s answered:\n%s", after, p.tr, res)
	}
}

// gateCrasher is a request of issue 10 that crashed parkd or got no
// answer (see gatePeer.request for edits), with the answer it must now
// get.
type gateCrasher struct {
	name, method, uri string
	body              string
	edits             []string
	status            int
	warning           string
	udpOnly           bool
}

// gateCrashers are the requests of issue 10 that crashed parkd or got no
// answer, with the answer each must now get.
func gateCrashers(f *fixture) []gateCrasher {
	lamp := "sip:701@" + f.h
	// An offer, so that an INVITE that got past the gate would be served
	// (parked, or bridged to the caller on 701) rather than refused 488.
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	ct := "Content-Type: application/sdp"
	return []gateCrasher{
		{"SUBSCRIBE without To", "SUBSCRIBE", lamp, "", []string{"-To", "Event: dialog"}, 400, "missing To header", false},
		{"SUBSCRIBE without From", "SUBSCRIBE", lamp, "", []string{"-From", "Event: dialog"}, 400, "missing From header", false},
		{"SUBSCRIBE without Call-ID", "SUBSCRIBE", lamp, "", []string{"-Call-ID", "Event: dialog"}, 400, "missing Call-ID header", false},
		{"park INVITE without To", "INVITE", "sip:park-702@" + f.h, sdp, []string{"-To", ct}, 400, "missing To header", false},
		{"retrieve INVITE without From", "INVITE", "sip:701@" + f.h, sdp, []string{"-From", ct}, 400, "missing From header", false},
		{"retrieve INVITE without To", "INVITE", "sip:701@" + f.h, sdp, []string{"-To", ct}, 400, "missing To header", false},
		{"INVITE with CSeq of BYE", "INVITE", "sip:park-703@" + f.h, sdp, []string{"CSeq: 1 BYE", ct}, 400, "CSeq method differs from the request method", false},
		{"SIP/9.9", "OPTIONS", "sip:park@" + f.h, "", []string{"SIP/9.9"}, 505, "only SIP/2.0 is supported", false},
		{"Content-Length larger than the body", "INVITE", "sip:park-704@" + f.h, sdp, []string{"Content-Length: 400", ct}, 400, "Content-Length larger than the body", true},
		{"NOTIFY without To", "NOTIFY", lamp, "", []string{"-To", "Event: dialog"}, 400, "missing To header", false},
		{"BYE without To", "BYE", lamp, "", []string{"-To"}, 400, "missing To header", false},
		{"INFO without To", "INFO", lamp, "", []string{"-To"}, 400, "missing To header", false},
		{"REFER without To", "REFER", lamp, "", []string{"-To", "Refer-To: <sip:x@127.0.0.1>"}, 400, "missing To header", false},
		{"OPTIONS without To", "OPTIONS", "sip:park@" + f.h, "", []string{"-To"}, 400, "missing To header", false},
		{"UPDATE without Call-ID", "UPDATE", lamp, "", []string{"-Call-ID"}, 400, "missing Call-ID header", false},
		{"MESSAGE without To", "MESSAGE", lamp, "", []string{"-To"}, 400, "missing To header", false},
	}
}

// TestGateAnswersIssue10CrashersAndKeepsParkedCalls sends every request
// of issue 10 that crashed parkd (or went unanswered) over UDP and TCP:
// each gets its status and a Warning naming the fault, the service
// answers the next OPTIONS, and the call parked before is still parked,
// with its caller, and still hears music.
func TestGateAnswersIssue10CrashersAndKeepsParkedCalls(t *testing.T) {
	f := startPark(t, nil)
	alice := parkAlice(t, f.uri("park-701"))
	f.log.wait(t, "parked", "orbit", "701")
	before, _ := f.svc.Orbit(701)
	for _, network := range []string{"udp", "tcp"} {
		p := newGatePeer(t, f, network)
		p.options(f, "nothing")
		for _, c := range gateCrashers(f) {
			if c.udpOnly && network != "udp" {
				continue
			}
			p.send(p.request(c.method, c.uri, c.body, c.edits...))
			res := p.answer(c.name)
			w := res.GetHeader("Warning")
			if res.StatusCode != c.status || w == nil || !strings.Contains(w.Value(), `"`+c.warning+`"`) {
				t.Fatalf("%s over %s answered (want %d with Warning %q):\n%s", c.name, p.tr, c.status, c.warning, res)
			}
			if !strings.HasPrefix(w.Value(), "399 "+f.h+" ") {
				t.Fatalf("%s: Warning %q does not name the service %s", c.name, w.Value(), f.h)
			}
			p.options(f, c.name)
		}
	}
	after, _ := f.svc.Orbit(701)
	if !after.Occupied || after.CallerURI != before.CallerURI || after.ParkedAt != before.ParkedAt {
		t.Fatalf("orbit 701 after the crashers: %+v, before: %+v", after, before)
	}
	if n := f.svc.Parked(); n != 1 {
		t.Fatalf("%d calls parked, want alice's alone", n)
	}
	select {
	case <-alice.Context().Done():
		t.Fatal("the parked caller was hung up")
	default:
	}
	m := siptest.StartMedia(t, alice, 440)
	if rms := tone.RMS(m.WaitAudio(t, m.Len(), window)); rms < 0.01 {
		t.Fatalf("the parked caller hears silence (rms %.4f), want music", rms)
	}
}
