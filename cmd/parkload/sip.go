//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/sipready"
)

// agent is one sipgo user agent on its own UDP port carrying the dialogs
// of many simulated phones, each with its own identity.
type agent struct {
	ua   *sipgo.UserAgent
	srv  *sipgo.Server
	dua  *sipgo.DialogUA
	conn *countingConn
	host string // the loopback address it sends from and is reached at
	port int
	done chan struct{}

	reinvites atomic.Int64 // re-INVITEs from the service answered

	mu     sync.Mutex
	byCall map[string]*call // Call-ID → call, for BYEs from the service
}

// call is one dialog of a simulated phone with the service.
type call struct {
	d        *sipgo.DialogClientSession
	user     string
	frames   [][]byte // what the phone sends
	send     bool     // whether it sends at all (-send)
	callID   string
	orbit    int
	rtp      *rtpSock
	invited  time.Time // INVITE handed to the transport
	answered time.Time // 200 OK received
	err      error
	hungUp   atomic.Bool // by the service (BYE received)
}

func newAgent(name string) (*agent, error) { return newAgentOn(name, "127.0.0.1") }

// newAgentOn is newAgent on a loopback address of its own (127.0.0.2...),
// for load that must come from several hosts: the service lets one host
// have only a few parks not yet confirmed.
func newAgentOn(name, host string) (*agent, error) {
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(name), sipgo.WithUserAgentHostname(host))
	if err != nil {
		return nil, err
	}
	quiet := slog.New(slog.DiscardHandler)
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		ua.Close()
		return nil, err
	}
	pc, err := net.ListenPacket("udp4", net.JoinHostPort(host, "0"))
	if err != nil {
		ua.Close()
		return nil, err
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname(host),
		sipgo.WithClientConnectionAddr(pc.LocalAddr().String()), sipgo.WithClientLogger(quiet))
	if err != nil {
		pc.Close()
		ua.Close()
		return nil, err
	}
	a := &agent{
		ua: ua, srv: srv, host: host, port: port, conn: &countingConn{PacketConn: pc}, done: make(chan struct{}),
		dua: &sipgo.DialogUA{Client: cli, ContactHDR: sip.ContactHeader{
			Address: sip.Uri{Scheme: "sip", User: name, Host: host, Port: port}}},
		byCall: make(map[string]*call),
	}
	srv.OnBye(a.onBye)
	srv.OnInvite(a.onInvite)
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
	var serving sync.WaitGroup
	sipready.ServeUDP(&serving, srv, a.conn) // before its first INVITE goes out on it
	go func() {
		serving.Wait()
		close(a.done)
	}()
	return a, nil
}

func (a *agent) close() {
	a.ua.Close()
	a.conn.Close()
	select {
	case <-a.done:
	case <-time.After(5 * time.Second):
	}
}

// onBye answers a BYE from the service (a retrieved call whose
// retriever hung up, or a service that stops).
func (a *agent) onBye(req *sip.Request, tx sip.ServerTransaction) {
	var c *call
	if id := req.CallID(); id != nil {
		a.mu.Lock()
		c = a.byCall[id.Value()]
		a.mu.Unlock()
	}
	if c == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	c.hungUp.Store(true)
	_ = c.d.ReadBye(req, tx)
}

// onInvite answers a re-INVITE from the service (hold, resume, a new
// media address) like a phone: it follows the offer's address and
// direction and answers with its own port. New calls are refused.
func (a *agent) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	var c *call
	if to := req.To(); to != nil && to.Params.Has("tag") {
		if id := req.CallID(); id != nil {
			a.mu.Lock()
			c = a.byCall[id.Value()]
			a.mu.Unlock()
		}
	} else {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBusyHere, "Busy Here", nil))
		return
	}
	if c == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	dir := "sendrecv"
	if len(req.Body()) > 0 {
		m, err := parseSDP(req.Body())
		if err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil))
			return
		}
		dir = answerDirection(m.dir)
		c.rtp.setSending(c.send && mayWeSend(m.dir), m.addr, c.frames)
	}
	a.reinvites.Add(1)
	res := sip.NewSDPResponseFromRequest(req, offerSDP(c.user, c.rtp.port, dir))
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: c.user, Host: a.host, Port: a.port}})
	_ = tx.Respond(res)
}

// invite sends INVITE uri from user with an SDP offer for the port of rtp,
// waits for the final answer and ACKs a 200. It fills c's timings and
// orbit, and makes c's phone send to the service's media address when
// the answer lets it.
func (a *agent) invite(ctx context.Context, c *call, uri string, hdrs ...sip.Header) error {
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil {
		return err
	}
	user := c.user
	req := sip.NewRequest(sip.INVITE, u)
	from := &sip.FromHeader{DisplayName: user, Address: sip.Uri{Scheme: "sip", User: user, Host: a.host}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: u.User, Host: u.Host, Port: u.Port}, Params: sip.NewParams()})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: a.host, Port: a.port}})
	callID := sip.CallIDHeader(fmt.Sprintf("%s-%s@127.0.0.1", user, sip.GenerateTagN(12)))
	req.AppendHeader(&callID)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	req.SetBody(offerSDP(user, c.rtp.port, "sendrecv"))
	c.callID = string(callID)

	a.conn.invites.Add(1)
	c.invited = time.Now()
	d, err := a.dua.WriteInvite(ctx, req)
	if err == nil {
		c.d = d
		a.mu.Lock()
		a.byCall[c.callID] = c
		a.mu.Unlock()
		err = d.WaitAnswer(ctx, sipgo.AnswerOptions{})
	}
	c.answered = time.Now()
	if err != nil {
		return err
	}
	if err := d.Ack(ctx); err != nil {
		return fmt.Errorf("ACK: %w", err)
	}
	if h := d.InviteResponse.GetHeader("X-Park-Orbit"); h != nil {
		c.orbit, _ = strconv.Atoi(h.Value())
	}
	m, err := parseSDP(d.InviteResponse.Body())
	if err != nil {
		return err
	}
	c.rtp.setSending(c.send && mayWeSend(m.dir), m.addr, c.frames)
	return nil
}

// ping sends OPTIONS sip:park@addr until the service answers 200
// (bounded): it checks the service is up, and it lets the agent's
// listener settle before the first INVITE, since sipgo registers the
// listening socket for sending only once its read loop runs.
func (a *agent) ping(ctx context.Context, addr string) error {
	var last error
	for try := 0; try < 20; try++ {
		req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", User: "park", Host: "127.0.0.1", Port: portOf(addr)})
		octx, cancel := context.WithTimeout(ctx, 2*time.Second)
		res, err := a.dua.Client.Do(octx, req)
		cancel()
		switch {
		case err == nil && res.StatusCode == sip.StatusOK:
			return nil
		case err == nil:
			last = fmt.Errorf("OPTIONS: %s", res.StartLine())
		default:
			last = err
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			break
		}
	}
	return fmt.Errorf("the service at %s does not answer: %w", addr, last)
}

func portOf(hostPort string) int {
	_, p, _ := net.SplitHostPort(hostPort)
	n, _ := strconv.Atoi(p)
	return n
}

// bye hangs c up unless the service already did.
func (a *agent) bye(ctx context.Context, c *call) error {
	if c.d == nil || c.hungUp.Load() {
		return nil
	}
	err := c.d.Bye(ctx)
	if c.hungUp.Load() { // crossed with the service's BYE
		return nil
	}
	return err
}

// statusOf names the outcome of a failed INVITE or BYE for the report.
func statusOf(err error) string {
	var p *sipgo.ErrDialogResponse
	var v sipgo.ErrDialogResponse
	switch {
	case errors.As(err, &p):
		return strconv.Itoa(p.Res.StatusCode)
	case errors.As(err, &v):
		return strconv.Itoa(v.Res.StatusCode)
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}

// offerSDP is a phone's PCMU offer (or answer) with telephone-event.
func offerSDP(user string, port int, dir string) []byte {
	return fmt.Appendf(nil, "v=0\r\no=%s 1 1 IN IP4 127.0.0.1\r\ns=parkload\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"+
		"a=fmtp:101 0-16\r\na=ptime:20\r\na=%s\r\n", user, port, dir)
}

// sdpMedia is what a phone needs from the far end's SDP: where to send
// audio and the direction the far end asked for.
type sdpMedia struct {
	addr netip.AddrPort
	dir  string // sendrecv, sendonly, recvonly or inactive
}

// parseSDP reads the first audio stream of an SDP body (IPv4).
func parseSDP(body []byte) (sdpMedia, error) {
	var addr netip.Addr
	port := -1
	m := sdpMedia{dir: "sendrecv"}
	inAudio, seenMedia := false, false
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "c=IN IP4 ") && (!seenMedia || inAudio):
			if a, err := netip.ParseAddr(strings.TrimSpace(strings.TrimPrefix(line, "c=IN IP4 "))); err == nil {
				addr = a
			}
		case strings.HasPrefix(line, "m="):
			seenMedia = true
			inAudio = strings.HasPrefix(line, "m=audio ") && port < 0
			if inAudio {
				if f := strings.Fields(line); len(f) > 1 {
					port, _ = strconv.Atoi(f[1])
				}
			}
		case line == "a=sendrecv" || line == "a=sendonly" || line == "a=recvonly" || line == "a=inactive":
			if !seenMedia || inAudio {
				m.dir = strings.TrimPrefix(line, "a=")
			}
		}
	}
	if !addr.IsValid() || !addr.Is4() || port < 0 || port > 65535 {
		return m, fmt.Errorf("no IPv4 audio stream in the SDP %q", body)
	}
	if port == 0 {
		m.dir = "inactive"
	}
	m.addr = netip.AddrPortFrom(addr, uint16(port))
	return m, nil
}

// mayWeSend says whether the far end's direction lets us send media.
func mayWeSend(farDir string) bool { return farDir == "sendrecv" || farDir == "recvonly" }

// answerDirection is our answer to the far end's offered direction.
func answerDirection(farDir string) string {
	switch farDir {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}

// countingConn is the agent's SIP socket; it counts INVITEs written (so
// retransmissions show) and 2xx answers to INVITE read (so duplicates,
// the service's retransmissions of a 200 whose ACK it missed, show).
type countingConn struct {
	net.PacketConn
	invites   atomic.Int64 // INVITE transactions started by the agent
	inviteTx  atomic.Int64 // INVITE datagrams written
	ok200     atomic.Int64 // 2xx to INVITE received
	byesRecvd atomic.Int64
}

func (c *countingConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if bytes.HasPrefix(b, []byte("INVITE ")) {
		c.inviteTx.Add(1)
	}
	return c.PacketConn.WriteTo(b, addr)
}

func (c *countingConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(b)
	if err == nil {
		p := b[:n]
		switch {
		case bytes.HasPrefix(p, []byte("SIP/2.0 2")) && cseqMethod(p) == "INVITE":
			c.ok200.Add(1)
		case bytes.HasPrefix(p, []byte("BYE ")):
			c.byesRecvd.Add(1)
		}
	}
	return n, addr, err
}

// cseqMethod is the method of a SIP message's CSeq header.
func cseqMethod(p []byte) string {
	for _, name := range []string{"\nCSeq:", "\ncseq:", "\nCSEQ:"} {
		if i := bytes.Index(p, []byte(name)); i >= 0 {
			rest := p[i+len(name):]
			if j := bytes.IndexByte(rest, '\n'); j >= 0 {
				rest = rest[:j]
			}
			f := strings.Fields(string(rest))
			if len(f) == 2 {
				return f[1]
			}
		}
	}
	return ""
}
