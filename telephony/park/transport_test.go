package park_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony/park"
)

// sipMsg writes a request from local over transport tr (UDP, TCP): the
// given Call-ID, CSeq 1, the extra header lines (each ending in CRLF),
// the body, and a Content-Length of cl, or of the body when cl < 0.
func sipMsg(method, uri, tr, local, callID, extra, body string, cl int) string {
	if cl < 0 {
		cl = len(body)
	}
	return fmt.Sprintf("%s %s SIP/2.0\r\n", method, uri) +
		fmt.Sprintf("Via: SIP/2.0/%s %s;branch=z9hG4bK%x\r\n", tr, local, rand.Uint64()) +
		extra +
		fmt.Sprintf("From: <sip:raw@%s>;tag=%x\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 %s\r\nMax-Forwards: 70\r\n",
			local, rand.Uint64(), uri, callID, method) +
		fmt.Sprintf("Content-Length: %d\r\n\r\n%s", cl, body)
}

// tcpPeer is one raw TCP connection to the service and every response
// read from it.
type tcpPeer struct {
	c      net.Conn
	res    siptest.Log[*sip.Response]
	closed chan struct{} // closed when the service closed the connection
}

// dialTCP connects to f from the address src (a loopback IP); the
// connection is closed when the test ends.
func dialTCP(t *testing.T, f *fixture, src string) *tcpPeer {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: siptest.WaitFor}
	c, err := d.Dial("tcp", f.svc.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpPeer{c: c, closed: make(chan struct{})}
	go p.read()
	t.Cleanup(func() {
		c.Close()
		<-p.closed
	})
	return p
}

// read parses the responses until the connection ends.
func (p *tcpPeer) read() {
	defer close(p.closed)
	par := sip.NewParser().NewSIPStream()
	buf := make([]byte, 64<<10)
	for {
		n, err := p.c.Read(buf)
		if n > 0 {
			perr := par.ParseSIPStream(buf[:n], func(m sip.Message) {
				if r, ok := m.(*sip.Response); ok {
					p.res.Add(r)
				}
			})
			if perr != nil && !errors.Is(perr, sip.ErrParseSipPartial) {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *tcpPeer) local() string { return p.c.LocalAddr().String() }

// options sends an OPTIONS with Call-ID id.
func (p *tcpPeer) options(t *testing.T, f *fixture, id string) {
	t.Helper()
	if _, err := io.WriteString(p.c, sipMsg("OPTIONS", "sip:park@"+f.h, "TCP", p.local(), id, "", "", -1)); err != nil {
		t.Fatalf("send OPTIONS %s: %v", id, err)
	}
}

// answer waits for the final response to the request with Call-ID id.
func (p *tcpPeer) answer(t *testing.T, id string) *sip.Response {
	t.Helper()
	return p.res.Wait(t, "the answer to "+id, func(r *sip.Response) bool {
		return r.CallID() != nil && r.CallID().Value() == id && r.StatusCode >= 200
	})
}

// answers counts the final responses to Call-ID id so far.
func (p *tcpPeer) answers(id string) int {
	n := 0
	for _, r := range p.res.All() {
		if r.CallID() != nil && r.CallID().Value() == id && r.StatusCode >= 200 {
			n++
		}
	}
	return n
}

// waitClosed waits until the service closes the connection.
func (p *tcpPeer) waitClosed(t *testing.T, what string) {
	t.Helper()
	select {
	case <-p.closed:
	case <-time.After(siptest.WaitFor):
		t.Fatalf("%s: the service kept the connection open", what)
	}
}

// perSource is the default cap of TCP connections per source address
// (sipconn.DefaultMaxPerSource; not imported, so that the test shows what
// the service does without the package).
const perSource = 32

// heapInuse is the process's heap in use, as runtime.MemStats counts it.
func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestTCPHeaderLineThatNeverEndsIsCut: a peer sending one header line for
// ever gets its connection closed near the 64 KiB message bound, and the
// service's memory does not grow with what it sends (issue 10: 100 MB
// sent grew parkd to 270 MB, never given back).
func TestTCPHeaderLineThatNeverEndsIsCut(t *testing.T) {
	f := startPark(t, nil)
	p := dialTCP(t, f, "127.0.0.1")
	runtime.GC()
	base, peak := heapInuse(), uint64(0)

	const total = 100 << 20
	chunk := bytes.Repeat([]byte("a"), 64<<10)
	sent := 0
	if _, err := io.WriteString(p.c, "OPTIONS sip:park@"+f.h+" SIP/2.0\r\nX-Never-Ends: "); err != nil {
		t.Fatal(err)
	}
	for sent < total {
		n, err := p.c.Write(chunk)
		sent += n
		if err != nil {
			break
		}
		if sent%(1<<20) == 0 {
			peak = max(peak, heapInuse())
		}
	}
	if sent >= total {
		t.Fatalf("the service read %d MB of one header line without closing the connection", sent>>20)
	}
	p.waitClosed(t, "a header line that never ends")
	peak = max(peak, heapInuse())
	t.Logf("sent %d KiB before the service closed; heap in use %d KiB before, %d KiB at most while sending",
		sent>>10, base>>10, peak>>10)
	if peak > base+8<<20 {
		t.Errorf("heap in use grew from %d KiB to %d KiB; want under 8 MiB of growth", base>>10, peak>>10)
	}

	// TCP is still served.
	q := dialTCP(t, f, "127.0.0.1")
	q.options(t, f, "after-long-line")
	if r := q.answer(t, "after-long-line"); r.StatusCode != sip.StatusOK {
		t.Fatalf("OPTIONS after the long line: %d; want 200", r.StatusCode)
	}
}

// TestTCPIdleConnectionIsClosed: a connection that says nothing for the
// idle timeout is closed (issue 10: idle connections were never closed).
func TestTCPIdleConnectionIsClosed(t *testing.T) {
	f := startPark(t, func(o *park.Options) { o.TCPIdleTimeout = 200 * time.Millisecond })
	p := dialTCP(t, f, "127.0.0.1")
	p.options(t, f, "before-idle")
	if r := p.answer(t, "before-idle"); r.StatusCode != sip.StatusOK {
		t.Fatalf("OPTIONS: %d; want 200", r.StatusCode)
	}
	p.waitClosed(t, "an idle connection")
}

// TestTCPConnectionsPerSourceAreCapped: the 33rd connection from one
// address is closed unanswered while another address still connects, and
// a closed connection gives its place back.
func TestTCPConnectionsPerSourceAreCapped(t *testing.T) {
	f := startPark(t, nil)
	var held []*tcpPeer
	for i := range perSource {
		p := dialTCP(t, f, "127.0.0.1")
		id := fmt.Sprintf("held-%d", i)
		p.options(t, f, id)
		if r := p.answer(t, id); r.StatusCode != sip.StatusOK {
			t.Fatalf("OPTIONS on connection %d: %d; want 200", i+1, r.StatusCode)
		}
		held = append(held, p)
	}

	over := dialTCP(t, f, "127.0.0.1")
	_, _ = io.WriteString(over.c, sipMsg("OPTIONS", "sip:park@"+f.h, "TCP", over.local(), "over", "", "", -1))
	over.waitClosed(t, fmt.Sprintf("connection %d from one source", perSource+1))
	if n := over.answers("over"); n != 0 {
		t.Fatalf("connection %d from one source was answered", perSource+1)
	}

	other := dialTCP(t, f, "127.0.0.2")
	other.options(t, f, "other-source")
	if r := other.answer(t, "other-source"); r.StatusCode != sip.StatusOK {
		t.Fatalf("OPTIONS from another source: %d; want 200", r.StatusCode)
	}

	// Once one of the first source's connections is closed, it connects
	// again (the service notices the close on its own time: retry).
	held[0].c.Close()
	<-held[0].closed
	deadline := time.Now().Add(siptest.WaitFor)
	for try := 0; ; try++ {
		p := dialTCP(t, f, "127.0.0.1")
		id := fmt.Sprintf("again-%d", try)
		_, _ = io.WriteString(p.c, sipMsg("OPTIONS", "sip:park@"+f.h, "TCP", p.local(), id, "", "", -1))
		if p.answeredOrClosed(id, deadline) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection did not give its place back")
		}
	}
}

// answeredOrClosed polls until id is answered (true) or the service
// closed the connection or deadline passed (false).
func (p *tcpPeer) answeredOrClosed(id string, deadline time.Time) bool {
	for time.Now().Before(deadline) {
		if p.answers(id) > 0 {
			return true
		}
		select {
		case <-p.closed:
			return p.answers(id) > 0
		case <-time.After(20 * time.Millisecond):
		}
	}
	return false
}

// TestTCPContentLengthLargerThanWhatFollows defines what a stream does
// with a Content-Length larger than the body that follows it (RFC 3261
// §18.3: on a stream the Content-Length alone marks a message's end):
// the declared body swallows the bytes that follow, whatever they look
// like. A request swallowed whole is never handled as itself; a stream
// whose declared body ends inside the next message has lost its framing,
// and what follows is closed or answered 400, never as a request of its
// own. No request is answered twice.
func TestTCPContentLengthLargerThanWhatFollows(t *testing.T) {
	f := startPark(t, nil)
	uri := "sip:park@" + f.h

	t.Run("swallows the next request whole", func(t *testing.T) {
		p := dialTCP(t, f, "127.0.0.1")
		b := sipMsg("OPTIONS", uri, "TCP", p.local(), "swallowed", "", "", -1)
		a := sipMsg("OPTIONS", uri, "TCP", p.local(), "swallower", "", "", len(b))
		if _, err := io.WriteString(p.c, a+b); err != nil {
			t.Fatal(err)
		}
		p.answer(t, "swallower")
		p.options(t, f, "next")
		if r := p.answer(t, "next"); r.StatusCode != sip.StatusOK {
			t.Fatalf("OPTIONS after the swallowed one: %d; want 200", r.StatusCode)
		}
		if n := p.answers("swallower"); n != 1 {
			t.Errorf("the request whose body swallowed the next was answered %d times; want once", n)
		}
		if n := p.answers("swallowed"); n != 0 {
			t.Errorf("the swallowed request was answered %d times as itself; want never", n)
		}
	})

	t.Run("ends inside the next request", func(t *testing.T) {
		p := dialTCP(t, f, "127.0.0.1")
		b := sipMsg("OPTIONS", uri, "TCP", p.local(), "cut", "", "", -1)
		c := sipMsg("OPTIONS", uri, "TCP", p.local(), "after-cut", "", "", -1)
		a := sipMsg("OPTIONS", uri, "TCP", p.local(), "overlong", "", "", len(b)+5)
		if _, err := io.WriteString(p.c, a+b+c); err != nil {
			t.Fatal(err)
		}
		// What follows the declared body starts 5 bytes into "after-cut":
		// it is answered 400 or the connection is closed. The request
		// before it may go unanswered: closing the stream can beat its
		// answer, and its body held the next request anyway.
		p.answeredOrClosed("after-cut", time.Now().Add(siptest.WaitFor))
		for _, r := range p.res.All() {
			if r.CallID() != nil && r.CallID().Value() == "after-cut" && r.StatusCode != sip.StatusBadRequest {
				t.Errorf("the misframed request was answered %d %s; want 400 or a closed connection", r.StatusCode, r.Reason)
			}
		}
		if p.answers("after-cut") == 0 {
			p.waitClosed(t, "a misframed stream")
		}
		if n := p.answers("after-cut"); n > 1 {
			t.Errorf("the misframed request was answered %d times; want at most once", n)
		}
		if n := p.answers("overlong"); n > 1 {
			t.Errorf("the request with the overlong Content-Length was answered %d times; want at most once", n)
		}
		if n := p.answers("cut"); n != 0 {
			t.Errorf("the swallowed request was answered %d times as itself; want never", n)
		}
	})
}

// manyVias is n Via lines of proxies the request crossed before ours
// reached the service (ours is on top, where the response goes).
func manyHops(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "Via: SIP/2.0/UDP proxy%d.far-away.example.net:5060;branch=z9hG4bK%x;received=192.0.2.%d;rport=5060\r\n",
			i, rand.Uint64(), i+1)
	}
	return b.String()
}

// udpExchange sends msg from conn to the service and returns the first
// final response, passing over provisional ones and requests of the
// service's own (not ours to answer).
func udpExchange(t testing.TB, f *fixture, conn *net.UDPConn, msg string) string {
	t.Helper()
	dst := net.UDPAddrFromAddrPort(f.svc.Addr())
	if _, err := conn.WriteTo([]byte(msg), dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	_ = conn.SetReadDeadline(time.Now().Add(siptest.WaitFor))
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no answer to %s (%d bytes) from %s: %v", firstLine(msg), len(msg), conn.LocalAddr(), err)
		}
		res := string(buf[:n])
		if !strings.HasPrefix(res, "SIP/2.0 ") || strings.HasPrefix(res, "SIP/2.0 1") {
			continue
		}
		return res
	}
}

// TestUDPResponseLargerThanMTUIsSent: a request that crossed many proxies
// gets its response over UDP, fragmented, instead of none (issue 10:
// sipgo refused to send over 1300 bytes, "size of packet larger than
// MTU", and the request went unanswered).
func TestUDPResponseLargerThanMTUIsSent(t *testing.T) {
	f := startPark(t, nil)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	hops := manyHops(30)

	base := txGoroutines()
	res := udpExchange(t, f, conn, sipMsg("OPTIONS", "sip:park@"+f.h, "UDP", local, "big-options", hops, "", -1))
	if !strings.HasPrefix(res, "SIP/2.0 200") || len(res) <= 1300 {
		t.Fatalf("OPTIONS answered with %d bytes %q; want a 200 over 1300 bytes", len(res), firstLine(res))
	}

	// An INVITE (to no orbit) with its Record-Route set too; its 404 is
	// ACKed, and the transaction ends on its timers: no goroutine stays.
	var rr strings.Builder
	for i := range 20 {
		fmt.Fprintf(&rr, "Record-Route: <sip:proxy%d.far-away.example.net;lr;ftag=%x>\r\n", i, rand.Uint64())
	}
	inv := sipMsg("INVITE", "sip:799@"+f.h, "UDP", local, "big-invite", hops+rr.String(), "", -1)
	res = udpExchange(t, f, conn, inv)
	if !strings.HasPrefix(res, "SIP/2.0 404") || len(res) <= 1300 {
		t.Fatalf("INVITE answered with %d bytes %q; want a 404 over 1300 bytes", len(res), firstLine(res))
	}
	m, err := sip.ParseMessage([]byte(res))
	if err != nil {
		t.Fatal(err)
	}
	r := m.(*sip.Response)
	via, _ := r.Via().Params.Get("branch")
	toTag, _ := r.To().Params.Get("tag")
	fromTag, _ := r.From().Params.Get("tag")
	ack := fmt.Sprintf("ACK sip:799@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s\r\n%sFrom: <sip:raw@%s>;tag=%s\r\nTo: <sip:799@%s>;tag=%s\r\nCall-ID: big-invite\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		f.h, local, via, hops, local, fromTag, f.h, toTag)
	if _, err := conn.WriteTo([]byte(ack), net.UDPAddrFromAddrPort(f.svc.Addr())); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(siptest.WaitFor + sip.Timer_J)
	for txGoroutines() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d transaction goroutines after the transactions ended; %d before:\n%s",
				txGoroutines(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// txGoroutines counts the goroutines in sipgo's transaction code: the
// process's whole count moves with what other tests leave ending in the
// background, this one only with transactions.
func txGoroutines() int {
	buf := make([]byte, 8<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "sipgo/sip.(*ServerTx)") || strings.Contains(g, "sipgo/sip.(*ClientTx)") {
			n++
		}
	}
	return n
}
