package sipgate

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// waitFor only stops a hung test; nothing is measured by it.
const waitFor = 30 * time.Second

// records is a slog.Handler keeping every record, for the tests to wait on.
type records struct {
	mu   sync.Mutex
	all  []slog.Record
	wake chan struct{}
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, rec.Clone())
	if r.wake != nil {
		close(r.wake)
		r.wake = nil
	}
	return nil
}

// wait returns the first record with message msg whose attributes hold
// every key=value of kv.
func (r *records) wait(t testing.TB, msg string, kv ...string) map[string]string {
	t.Helper()
	deadline := time.NewTimer(waitFor)
	defer deadline.Stop()
	for seen := 0; ; {
		r.mu.Lock()
		recs := r.all
		if r.wake == nil {
			r.wake = make(chan struct{})
		}
		wake := r.wake
		r.mu.Unlock()
		for ; seen < len(recs); seen++ {
			if recs[seen].Message != msg {
				continue
			}
			attrs := map[string]string{"level": recs[seen].Level.String()}
			recs[seen].Attrs(func(a slog.Attr) bool {
				attrs[a.Key] = a.Value.String()
				return true
			})
			match := true
			for i := 0; i+1 < len(kv); i += 2 {
				match = match && attrs[kv[i]] == kv[i+1]
			}
			if match {
				return attrs
			}
		}
		select {
		case <-wake:
		case <-deadline.C:
			t.Fatalf("no log record %q with %v", msg, kv)
		}
	}
}

func (r *records) count(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.all {
		if rec.Message == msg {
			n++
		}
	}
	return n
}

// server is a sipgo server behind a gate on loopback UDP and TCP (one
// port): OPTIONS answers 200, INFO panics before answering, NOTIFY answers
// 200 and then panics, everything else answers 200.
type server struct {
	gate *Gate
	log  *records
	addr string
}

// startServer starts the server; its gate logs every refusal unless
// perInterval asks for the real once-per-source-per-interval limit.
func startServer(t testing.TB, perInterval bool) *server {
	t.Helper()
	return startServerWith(t, perInterval, nil)
}

// startServerWith is startServer whose gate hands stray responses to
// stray when it is set.
func startServerWith(t testing.TB, perInterval bool, stray func(*sip.Response)) *server {
	t.Helper()
	rec := &records{}
	log := slog.New(rec)
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: udp.LocalAddr().(*net.UDPAddr).Port})
	if err != nil {
		udp.Close()
		t.Skipf("the UDP port is taken on TCP: %v", err)
	}
	addr := udp.LocalAddr().String()
	gate := New(log, addr)
	if stray != nil {
		gate.OnStrayResponse(stray)
	}
	if !perInterval {
		gate.limit = newLogLimiter(0, maxSources)
	}
	ua, err := sipgo.NewUA(gate.UserAgentOption(), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	ok := func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	}
	for _, m := range []sip.RequestMethod{sip.OPTIONS, sip.INVITE, sip.BYE, sip.SUBSCRIBE, sip.REFER} {
		srv.OnRequest(m, gate.Middleware(ok))
	}
	srv.OnAck(gate.Middleware(func(*sip.Request, sip.ServerTransaction) {}))
	srv.OnInfo(gate.Middleware(func(req *sip.Request, tx sip.ServerTransaction) {
		var items []int
		_ = items[len(req.Body())] // an index out of range: a panic in a handler
	}))
	srv.OnNotify(gate.Middleware(func(req *sip.Request, tx sip.ServerTransaction) {
		ok(req, tx)
		panic("after the answer")
	}))
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.ServeUDP(udp) })
	wg.Go(func() { _ = srv.ServeTCP(tcp) })
	t.Cleanup(func() {
		udp.Close()
		tcp.Close()
		ua.Close()
		wg.Wait()
	})
	return &server{gate: gate, log: rec, addr: addr}
}

// peer is a raw SIP sender on loopback.
type peer struct {
	t     testing.TB
	conn  net.Conn
	rd    *bufio.Reader
	local string
	udp   bool
}

func dial(t testing.TB, network, addr string) *peer {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{t: t, conn: c, rd: bufio.NewReader(c), local: c.LocalAddr().String(), udp: network == "udp"}
}

// msg fills the request template: %[1]s is the transport, %[2]s the
// local address.
func (p *peer) msg(tmpl string) []byte {
	tr := "TCP"
	if p.udp {
		tr = "UDP"
	}
	return []byte(strings.ReplaceAll(fmt.Sprintf(tmpl, tr, p.local), "\n", "\r\n"))
}

func (p *peer) send(b []byte) {
	p.t.Helper()
	if _, err := p.conn.Write(b); err != nil {
		p.t.Fatal(err)
	}
}

// next returns the next final response.
func (p *peer) next() *sip.Response {
	p.t.Helper()
	for {
		_ = p.conn.SetReadDeadline(time.Now().Add(waitFor))
		var raw []byte
		if p.udp {
			buf := make([]byte, 65535)
			n, err := p.conn.Read(buf)
			if err != nil {
				p.t.Fatalf("no answer: %v", err)
			}
			raw = buf[:n]
		} else {
			raw = p.readStream()
		}
		m, err := sip.ParseMessage(raw)
		if err != nil {
			p.t.Fatalf("answer does not parse: %v\n%s", err, raw)
		}
		res, ok := m.(*sip.Response)
		if !ok {
			p.t.Fatalf("a request came back:\n%s", raw)
		}
		if res.StatusCode >= 200 {
			return res
		}
	}
}

func (p *peer) readStream() []byte {
	var head strings.Builder
	length := 0
	for {
		line, err := p.rd.ReadString('\n')
		if err != nil {
			p.t.Fatalf("no answer: %v", err)
		}
		head.WriteString(line)
		if line == "\r\n" && head.Len() > 2 {
			break
		}
		if name, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(p.rd, body); err != nil {
		p.t.Fatal(err)
	}
	return append([]byte(head.String()), body...)
}

// options sends a good OPTIONS with call id and expects its 200.
func (p *peer) options(callID string) {
	p.t.Helper()
	p.send(p.msg("OPTIONS sip:park@127.0.0.1 SIP/2.0\nVia: SIP/2.0/%[1]s %[2]s;branch=z9hG4bK" + callID +
		"\nFrom: <sip:t@127.0.0.1>;tag=1\nTo: <sip:park@127.0.0.1>\nCall-ID: " + callID +
		"\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n"))
	res := p.next()
	if res.StatusCode != 200 || res.CallID() == nil || string(*res.CallID()) != callID {
		p.t.Fatalf("OPTIONS %s answered:\n%s", callID, res)
	}
}

const head = "%s sip:701@127.0.0.1 SIP/2.0\nVia: SIP/2.0/%%[1]s %%[2]s;branch=z9hG4bK%s\n"

func TestGateAnswersMalformedRequestsOverUDPAndTCP(t *testing.T) {
	s := startServer(t, false)
	cases := []struct {
		name, msg string
		status    int
		warning   string
		// sipgoOnTCP: over TCP sipgo's transaction layer answers it
		// first, 400 without a Warning (the read filter sees UDP only).
		sipgoOnTCP bool
	}{
		{"SUBSCRIBE without To", fmt.Sprintf(head, "SUBSCRIBE", "a1") + "From: <sip:x@h>;tag=1\nCall-ID: a1\nCSeq: 1 SUBSCRIBE\nMax-Forwards: 70\nContent-Length: 0\n\n", 400, "missing To header", false},
		{"INVITE with CSeq of BYE", fmt.Sprintf(head, "INVITE", "a2") + "From: <sip:x@h>;tag=1\nTo: <sip:701@h>\nCall-ID: a2\nCSeq: 1 BYE\nMax-Forwards: 70\nContent-Length: 0\n\n", 400, "CSeq method differs from the request method", false},
		{"SIP/9.9", strings.Replace(fmt.Sprintf(head, "OPTIONS", "a3"), "SIP/2.0\n", "SIP/9.9\n", 1) + "From: <sip:x@h>;tag=1\nTo: <sip:701@h>\nCall-ID: a3\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n", 505, "only SIP/2.0 is supported", false},
		{"OPTIONS without CSeq", fmt.Sprintf(head, "OPTIONS", "a4") + "From: <sip:x@h>;tag=1\nTo: <sip:701@h>\nCall-ID: a4\nMax-Forwards: 70\nContent-Length: 0\n\n", 400, "missing CSeq header", true},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, c := range cases {
			t.Run(network+"/"+c.name, func(t *testing.T) {
				p := dial(t, network, s.addr)
				p.send(p.msg(c.msg))
				res := p.next()
				w := res.GetHeader("Warning")
				if network == "tcp" && c.sipgoOnTCP {
					if res.StatusCode != c.status {
						t.Fatalf("answer:\n%s", res)
					}
					p.options("after-" + network + "-" + strings.ReplaceAll(c.name, " ", "-"))
					return
				}
				if res.StatusCode != c.status || w == nil || !strings.Contains(w.Value(), `"`+c.warning+`"`) || res.SipVersion != "SIP/2.0" {
					t.Fatalf("answer:\n%s", res)
				}
				p.options("after-" + network + "-" + strings.ReplaceAll(c.name, " ", "-"))
			})
		}
	}
	// What sipgo's parser refuses reaches no handler; on UDP the read
	// filter answers it.
	p := dial(t, "udp", s.addr)
	p.send(p.msg(fmt.Sprintf(head, "INVITE", "b1") + "From: <sip:x@h>;tag=1\nTo: <sip:701@h>\nCall-ID: b1\nCSeq: 1 INVITE\nMax-Forwards: 70\nContent-Length: 300\n\nv=0\n"))
	res := p.next()
	if w := res.GetHeader("Warning"); res.StatusCode != 400 || w == nil || !strings.Contains(w.Value(), "Content-Length larger than the body") {
		t.Fatalf("answer to a Content-Length larger than the body:\n%s", res)
	}
	if res.CallID() == nil || *res.CallID() != "b1" {
		t.Fatalf("the answer does not carry the request's Call-ID:\n%s", res)
	}
	p.options("after-length")
	s.log.wait(t, "sip request refused", "fault", "content-length", "transport", "UDP", "answered", "true", "level", "WARN")
}

// TestGateAnswersALowerCaseVersionInUpperCase: the version is
// case-insensitive (RFC 3261 §7.1), but sent in upper case.
func TestGateAnswersALowerCaseVersionInUpperCase(t *testing.T) {
	s := startServer(t, false)
	for _, network := range []string{"udp", "tcp"} {
		p := dial(t, network, s.addr)
		p.send(p.msg(strings.Replace(fmt.Sprintf(head, "OPTIONS", "v-"+network), "SIP/2.0\n", "sip/2.0\n", 1) +
			"From: <sip:x@h>;tag=1\nTo: <sip:701@h>\nCall-ID: v\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n"))
		if res := p.next(); res.StatusCode != 200 || res.SipVersion != "SIP/2.0" {
			t.Fatalf("%s: answer:\n%s", network, res)
		}
	}
}

func TestGateDropsAFaultyACKWithALogLine(t *testing.T) {
	s := startServer(t, false)
	for _, network := range []string{"udp", "tcp"} {
		p := dial(t, network, s.addr)
		p.send(p.msg(fmt.Sprintf(head, "ACK", "c-"+network) + "From: <sip:x@h>;tag=1\nCall-ID: c\nCSeq: 1 ACK\nMax-Forwards: 70\nContent-Length: 0\n\n"))
		s.log.wait(t, "sip request refused", "method", "ACK", "transport", strings.ToUpper(network), "answered", "false")
		// The next answer on this socket is the OPTIONS': nothing answered the ACK.
		p.options("after-ack-" + network)
	}
}

func TestGateRecoversAHandlerPanicWith500AndAStack(t *testing.T) {
	s := startServer(t, false)
	for _, network := range []string{"udp", "tcp"} {
		p := dial(t, network, s.addr)
		p.send(p.msg(fmt.Sprintf(head, "INFO", "d-"+network) + "From: <sip:x@h>;tag=1\nTo: <sip:701@h>\nCall-ID: d\nCSeq: 1 INFO\nMax-Forwards: 70\nContent-Length: 0\n\n"))
		if res := p.next(); res.StatusCode != 500 {
			t.Fatalf("%s: answer to a panicking handler:\n%s", network, res)
		}
		rec := s.log.wait(t, "sip handler panicked", "method", "INFO", "transport", strings.ToUpper(network), "level", "ERROR", "answered_500", "true")
		if !strings.Contains(rec["stack"], "sipgate.startServer") || !strings.Contains(rec["panic"], "index out of range") {
			t.Fatalf("log line: %v", rec)
		}
		p.options("after-panic-" + network)

		// A handler that answered before it panicked: no second answer.
		p.send(p.msg(fmt.Sprintf(head, "NOTIFY", "e-"+network) + "From: <sip:x@h>;tag=1\nTo: <sip:701@h>\nCall-ID: e\nCSeq: 1 NOTIFY\nMax-Forwards: 70\nContent-Length: 0\n\n"))
		if res := p.next(); res.StatusCode != 200 {
			t.Fatalf("%s: NOTIFY answered:\n%s", network, res)
		}
		s.log.wait(t, "sip handler panicked", "method", "NOTIFY", "transport", strings.ToUpper(network), "answered_500", "false")
		p.options("after-notify-" + network)
	}
	if s.gate.Panics() != 4 {
		t.Fatalf("%d panics counted, want 4", s.gate.Panics())
	}
}

func TestGateLogsOncePerSourcePerInterval(t *testing.T) {
	s := startServer(t, true)
	p := dial(t, "udp", s.addr)
	for i := range 20 {
		p.send(p.msg(fmt.Sprintf(head, "SUBSCRIBE", "f"+strconv.Itoa(i)) + "From: <sip:x@h>;tag=1\nCall-ID: f\nCSeq: 1 SUBSCRIBE\nMax-Forwards: 70\nContent-Length: 0\n\n"))
		if res := p.next(); res.StatusCode != 400 {
			t.Fatalf("answer %d:\n%s", i, res)
		}
	}
	if n := s.log.count("sip request refused"); n != 1 {
		t.Fatalf("%d log lines for 20 refusals from one source within a minute", n)
	}
	if s.gate.Refused() != 20 {
		t.Fatalf("%d refusals counted", s.gate.Refused())
	}
}

func TestGateDropsDatagramsThatAreNoSIPWithALogLine(t *testing.T) {
	s := startServer(t, false)
	p := dial(t, "udp", s.addr)
	p.send([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	s.log.wait(t, "sip request refused", "fault", "unparseable", "answered", "false")
	p.options("after-junk")
}

// TestGateAnswersADatagramCutBySipgosBuffer: sipgo reads UDP into
// sip.TransportBufferReadSize bytes (32 KiB); a larger datagram arrives
// cut, and is answered 513 rather than dropped.
func TestGateAnswersADatagramCutBySipgosBuffer(t *testing.T) {
	s := startServer(t, false)
	p := dial(t, "udp", s.addr)
	body := strings.Repeat("a=x-filler:0123456789abcdef0123456789abcdef\r\n", 1000)
	p.send(p.msg(fmt.Sprintf(head, "INVITE", "g1") + "From: <sip:x@h>;tag=1\nTo: <sip:701@h>\nCall-ID: g1\nCSeq: 1 INVITE\nMax-Forwards: 70\nContent-Type: application/sdp\nContent-Length: " +
		strconv.Itoa(len(body)) + "\n\n" + strings.ReplaceAll(body, "\r\n", "\n")))
	if res := p.next(); res.StatusCode != StatusMessageTooLarge {
		t.Fatalf("answer to a %d-byte datagram:\n%s", len(body), res)
	}
	p.options("after-cut")
}

// strayOK is a 2xx to an INVITE that no transaction of the server sent.
const strayOK = "SIP/2.0 200 OK\nVia: SIP/2.0/%[1]s %[2]s;branch=z9hG4bKstray\nFrom: <sip:park@127.0.0.1>;tag=a\nTo: <sip:701@127.0.0.1>;tag=b\nCall-ID: stray@127.0.0.1\nCSeq: 3 INVITE\nContent-Length: 0\n\n"

// A response that matches no client transaction reaches OnStrayResponse
// (a 2xx the core must ACK again); without one it is logged at debug
// level and dropped.
func TestStrayResponses(t *testing.T) {
	got := make(chan *sip.Response, 1)
	s := startServerWith(t, false, func(res *sip.Response) { got <- res })
	p := dial(t, "udp", s.addr)
	p.send(p.msg(strayOK))
	select {
	case res := <-got:
		if res.StatusCode != 200 || res.CallID().Value() != "stray@127.0.0.1" || res.CSeq().SeqNo != 3 {
			t.Errorf("OnStrayResponse got %s", res.Short())
		}
	case <-time.After(waitFor):
		t.Fatal("the stray 2xx never reached OnStrayResponse")
	}

	s = startServer(t, false)
	p = dial(t, "udp", s.addr)
	p.send(p.msg(strayOK))
	s.log.wait(t, "SIP response matching no transaction dropped", "status", "200")
}
