package badsip

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Target is a running SIP service to replay the corpus against.
type Target struct {
	// Name picks the statuses a case wants of it (Case.Wants): "park"
	// or "console".
	Name string
	// Network is "udp" or "tcp".
	Network string
	// Addr is where the service listens on Network.
	Addr netip.AddrPort
	// Alive, when set, tells a dead target (an exited process) at once
	// instead of waiting for the probe to give up.
	Alive func() error
}

// Problem is what went wrong with one case.
type Problem string

// The problems.
const (
	// Dead: the service did not answer the OPTIONS sent after the case.
	Dead Problem = "dead"
	// NoAnswer: a case that must be answered got no final response (nor,
	// for an INVITE of class Reply, an 18x).
	NoAnswer Problem = "no answer"
	// Accepted: a case that must be refused got a 2xx, or an INVITE of
	// it rang or parked.
	Accepted Problem = "accepted"
	// WrongStatus: the final status is not one the case wants.
	WrongStatus Problem = "wrong status"
	// Crashed: the case crashed the process in an earlier child (see
	// Isolated) and was not sent again.
	Crashed Problem = "crashed the process"
	// Misrouted: a request the service sent to someone else arrived on
	// the case's or the probe's socket (a NOTIFY for another watcher).
	Misrouted Problem = "misrouted request"
	// LoggedError: the service logged an ERROR while it handled the case
	// (a recovered panic, say); Replayer.Check finds it.
	LoggedError Problem = "logged error"
)

// Outcome is what one case got.
type Outcome struct {
	Case        *Case
	Network     string
	Sent        bool  // false: skipped on this transport, or the send failed
	SendErr     error // why it was not sent
	Final       int   // the first final status; 0 none
	Provisional int   // the highest provisional status; 0 none
	Warning     string
	Closed      bool    // the service closed the TCP connection
	Probe       int     // the status of the OPTIONS after it; 0 none
	Problem     Problem // empty when all is well
	Detail      string
	Took        time.Duration
}

// String is a one-line account of the outcome.
func (o *Outcome) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s over %s: ", o.Case.Name, o.Network)
	switch {
	case !o.Sent && o.SendErr != nil:
		fmt.Fprintf(&b, "not sent (%v)", o.SendErr)
	case !o.Sent:
		b.WriteString("skipped")
	case o.Final != 0:
		fmt.Fprintf(&b, "%d", o.Final)
		if o.Warning != "" {
			fmt.Fprintf(&b, " (Warning: %s)", o.Warning)
		}
	case o.Provisional != 0:
		fmt.Fprintf(&b, "only %d", o.Provisional)
	case o.Closed:
		b.WriteString("connection closed")
	default:
		b.WriteString("silence")
	}
	if o.Problem != "" {
		fmt.Fprintf(&b, " -> %s", o.Problem)
		if o.Detail != "" {
			fmt.Fprintf(&b, ": %s", o.Detail)
		}
	}
	return b.String()
}

// Replayer sends cases to a target one at a time and judges what they
// get.
type Replayer struct {
	Target Target
	// AnswerWait bounds how long a case that must be answered waits for
	// its answer (5 s): only a stop for silence, never a measurement.
	AnswerWait time.Duration
	// SilentCases is how many silent cases get the whole AnswerWait
	// (20); after them a target known to drop requests gets ShortWait,
	// so that a corpus it mostly ignores still ends in minutes.
	SilentCases int
	// ShortWait is the answer wait after SilentCases silences (500 ms).
	ShortWait time.Duration
	// ProbeWait bounds the wait for the OPTIONS after each case (30 s).
	ProbeWait time.Duration
	// CleanupWait bounds the wait for the answers to the ACK, CANCEL and
	// BYE that end what a case started (2 s).
	CleanupWait time.Duration
	// Check, when set, looks at the target after each case (its logs,
	// its state) and may set the outcome's Problem if it has none.
	Check func(o *Outcome)

	silences int
}

func (r *Replayer) answerWait() time.Duration { return orDefault(r.AnswerWait, 5*time.Second) }
func (r *Replayer) silentCases() int {
	if r.SilentCases > 0 {
		return r.SilentCases
	}
	return 20
}
func (r *Replayer) probeWait() time.Duration { return orDefault(r.ProbeWait, 30*time.Second) }
func (r *Replayer) cleanupWait() time.Duration {
	return orDefault(r.CleanupWait, 2*time.Second)
}

// lateGrace is how long an INVITE that need not be answered waits after
// the probe for an answer to end (a late 200 to ACK and BYE, a ringing
// to CANCEL); nothing is judged by it.
const lateGrace = 300 * time.Millisecond

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// All replays cases in order and returns their outcomes; it stops early,
// marking the rest unsent, once the target is dead.
func (r *Replayer) All(ctx context.Context, cases []Case) []Outcome {
	out := make([]Outcome, 0, len(cases))
	dead := false
	for i := range cases {
		if dead || ctx.Err() != nil {
			out = append(out, Outcome{Case: &cases[i], Network: r.Target.Network, SendErr: errors.New("not sent: the target died before")})
			continue
		}
		if skipped(r.Target.Network, cases[i].Name) {
			out = append(out, Outcome{Case: &cases[i], Network: r.Target.Network, Problem: Crashed,
				SendErr: errors.New("not sent again")})
			continue
		}
		markSending(r.Target.Network, cases[i].Name)
		o := r.Run(ctx, &cases[i])
		out = append(out, o)
		if o.Problem == Dead {
			dead = true
		}
	}
	return out
}

// Run replays one case: it sends it on a new socket (a new connection
// on TCP), waits for the OPTIONS sent after it to be answered, waits for
// the case's answer if its class needs one, ends what the case started
// (ACKs a final answer to an INVITE, BYEs a 2xx, CANCELs a ringing one)
// and judges the outcome.
func (r *Replayer) Run(ctx context.Context, c *Case) Outcome {
	start := time.Now()
	o := Outcome{Case: c, Network: r.Target.Network}
	class := c.Class(r.Target.Network)
	defer func() { o.Took = time.Since(start) }()
	if class == Skip {
		return o
	}
	ex, err := r.dial()
	if err != nil {
		o.SendErr = err
		o.Problem, o.Detail = Dead, "cannot connect: "+err.Error()
		return o
	}
	defer ex.close()
	data := Fill(c.Data, ex.vars)
	if err := ex.write(data); err != nil {
		if ex.tcp {
			o.Sent, o.Closed = true, true // the service hung up while it read
		} else {
			o.SendErr = err
			return o
		}
	} else {
		o.Sent = true
	}
	method, ruri := requestLine(data)
	invite := method == "INVITE"

	status, strangers, perr := probe(ctx, r.Target.Network, r.Target.Addr, r.probeWait(), r.Target.Alive)
	o.Probe = status
	if perr != nil {
		o.Problem, o.Detail = Dead, perr.Error()
		return o
	}

	var final, lastProv *response
	answered := func() bool {
		return o.Final != 0 || o.Closed || (invite && o.Provisional >= 180 && class == Reply)
	}
	take := func(res *response, ok bool) {
		switch {
		case !ok:
			o.Closed = true
		case res.status < 200:
			o.Provisional, lastProv = max(o.Provisional, res.status), res
		case final == nil:
			o.Final, o.Warning, final = res.status, res.header("Warning"), res
		}
	}
	// What came while the probe was answered.
	for drained := false; !drained && !o.Closed; {
		select {
		case res, ok := <-ex.in:
			take(res, ok)
		default:
			drained = true
		}
	}
	// Then what must come. An INVITE that need not be answered still
	// gets a moment, so that a late answer can be ended below.
	until := time.Time{}
	switch {
	case class == Refuse || class == Reply:
		until = start.Add(r.answerWait())
		if r.silences >= r.silentCases() {
			until = time.Now().Add(orDefault(r.ShortWait, 500*time.Millisecond))
		}
	case invite:
		until = time.Now().Add(lateGrace)
	}
	for !answered() && time.Now().Before(until) {
		res, ok, timedOut := ex.next(until)
		if timedOut {
			break
		}
		take(res, ok)
	}

	// Judge.
	switch {
	case o.Final >= 200 && o.Final < 300 && class == Refuse:
		o.Problem, o.Detail = Accepted, fmt.Sprintf("answered %d", o.Final)
	case invite && o.Final == 0 && o.Provisional >= 180 && class == Refuse:
		o.Problem, o.Detail = Accepted, fmt.Sprintf("rang (%d)", o.Provisional)
	case (class == Refuse || class == Reply) && !answered():
		o.Problem = NoAnswer
		if o.Provisional != 0 {
			o.Detail = fmt.Sprintf("only %d", o.Provisional)
		}
		if r.silences >= r.silentCases() {
			o.Detail = strings.TrimPrefix(o.Detail+"; waited briefly after earlier silences", "; ")
		}
		r.silences++
	case o.Final != 0:
		if want := c.Wants(r.Target.Name); len(want) > 0 && !containsInt(want, o.Final) {
			o.Problem, o.Detail = WrongStatus, fmt.Sprintf("got %d, want one of %v", o.Final, want)
		}
	}

	// End what the case started.
	if invite && !o.Closed {
		r.cleanupInvite(ex, ruri, final, lastProv)
	}
	ex.close()
	if strangers = append(strangers, ex.strangers()...); len(strangers) > 0 && o.Problem == "" {
		o.Problem, o.Detail = Misrouted, strings.Join(strangers, "; ")+" (not this case's Call-ID)"
	}
	if r.Check != nil {
		r.Check(&o)
	}
	return o
}

// cleanupInvite ACKs a final answer to the case's INVITE (and BYEs a
// 2xx) or CANCELs it while it rings, then ACKs or BYEs what that brings.
func (r *Replayer) cleanupInvite(ex *exchange, ruri string, final, provisional *response) {
	deadline := time.Now().Add(r.cleanupWait())
	if final == nil && provisional != nil {
		if !provisional.routable() {
			return
		}
		_ = ex.write(provisional.derive("CANCEL", ruri, "", false))
		// Wait for the INVITE's final answer (487, or a 2xx that crossed).
		for final == nil {
			res, ok, _ := ex.next(deadline)
			if !ok || res == nil {
				return
			}
			if res.status >= 200 && res.cseqMethod() == "INVITE" {
				final = res
			}
		}
	}
	if final == nil || !final.routable() {
		return
	}
	if final.status >= 300 {
		_ = ex.write(final.derive("ACK", ruri, "", false))
		return
	}
	target := final.contactURI()
	if target == "" {
		target = ruri
	}
	_ = ex.write(final.derive("ACK", target, ex.newVia(), false))
	_ = ex.write(final.derive("BYE", target, ex.newVia(), true))
	for {
		res, ok, _ := ex.next(deadline)
		if !ok || res == nil || res.status >= 200 && res.cseqMethod() == "BYE" {
			return
		}
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// requestLine returns the method and Request-URI of a request.
func requestLine(data []byte) (method, ruri string) {
	line, _, _ := bytes.Cut(data, []byte("\r\n"))
	f := strings.Split(string(line), " ")
	if len(f) > 0 {
		method = f[0]
	}
	if len(f) > 1 {
		ruri = f[1]
	}
	return method, ruri
}

// exchange is one case's socket and what arrives on it.
type exchange struct {
	tcp  bool
	conn net.Conn
	udp  *net.UDPConn
	dst  netip.AddrPort
	vars Vars
	in   chan *response
	done sync.WaitGroup

	closeOnce sync.Once
	mu        sync.Mutex
	requests  []string // requests that arrived: method and Call-ID
}

func (r *Replayer) dial() (*exchange, error) {
	ex := &exchange{in: make(chan *response, 64), dst: r.Target.Addr}
	host := r.Target.Addr.Addr().String()
	lo := "127.0.0.1"
	if r.Target.Addr.Addr().Is6() {
		host, lo = "["+host+"]", "::1"
	}
	switch strings.ToLower(r.Target.Network) {
	case "udp":
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(lo)})
		if err != nil {
			return nil, err
		}
		ex.udp = c
		ex.done.Go(func() { ex.readUDP() })
	case "tcp":
		c, err := net.DialTimeout("tcp", r.Target.Addr.String(), 10*time.Second)
		if err != nil {
			return nil, err
		}
		ex.tcp, ex.conn = true, c
		ex.done.Go(func() { ex.readTCP() })
	default:
		return nil, fmt.Errorf("badsip: network %q", r.Target.Network)
	}
	local := ex.localAddr()
	ex.vars = Vars{Host: host, Port: int(r.Target.Addr.Port()), Local: local, Transport: r.Target.Network,
		Branch: randHex(8), Tag: randHex(4), CallID: randHex(8) + "@badsip"}
	return ex, nil
}

func (ex *exchange) localAddr() string {
	if ex.tcp {
		return ex.conn.LocalAddr().String()
	}
	return ex.udp.LocalAddr().String()
}

func (ex *exchange) write(b []byte) error {
	if ex.tcp {
		_ = ex.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, err := ex.conn.Write(b)
		return err
	}
	_, err := ex.udp.WriteToUDPAddrPort(b, ex.dst)
	return err
}

func (ex *exchange) close() {
	ex.closeOnce.Do(ex.closeNow)
}

func (ex *exchange) closeNow() {
	if ex.tcp {
		ex.conn.Close()
	} else {
		ex.udp.Close()
	}
	ex.done.Wait()
}

func (ex *exchange) newVia() string {
	return "SIP/2.0/" + strings.ToUpper(ex.vars.Transport) + " " + ex.vars.Local + ";branch=z9hG4bK" + randHex(8) + ";rport"
}

// next returns the next response before deadline; ok is false once
// the socket is closed, timedOut true when the deadline passed first.
func (ex *exchange) next(deadline time.Time) (res *response, ok, timedOut bool) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case res, ok := <-ex.in:
		return res, ok, false
	case <-timer.C:
		return nil, true, true
	}
}

func (ex *exchange) deliver(res *response) {
	select {
	case ex.in <- res:
	default: // a flood of retransmissions: the first ones tell enough
	}
}

func (ex *exchange) readUDP() {
	defer close(ex.in)
	buf := make([]byte, 70000)
	for {
		n, _, err := ex.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if res := parseResponse(buf[:n]); res != nil {
			ex.deliver(res)
		} else {
			ex.noteRequest(buf[:n])
		}
	}
}

func (ex *exchange) readTCP() {
	defer close(ex.in)
	br := bufio.NewReaderSize(ex.conn, 70000)
	for {
		var head bytes.Buffer
		for {
			line, err := br.ReadSlice('\n')
			head.Write(line)
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return
			}
			if bytes.Equal(line, []byte("\r\n")) && head.Len() > 2 {
				break
			}
			if head.Len() > 1<<20 {
				return
			}
		}
		res := parseResponse(head.Bytes())
		if res == nil {
			ex.noteRequest(head.Bytes())
		}
		// Requests come too (a NOTIFY of a subscription): skip their body.
		n, _ := strconv.Atoi(strings.TrimSpace(contentLength(head.Bytes())))
		if n > 0 {
			if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
				return
			}
		}
		if res != nil {
			ex.deliver(res)
		}
	}
}

// noteRequest records a request that arrived on the exchange's socket.
func (ex *exchange) noteRequest(msg []byte) {
	method, _ := requestLine(msg)
	callID := ""
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	for _, l := range strings.Split(string(head), "\r\n") {
		name, value, ok := strings.Cut(l, ":")
		if n := strings.ToLower(strings.TrimSpace(name)); ok && (n == "call-id" || n == "i") {
			callID = strings.TrimSpace(value)
		}
	}
	ex.mu.Lock()
	ex.requests = append(ex.requests, method+" "+callID)
	ex.mu.Unlock()
}

// strangers returns the requests that arrived for another Call-ID.
func (ex *exchange) strangers() []string {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	var out []string
	for _, r := range ex.requests {
		if !strings.HasSuffix(r, " "+ex.vars.CallID) {
			out = append(out, r)
		}
	}
	return out
}

// contentLength is the Content-Length value of a message head.
func contentLength(head []byte) string {
	for _, l := range strings.Split(string(head), "\r\n") {
		name, value, ok := strings.Cut(l, ":")
		if n := strings.ToLower(strings.TrimSpace(name)); ok && (n == "content-length" || n == "l") {
			return value
		}
	}
	return ""
}

// response is a response as far as the replay reads it.
type response struct {
	status int
	hdrs   [][2]string // name (lower case), value; unfolded
}

func parseResponse(b []byte) *response {
	head, _, _ := bytes.Cut(b, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	f := strings.SplitN(lines[0], " ", 3)
	if len(f) < 2 || !strings.HasPrefix(f[0], "SIP/") {
		return nil
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return nil
	}
	res := &response{status: code}
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		if (l[0] == ' ' || l[0] == '\t') && len(res.hdrs) > 0 {
			res.hdrs[len(res.hdrs)-1][1] += " " + strings.TrimSpace(l)
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		res.hdrs = append(res.hdrs, [2]string{strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)})
	}
	return res
}

// header returns the first value of a header called by any of names.
func (r *response) header(names ...string) string {
	for _, h := range r.hdrs {
		for _, n := range names {
			if h[0] == strings.ToLower(n) {
				return h[1]
			}
		}
	}
	return ""
}

var compact = map[string]string{"via": "v", "from": "f", "to": "t", "call-id": "i", "contact": "m"}

func (r *response) get(name string) string { return r.header(name, compact[strings.ToLower(name)]) }

func (r *response) cseqMethod() string {
	f := strings.Fields(r.get("CSeq"))
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

func (r *response) contactURI() string {
	v := r.get("Contact")
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return v[i+1 : i+j]
		}
	}
	return ""
}

// routable reports whether the response has what a request derived
// from it needs (an answer to a request without To has no To to copy).
func (r *response) routable() bool {
	for _, h := range []string{"Via", "From", "To", "Call-ID", "CSeq"} {
		if strings.TrimSpace(r.get(h)) == "" {
			return false
		}
	}
	return true
}

// derive builds a request of method from the response to an INVITE: an
// ACK of a non-2xx and a CANCEL reuse its Via (via empty); the ACK and
// BYE of a 2xx take a new one. A CANCEL's To has no tag; a BYE's CSeq is
// one more.
func (r *response) derive(method, ruri, via string, nextSeq bool) []byte {
	if via == "" {
		via = r.get("Via")
	}
	to := r.get("To")
	if method == "CANCEL" {
		if i := strings.Index(strings.ToLower(to), ";tag="); i >= 0 {
			to = to[:i]
		}
	}
	seq, _ := strconv.ParseUint(strings.Fields(r.get("CSeq") + " 0")[0], 10, 32)
	if nextSeq {
		seq++
	}
	return []byte(method + " " + ruri + " SIP/2.0\r\n" +
		"Via: " + via + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: " + r.get("From") + "\r\n" +
		"To: " + to + "\r\n" +
		"Call-ID: " + r.get("Call-ID") + "\r\n" +
		"CSeq: " + strconv.FormatUint(seq, 10) + " " + method + "\r\n" +
		"Content-Length: 0\r\n\r\n")
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Probe sends an OPTIONS to addr over network from a new socket and
// returns the status of its final answer. Over UDP it sends the request
// again every 200 ms, as SIP does, until answered. It gives up after
// wait, or at once when alive (if set) reports the target dead.
func Probe(ctx context.Context, network string, addr netip.AddrPort, wait time.Duration, alive func() error) (int, error) {
	status, _, err := probe(ctx, network, addr, wait, alive)
	return status, err
}

// probe is Probe that also returns the requests that arrived on its
// socket: none should.
func probe(ctx context.Context, network string, addr netip.AddrPort, wait time.Duration, alive func() error) (status int, strangers []string, err error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	r := &Replayer{Target: Target{Network: network, Addr: addr}}
	ex, err := r.dial()
	if err != nil {
		return 0, nil, fmt.Errorf("OPTIONS over %s: %w", network, err)
	}
	defer func() {
		ex.close()
		strangers = ex.strangers()
	}()
	req := Fill([]byte("OPTIONS sip:park@{hostport} SIP/2.0\r\n"+
		"Via: SIP/2.0/{transport} {local};branch=z9hG4bK{branch};rport\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:probe@{local}>;tag={tag}\r\nTo: <sip:park@{hostport}>\r\n"+
		"Call-ID: {callid}\r\nCSeq: 1 OPTIONS\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n"), ex.vars)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := ex.write(req); err != nil && (ex.tcp || ctx.Err() != nil) {
			return 0, nil, fmt.Errorf("OPTIONS over %s: %w", network, err)
		}
		for {
			select {
			case res, ok := <-ex.in:
				if !ok {
					return 0, nil, fmt.Errorf("OPTIONS over %s: the service closed the connection", network)
				}
				if res.status >= 200 {
					return res.status, nil, nil
				}
				continue
			case <-tick.C:
				if alive != nil {
					if err := alive(); err != nil {
						return 0, nil, err
					}
				}
			case <-ctx.Done():
				return 0, nil, fmt.Errorf("no answer to OPTIONS over %s within %s", network, wait)
			}
			if !ex.tcp {
				break // send again
			}
		}
	}
}

// Failures returns the outcomes with a problem.
func Failures(outs []Outcome) []Outcome {
	var bad []Outcome
	for _, o := range outs {
		if o.Problem != "" {
			bad = append(bad, o)
		}
	}
	return bad
}

// Report lists the outcomes with a problem, one a line, grouped by
// problem; empty when there is none.
func Report(outs []Outcome) string {
	bad := Failures(outs)
	sort.SliceStable(bad, func(i, j int) bool { return bad[i].Problem < bad[j].Problem })
	var b strings.Builder
	for _, o := range bad {
		b.WriteString(o.String())
		b.WriteString("\n")
	}
	return b.String()
}

// Summary counts outcomes by what they got ("400", "silence", …), for a
// log line.
func Summary(outs []Outcome) string {
	n := map[string]int{}
	for _, o := range outs {
		k := "silence"
		switch {
		case !o.Sent:
			k = "not sent"
		case o.Final != 0:
			k = strconv.Itoa(o.Final)
		case o.Provisional != 0:
			k = "only " + strconv.Itoa(o.Provisional)
		case o.Closed:
			k = "closed"
		}
		n[k]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %d", k, n[k])
	}
	return b.String()
}
