package sipgate

import (
	"bytes"
	"fmt"
	"net"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// UserAgentOption binds the gate to the user agent being built (its
// ReadFilter answers through the UA's listening sockets), installs
// ReadFilter on the UA's transport layer together with more, gives the
// transport and transaction layers SipgoLogger of the gate's logger, and
// hands the responses that match no client transaction to the
// OnStrayResponse callback (logged and dropped when none).
// sipgo.WithUserAgentTransportLayerOptions replaces the options given
// before it, so every other transport option of the UA goes in more.
func (g *Gate) UserAgentOption(more ...sip.TransportLayerOption) sipgo.UserAgentOption {
	return func(ua *sipgo.UserAgent) error {
		g.Bind(ua)
		quiet := SipgoLogger(g.log)
		opts := append(slices.Clone(more), g.TransportLayerOption(), sip.WithTransportLayerLogger(quiet))
		if err := sipgo.WithUserAgentTransportLayerOptions(opts...)(ua); err != nil {
			return err
		}
		return sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet),
			sip.WithTransactionLayerUnhandledResponseHandler(g.strayResponse))(ua)
	}
}

// OnStrayResponse sets f to take the responses that match no client
// transaction (RFC 3261 §17.1.1.2 passes them to the core: a 2xx to an
// INVITE retransmitted after its transaction ended); call it before the
// user agent is built. Without it they are logged at debug level and
// dropped, where sipgo would log each at info level.
func (g *Gate) OnStrayResponse(f func(*sip.Response)) { g.stray = f }

func (g *Gate) strayResponse(res *sip.Response) {
	if g.stray != nil {
		g.stray(res)
		return
	}
	g.log.Debug("SIP response matching no transaction dropped", "status", res.StatusCode, "source", res.Source())
}

// TransportLayerOption installs ReadFilter; a gate installed this way
// needs Bind to answer what it filters.
func (g *Gate) TransportLayerOption() sip.TransportLayerOption {
	return sip.WithTransportLayerReadFilter(g.ReadFilter)
}

// Bind tells the gate the user agent whose sockets ReadFilter answers
// through (UserAgentOption does it).
func (g *Gate) Bind(ua *sipgo.UserAgent) { g.ua.Store(ua) }

// ReadFilter is a sip.TransportReadFilter for what sipgo drops silently
// before any handler. On UDP it parses each datagram: a request that does
// not parse (a Content-Length larger than the body, an unparseable header
// or Request-URI, a foreign SIP version) or fails Check is answered from
// the socket it came in on, to the address it came from, with the fault's
// status and a Warning (an ACK is not answered), logged, and not passed
// on; a datagram that is no SIP message at all is logged and dropped.
// Everything else, and every stream (TCP, TLS, WS) chunk, passes
// unchanged: a stream's requests meet the gate in Middleware. It never
// returns an error (that would stop sipgo's read loop).
func (g *Gate) ReadFilter(props sip.TransportReadProps, data []byte) (out []byte, _ error) {
	if !strings.EqualFold(props.Transport, "udp") || isKeepAlive(data) {
		return data, nil
	}
	defer func() {
		if r := recover(); r != nil {
			g.panics.Add(1)
			g.log.Error("sip gate: read filter panicked; the datagram goes on to sipgo",
				"panic", fmt.Sprint(r), "source", addrString(props.RemoteAddr), "stack", string(debug.Stack()))
			out = data
		}
	}()
	msg, err := sip.ParseMessage(data)
	if err == nil {
		req, ok := msg.(*sip.Request)
		if !ok {
			return data, nil
		}
		f := Check(req)
		if f == nil {
			return data, nil
		}
		var res []byte
		if !req.IsAck() {
			req.SetSource(addrString(props.RemoteAddr))
			req.SetTransport("UDP")
			res = []byte(g.response(req, f).String())
		}
		g.refuseDatagram(props, string(req.Method), f, res)
		return nil, nil
	}
	d := diagnose(data)
	if d.request && len(data) >= int(sip.TransportBufferReadSize) {
		// sipgo's read buffer is full: the datagram was cut to fit it.
		d.fault = faultTooLarge
	}
	if !d.request {
		g.refused.Add(1)
		g.logRefusal(addrString(props.RemoteAddr), "UDP", "", faultUnparseable, false)
		return nil, nil
	}
	var res []byte
	if d.method != string(sip.ACK) {
		res = d.response(d.fault, g.host)
	}
	g.refuseDatagram(props, d.method, d.fault, res)
	return nil, nil
}

// refuseDatagram sends res (when not nil) back where the datagram came
// from, through the socket it came in on, and logs the refusal.
func (g *Gate) refuseDatagram(props sip.TransportReadProps, method string, f *Fault, res []byte) {
	g.refused.Add(1)
	answered := false
	if res != nil {
		if err := g.sendUDP(props, res); err != nil {
			g.log.Debug("sip gate: answer failed", "source", addrString(props.RemoteAddr), "error", err)
		} else {
			answered = true
		}
	}
	g.logRefusal(addrString(props.RemoteAddr), "UDP", method, f, answered)
}

// sendUDP writes b from the local socket of props to its remote address.
func (g *Gate) sendUDP(props sip.TransportReadProps, b []byte) error {
	ua := g.ua.Load()
	if ua == nil {
		return fmt.Errorf("sip gate: not bound to a user agent")
	}
	if props.LocalAddr == nil || props.RemoteAddr == nil {
		return fmt.Errorf("sip gate: no address to answer")
	}
	conn, err := ua.TransportLayer().GetConnection("udp", props.LocalAddr.String())
	if err != nil {
		return fmt.Errorf("sip gate: socket %s: %w", props.LocalAddr, err)
	}
	defer conn.TryClose()
	pc, ok := conn.(interface {
		WriteTo(b []byte, addr net.Addr) (int, error)
	})
	if !ok {
		return fmt.Errorf("sip gate: socket %s is not a packet socket", props.LocalAddr)
	}
	_, err = pc.WriteTo(b, props.RemoteAddr)
	return err
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// isKeepAlive is true for a CRLF keep-alive (RFC 5626 §3.5.1).
func isKeepAlive(data []byte) bool {
	return len(data) <= 4 && len(bytes.Trim(data, "\r\n")) == 0
}

// rawRequest is what diagnose makes of a datagram sipgo cannot parse.
type rawRequest struct {
	request bool   // the start line is a request line
	method  string // its method
	fault   *Fault
	// copied are the Via, From, To, Call-ID and CSeq lines to copy into
	// a response, as they came (unfolded), in order; only lines that
	// parse, so that the response parses.
	copied []string
	toTag  bool // the To line has a tag
}

// maxCopiedLine bounds a header line copied into a response.
const maxCopiedLine = 1024

// headerNames maps the names (full and compact, lower case) of the
// headers sipgo parses to their canonical names.
var headerNames = map[string]string{
	"via": "Via", "v": "Via", "from": "From", "f": "From", "to": "To", "t": "To",
	"call-id": "Call-ID", "i": "Call-ID", "cseq": "CSeq", "max-forwards": "Max-Forwards",
	"content-length": "Content-Length", "l": "Content-Length", "content-type": "Content-Type",
	"c": "Content-Type", "contact": "Contact", "m": "Contact", "route": "Route",
	"record-route": "Record-Route", "refer-to": "Refer-To", "referred-by": "Referred-By",
}

var headerParsers = sip.HeadersParser(sip.DefaultHeadersParser())

// diagnose finds why data, which sipgo's parser refused, is refused: the
// first fault of its start line, then of its headers in order, then of
// its framing.
func diagnose(data []byte) rawRequest {
	var d rawRequest
	head, body, complete := bytes.Cut(data, []byte("\r\n\r\n"))
	lines := unfold(head)
	if len(lines) == 0 {
		return d
	}
	parts := strings.SplitN(lines[0], " ", 3)
	if !isRequestLine(parts) {
		return d
	}
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	d.request, d.method = true, strings.ToUpper(parts[0])
	for _, line := range lines[1:] {
		name, _, ok := strings.Cut(line, ":")
		if !ok {
			if d.fault == nil {
				d.fault = fault(FaultBadHeader, "", "malformed header line")
			}
			continue
		}
		canon := headerNames[strings.ToLower(strings.TrimSpace(name))]
		if canon == "" {
			continue
		}
		hs, err := headerParsers.ParseHeader(nil, []byte(line))
		if err != nil {
			if d.fault == nil && canon == "Content-Length" {
				d.fault = faultBadLength
			} else if d.fault == nil {
				d.fault = bad(canon)
			}
			continue
		}
		switch canon {
		case "Via", "From", "To", "Call-ID", "CSeq":
			if len(line) <= maxCopiedLine && printable(line) {
				d.copied = append(d.copied, line)
			}
			if to, ok := hs[0].(*sip.ToHeader); ok && to.Params.Has("tag") {
				d.toTag = true
			}
		}
	}
	switch {
	case strings.TrimSpace(parts[2]) == "":
		d.fault = faultNoVersion
	case !strings.EqualFold(parts[2], Version):
		d.fault = faultVersion
	case !validRequestURI(parts[1]):
		d.fault = faultRequestURI
	case d.fault != nil:
	case len(data) > sip.ParseMaxMessageLength:
		d.fault = faultTooLarge
	case !complete:
		d.fault = faultTruncated
	case contentLength(lines) > len(body):
		d.fault = faultLength
	default:
		d.fault = faultUnparseable
	}
	return d
}

// isRequestLine is true for the split start line of a request, even one
// without its SIP version: a method, then a SIP version or a sip or sips
// URI.
func isRequestLine(parts []string) bool {
	if len(parts) < 2 || !isToken(parts[0]) {
		return false
	}
	if len(parts) == 3 && len(parts[2]) >= 4 && strings.EqualFold(parts[2][:4], "SIP/") {
		return true
	}
	scheme, _, ok := strings.Cut(parts[1], ":")
	return ok && (strings.EqualFold(scheme, "sip") || strings.EqualFold(scheme, "sips"))
}

// unfold splits a header section into lines, joining continuation lines
// (starting with a space or tab) to the line before.
func unfold(head []byte) []string {
	var lines []string
	for len(head) > 0 {
		line, rest, _ := bytes.Cut(head, []byte("\r\n"))
		head = rest
		if len(lines) > 1 && len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			lines[len(lines)-1] += " " + strings.TrimLeft(string(line), " \t")
			continue
		}
		lines = append(lines, string(line))
	}
	return lines
}

func validRequestURI(s string) bool {
	var u sip.Uri
	return sip.ParseUri(s, &u) == nil && sipURIWithHost(&u)
}

// contentLength is the value of the last Content-Length line, -1 when
// none parses.
func contentLength(lines []string) int {
	n := -1
	for _, line := range lines[1:] {
		name, value, _ := strings.Cut(line, ":")
		if headerNames[strings.ToLower(strings.TrimSpace(name))] != "Content-Length" {
			continue
		}
		if v, err := strconv.ParseUint(strings.TrimSpace(value), 10, 31); err == nil {
			n = int(v)
		}
	}
	return n
}

// isToken is true for a non-empty RFC 3261 token (a method name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-.!%*_+`'~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// printable is true for a line with no control character but tab.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// response is the answer to the raw request: the fault's status, the
// copied Via, From, To (with a tag), Call-ID and CSeq lines, and a
// Warning naming the fault.
func (d *rawRequest) response(f *Fault, host string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d %s\r\n", Version, f.Status, f.Reason())
	for _, line := range d.copied {
		b.WriteString(line)
		name, _, _ := strings.Cut(line, ":")
		if headerNames[strings.ToLower(strings.TrimSpace(name))] == "To" && !d.toTag {
			b.WriteString(";tag=sipgate")
		}
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "Warning: %s\r\nContent-Length: 0\r\n\r\n", f.warningValue(host))
	return b.Bytes()
}
