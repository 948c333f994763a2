// Package sipgate is the one gate in front of every SIP request handler of
// Switchboard: it refuses malformed requests with a clear status and a
// Warning header before any handler (or diago) sees them, and it turns a
// handler's panic into a 500 and an ERROR log line instead of a crash.
//
// It has two parts, meant to be used together:
//
//   - Gate.Middleware wraps a sipgo.RequestHandler: it runs Check and
//     answers a faulty request (400, or 505 for a foreign SIP version) with
//     a Warning naming the fault, and recovers a panic of the handler.
//   - Gate.ReadFilter is a sipgo transport read filter for the requests
//     sipgo drops silently before any handler: on UDP a datagram that does
//     not parse (a Content-Length larger than the body, an unparseable
//     header or Request-URI) or that the transaction layer cannot use
//     (no Via or CSeq) is answered from the listening socket, never
//     dropped in silence.
//
// Every refusal is logged, at most once per source address per minute.
package sipgate

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// FaultKind is what is wrong with a request.
type FaultKind uint8

// The kinds of fault.
const (
	// FaultUnparseable: the message is not a SIP request sipgo can parse
	// and no more precise fault was found.
	FaultUnparseable FaultKind = iota + 1
	// FaultVersion: the SIP version is not SIP/2.0 (505).
	FaultVersion
	// FaultRequestURI: the Request-URI is not a sip or sips URI with a host.
	FaultRequestURI
	// FaultMissingHeader: a mandatory header (RFC 3261 §8.1.1) is absent;
	// Fault.Header names it.
	FaultMissingHeader
	// FaultBadHeader: a header is present but unparseable, invalid or
	// repeated where it may appear once; Fault.Header names it.
	FaultBadHeader
	// FaultCSeqMethod: the CSeq method is not the request's method.
	FaultCSeqMethod
	// FaultContentLength: the Content-Length is negative, unparseable or
	// larger than the body that arrived.
	FaultContentLength
	// FaultTruncated: the header section does not end (no empty line).
	FaultTruncated
	// FaultTooLarge: the message is larger than the parser accepts (513).
	FaultTooLarge
)

var faultNames = [...]string{
	FaultUnparseable:   "unparseable",
	FaultVersion:       "version",
	FaultRequestURI:    "request-uri",
	FaultMissingHeader: "missing-header",
	FaultBadHeader:     "bad-header",
	FaultCSeqMethod:    "cseq-method",
	FaultContentLength: "content-length",
	FaultTruncated:     "truncated",
	FaultTooLarge:      "too-large",
}

// String is the kind as a short token for logs ("missing-header").
func (k FaultKind) String() string {
	if int(k) < len(faultNames) && faultNames[k] != "" {
		return faultNames[k]
	}
	return "unknown"
}

// Status codes of the faults that are not 400.
const (
	StatusVersionNotSupported = 505
	StatusMessageTooLarge     = 513
)

// Fault is why a request is refused: the status to answer and the text of
// its Warning header (Warning: 399 <host> "<Text>").
type Fault struct {
	Kind FaultKind
	// Header is the canonical name of the header at fault ("To",
	// "Call-ID"), for FaultMissingHeader and FaultBadHeader.
	Header string
	// Status is the response code: 400, 505 or 513.
	Status int
	// Text is the Warning text: short, fixed, never copied from the wire.
	Text string
}

// Reason is the reason phrase of the fault's status.
func (f *Fault) Reason() string {
	switch f.Status {
	case StatusVersionNotSupported:
		return "Version Not Supported"
	case StatusMessageTooLarge:
		return "Message Too Large"
	}
	return "Bad Request"
}

// WarningHeader is the Warning header (RFC 3261 §20.43, code 399
// "miscellaneous warning") that names the fault; host is the warn-agent.
func (f *Fault) WarningHeader(host string) sip.Header {
	return sip.NewHeader("Warning", f.warningValue(host))
}

func (f *Fault) warningValue(host string) string {
	if host == "" || strings.ContainsAny(host, " \t\r\n\"") {
		host = "-"
	}
	return `399 ` + host + ` "` + f.Text + `"`
}

func fault(kind FaultKind, header, text string) *Fault {
	status := sip.StatusBadRequest
	switch kind {
	case FaultVersion:
		status = StatusVersionNotSupported
	case FaultTooLarge:
		status = StatusMessageTooLarge
	}
	return &Fault{Kind: kind, Header: header, Status: status, Text: text}
}

func missing(header string) *Fault {
	return fault(FaultMissingHeader, header, "missing "+header+" header")
}

func bad(header string) *Fault {
	return fault(FaultBadHeader, header, "malformed "+header+" header")
}

func duplicate(header string) *Fault {
	return fault(FaultBadHeader, header, "more than one "+header+" header")
}

var (
	faultVersion     = fault(FaultVersion, "", "only SIP/2.0 is supported")
	faultRequestURI  = fault(FaultRequestURI, "", "Request-URI is not a sip or sips URI with a host")
	faultCSeqMethod  = fault(FaultCSeqMethod, "CSeq", "CSeq method differs from the request method")
	faultLength      = fault(FaultContentLength, "Content-Length", "Content-Length larger than the body")
	faultBadLength   = fault(FaultContentLength, "Content-Length", "malformed Content-Length header")
	faultTruncated   = fault(FaultTruncated, "", "header section does not end")
	faultNoVersion   = fault(FaultUnparseable, "", "request line has no SIP version")
	faultHeaderName  = fault(FaultBadHeader, "", "malformed header name")
	faultTooLarge    = fault(FaultTooLarge, "", "message too large")
	faultUnparseable = fault(FaultUnparseable, "", "unparseable request")
)

// Version is the only SIP version the gate lets through.
const Version = "SIP/2.0"

// Check says what is wrong with req, nil when nothing is: the SIP
// version, a sip or sips Request-URI with a host, the mandatory headers of
// RFC 3261 §8.1.1 (Via, From, To, Call-ID, CSeq, Max-Forwards) present,
// valid and not repeated, the CSeq method equal to the request's, and a
// Content-Length not larger than the body. The first fault found is
// returned; a wrong version comes first (505).
func Check(req *sip.Request) *Fault {
	if req == nil {
		return faultUnparseable
	}
	if !strings.EqualFold(req.SipVersion, Version) {
		return faultVersion
	}
	if !sipURIWithHost(&req.Recipient) {
		return faultRequestURI
	}
	var via, from, to, callID, cseq, maxFwd, length int
	for _, h := range req.Headers() {
		switch h := h.(type) {
		case *sip.ViaHeader:
			via++
			if !viaOK(h) {
				return bad("Via")
			}
		case *sip.FromHeader:
			from++
			if h == nil || !addressOK(&h.Address) {
				return bad("From")
			}
		case *sip.ToHeader:
			to++
			if h == nil || !addressOK(&h.Address) {
				return bad("To")
			}
		case *sip.CallIDHeader:
			callID++
			if h == nil || strings.TrimSpace(string(*h)) == "" {
				return bad("Call-ID")
			}
		case *sip.CSeqHeader:
			cseq++
		case *sip.MaxForwardsHeader:
			maxFwd++
		case *sip.ContentLengthHeader:
			length++
		default:
			if !isToken(h.Name()) {
				return faultHeaderName
			}
		}
	}
	switch {
	case via == 0:
		return missing("Via")
	case from == 0:
		return missing("From")
	case to == 0:
		return missing("To")
	case callID == 0:
		return missing("Call-ID")
	case cseq == 0:
		return missing("CSeq")
	case maxFwd == 0:
		return missing("Max-Forwards")
	case from > 1:
		return duplicate("From")
	case to > 1:
		return duplicate("To")
	case callID > 1:
		return duplicate("Call-ID")
	case cseq > 1:
		return duplicate("CSeq")
	case maxFwd > 1:
		return duplicate("Max-Forwards")
	case length > 1:
		return duplicate("Content-Length")
	}
	if cs := req.CSeq(); cs == nil || cs.MethodName != req.Method {
		return faultCSeqMethod
	}
	if cl := req.ContentLength(); cl != nil && int64(*cl) > int64(len(req.Body())) {
		return faultLength
	}
	return nil
}

// viaOK is true for a Via of SIP/2.0 with a transport and a host.
func viaOK(v *sip.ViaHeader) bool {
	return v != nil && v.Host != "" && isToken(v.Transport) &&
		strings.EqualFold(v.ProtocolName, "SIP") && v.ProtocolVersion == "2.0"
}

// sipURIWithHost is true for a sip or sips URI with a host.
func sipURIWithHost(u *sip.Uri) bool {
	return (strings.EqualFold(u.Scheme, "sip") || strings.EqualFold(u.Scheme, "sips")) && u.Host != ""
}

// addressOK is true for the URI of a From or To: any scheme, and a host
// when it is sip or sips.
func addressOK(u *sip.Uri) bool {
	if u.Scheme == "" {
		return false
	}
	if strings.EqualFold(u.Scheme, "sip") || strings.EqualFold(u.Scheme, "sips") {
		return u.Host != ""
	}
	return true
}
