package sipgate

import (
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// request builds a request from its start line and headers; a header
// given as "-Name" removes that default header, "Name: value" replaces
// it, anything else is added.
func request(start string, edits ...string) []byte {
	hdrs := []string{
		"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKtest",
		"From: <sip:a@127.0.0.1>;tag=1",
		"To: <sip:701@127.0.0.1>",
		"Call-ID: test@127.0.0.1",
		"CSeq: 1 " + strings.Fields(start)[0],
		"Max-Forwards: 70",
	}
	body := ""
	for _, e := range edits {
		if name, ok := strings.CutPrefix(e, "-"); ok {
			hdrs = removeHeader(hdrs, name)
			continue
		}
		if b, ok := strings.CutPrefix(e, "\r\n"); ok {
			body = b
			continue
		}
		name, _, _ := strings.Cut(e, ":")
		hdrs = append(removeHeader(hdrs, name), e)
	}
	if !hasHeader(hdrs, "Content-Length") {
		hdrs = append(hdrs, "Content-Length: "+strconv.Itoa(len(body)))
	}
	return []byte(start + "\r\n" + strings.Join(hdrs, "\r\n") + "\r\n\r\n" + body)
}

func removeHeader(hdrs []string, name string) []string {
	out := hdrs[:0:0]
	for _, h := range hdrs {
		if n, _, _ := strings.Cut(h, ":"); !strings.EqualFold(n, name) {
			out = append(out, h)
		}
	}
	return out
}

func hasHeader(hdrs []string, name string) bool {
	return len(removeHeader(hdrs, name)) != len(hdrs)
}

func TestCheckPassesAWellFormedRequestOfEveryMethod(t *testing.T) {
	for _, m := range []string{"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "SUBSCRIBE", "NOTIFY", "INFO", "REFER", "UPDATE"} {
		req := parse(t, request(m+" sip:701@127.0.0.1 SIP/2.0"))
		if f := Check(req); f != nil {
			t.Errorf("%s: refused: %+v", m, f)
		}
	}
	for _, extra := range [][]string{
		{"To: tel:+15551234"},                       // a tel URI in To is fine
		{"v: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK2"}, // compact Via, a second hop
		{"Content-Type: application/sdp", "\r\nv=0\r\n"},
	} {
		req := parse(t, request("INVITE sips:701@example.org SIP/2.0", extra...))
		if f := Check(req); f != nil {
			t.Errorf("%v: refused: %+v", extra, f)
		}
	}
}

// faultCase is a malformed request and the fault it must be found to
// have.
type faultCase struct {
	name   string
	msg    []byte
	kind   FaultKind
	header string
	status int
}

// want fails t unless f is the fault c wants.
func (c faultCase) want(t *testing.T, f *Fault) {
	t.Helper()
	if f.Kind != c.kind || f.Header != c.header || f.Status != c.status {
		t.Fatalf("fault %v %q %d (%q), want %v %q %d", f.Kind, f.Header, f.Status, f.Text, c.kind, c.header, c.status)
	}
}

func TestCheckNamesTheFaultOfEachMalformedRequest(t *testing.T) {
	cases := []faultCase{
		{"no To", request("SUBSCRIBE sip:701@h SIP/2.0", "-To"), FaultMissingHeader, "To", 400},
		{"no From", request("SUBSCRIBE sip:701@h SIP/2.0", "-From"), FaultMissingHeader, "From", 400},
		{"no Call-ID", request("SUBSCRIBE sip:701@h SIP/2.0", "-Call-ID"), FaultMissingHeader, "Call-ID", 400},
		{"no CSeq", request("OPTIONS sip:h SIP/2.0", "-CSeq"), FaultMissingHeader, "CSeq", 400},
		{"no Via", request("OPTIONS sip:h SIP/2.0", "-Via"), FaultMissingHeader, "Via", 400},
		{"no Max-Forwards", request("OPTIONS sip:h SIP/2.0", "-Max-Forwards"), FaultMissingHeader, "Max-Forwards", 400},
		{"two To", request("INVITE sip:701@h SIP/2.0", "To: <sip:701@h>\r\nTo: <sip:702@h>"), FaultBadHeader, "To", 400},
		{"two Call-ID", request("BYE sip:701@h SIP/2.0", "Call-ID: a\r\ni: b"), FaultBadHeader, "Call-ID", 400},
		{"two CSeq", request("BYE sip:701@h SIP/2.0", "CSeq: 1 BYE\r\nCSeq: 2 BYE"), FaultBadHeader, "CSeq", 400},
		{"To without host", request("INVITE sip:701@h SIP/2.0", "To: <sip:>"), FaultBadHeader, "To", 400},
		{"Via of another protocol", request("INVITE sip:701@h SIP/2.0", "Via: SIP/3.0/UDP h;branch=z9hG4bK1"), FaultBadHeader, "Via", 400},
		{"CSeq of another method", request("INVITE sip:701@h SIP/2.0", "CSeq: 1 BYE"), FaultCSeqMethod, "CSeq", 400},
		{"CSeq method in lower case", request("INVITE sip:701@h SIP/2.0", "CSeq: 1 invite"), FaultCSeqMethod, "CSeq", 400},
		{"SIP/9.9", request("OPTIONS sip:h SIP/9.9"), FaultVersion, "", 505},
		{"header name with a space", request("INVITE sip:701@h SIP/2.0", "Bad Name: x"), FaultBadHeader, "", 400},
		{"SIP/9.9 and no To", request("OPTIONS sip:h SIP/9.9", "-To"), FaultVersion, "", 505},
		{"tel Request-URI", request("INVITE tel:701 SIP/2.0"), FaultRequestURI, "", 400},
		{"Request-URI without host", request("INVITE sip:@ SIP/2.0"), FaultRequestURI, "", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := Check(parse(t, c.msg))
			if f == nil {
				t.Fatalf("passed:\n%s", c.msg)
			}
			c.want(t, f)
			if f.Text == "" || strings.ContainsAny(f.Text, "\"\r\n\\") {
				t.Fatalf("warning text %q", f.Text)
			}
		})
	}
}

func TestCheckRefusesAContentLengthLargerThanTheBody(t *testing.T) {
	req := parse(t, request("INVITE sip:701@h SIP/2.0", "\r\nv=0\r\n"))
	req.SetBody([]byte("v=0"))
	req.ReplaceHeader(ptrLength(10))
	f := Check(req)
	if f == nil || f.Kind != FaultContentLength {
		t.Fatalf("fault %+v, want content-length", f)
	}
}

func ptrLength(n uint32) *sip.ContentLengthHeader {
	h := sip.ContentLengthHeader(n)
	return &h
}

func TestFaultWarningHeader(t *testing.T) {
	f := missing("To")
	if got := f.WarningHeader("192.0.2.1:5070").Value(); got != `399 192.0.2.1:5070 "missing To header"` {
		t.Fatalf("Warning: %s", got)
	}
	if got := f.WarningHeader(`bad host"`).Value(); got != `399 - "missing To header"` {
		t.Fatalf("Warning with a bad host: %s", got)
	}
	if f.Reason() != "Bad Request" || faultVersion.Reason() != "Version Not Supported" {
		t.Fatalf("reasons %q %q", f.Reason(), faultVersion.Reason())
	}
	if FaultMissingHeader.String() != "missing-header" || FaultKind(200).String() != "unknown" {
		t.Fatalf("kind names %q %q", FaultMissingHeader, FaultKind(200))
	}
}

// TestDiagnoseNamesWhatSipgoCannotParse covers the datagrams sipgo's
// parser refuses: the gate must still say why.
func TestDiagnoseNamesWhatSipgoCannotParse(t *testing.T) {
	cases := []faultCase{
		{"Content-Length larger than the body", request("INVITE sip:701@h SIP/2.0", "Content-Length: 500", "\r\nv=0\r\n"), FaultContentLength, "Content-Length", 400},
		{"negative Content-Length", request("INVITE sip:701@h SIP/2.0", "Content-Length: -1"), FaultContentLength, "Content-Length", 400},
		{"unparseable To", request("INVITE sip:701@h SIP/2.0", "To: garbage"), FaultBadHeader, "To", 400},
		{"empty From", request("INVITE sip:701@h SIP/2.0", "From:"), FaultBadHeader, "From", 400},
		{"unparseable CSeq", request("INVITE sip:701@h SIP/2.0", "CSeq: x"), FaultBadHeader, "CSeq", 400},
		{"unparseable Via", request("INVITE sip:701@h SIP/2.0", "Via: x"), FaultBadHeader, "Via", 400},
		{"negative Max-Forwards", request("INVITE sip:701@h SIP/2.0", "Max-Forwards: -1"), FaultBadHeader, "Max-Forwards", 400},
		{"compact unparseable To", request("INVITE sip:701@h SIP/2.0", "-To", "t: <<"), FaultBadHeader, "To", 400},
		{"header line without colon", request("INVITE sip:701@h SIP/2.0", "Nonsense"), FaultBadHeader, "", 400},
		{"unparseable Request-URI", request("INVITE x SIP/2.0"), FaultRequestURI, "", 400},
		{"SIP/9.9 with a bad header", request("INVITE sip:701@h SIP/9.9", "To: garbage"), FaultVersion, "", 505},
		{"another protocol's version", []byte("INVITE sip:a@h HTTP/1.1\r\n\r\n"), FaultVersion, "", 505},
		{"no SIP version", []byte("OPTIONS sip:h \r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n\r\n"), FaultUnparseable, "", 400},
		{"no SIP version nor space", []byte("OPTIONS sip:h\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n"), FaultUnparseable, "", 400},
		{"no end of headers", []byte("OPTIONS sip:h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"), FaultTruncated, "", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := sip.ParseMessage(c.msg); err == nil {
				t.Fatalf("sipgo parses it; the case belongs to Check")
			}
			d := diagnose(c.msg)
			if !d.request {
				t.Fatal("not seen as a request")
			}
			f := d.fault
			c.want(t, f)
			res, err := sip.ParseMessage(d.response(f, "h"))
			if err != nil {
				t.Fatalf("the answer does not parse: %v\n%s", err, d.response(f, "h"))
			}
			r := res.(*sip.Response)
			if r.StatusCode != c.status || r.GetHeader("Warning") == nil || (r.Via() == nil) != (c.header == "Via" || !strings.Contains(string(c.msg), "Via:")) {
				t.Fatalf("answer:\n%s", r)
			}
		})
	}
	for _, junk := range []string{"", "hello", "SIP/2.0 200 OK\r\nVia: x\r\n\r\n", "\x00\x01\x02"} {
		if d := diagnose([]byte(junk)); d.request {
			t.Errorf("%q seen as a request", junk)
		}
	}
}

func parse(t testing.TB, b []byte) *sip.Request {
	t.Helper()
	m, err := sip.ParseMessage(b)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, b)
	}
	req, ok := m.(*sip.Request)
	if !ok {
		t.Fatalf("not a request:\n%s", b)
	}
	return req
}
