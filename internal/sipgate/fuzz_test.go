package sipgate

import (
	"bytes"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzCheck feeds arbitrary bytes to what the gate runs on untrusted
// input: sipgo's parser and Check for what parses, diagnose and its raw
// answer for what does not. None of it may panic; every fault has a
// status the gate answers with and a Warning text safe to quote; every
// answer the gate builds parses.
func FuzzCheck(f *testing.F) {
	f.Add(request("INVITE sip:701@127.0.0.1 SIP/2.0"))
	f.Add(request("SUBSCRIBE sip:701@h SIP/2.0", "-To"))
	f.Add(request("INVITE sip:701@h SIP/2.0", "Content-Length: 300", "\r\nv=0\r\n"))
	f.Add(request("OPTIONS sip:h SIP/9.9", "To: garbage"))
	g := New(nil, "127.0.0.1:5070")
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := sip.ParseMessage(data)
		if err == nil {
			req, ok := msg.(*sip.Request)
			if !ok {
				return
			}
			flt := Check(req)
			if flt == nil {
				return
			}
			checkFault(t, flt)
			if req.IsAck() {
				return
			}
			res := g.response(req, flt)
			if _, err := sip.ParseMessage([]byte(res.String())); err != nil {
				t.Fatalf("the answer does not parse: %v\n%s", err, res)
			}
			return
		}
		d := diagnose(data)
		if !d.request {
			return
		}
		checkFault(t, d.fault)
		raw := d.response(d.fault, "127.0.0.1:5070")
		if _, err := sip.ParseMessage(raw); err != nil {
			t.Fatalf("the raw answer does not parse: %v\n%q\nfrom\n%q", err, raw, data)
		}
		if bytes.Count(raw, []byte("\r\n\r\n")) != 1 || !bytes.HasSuffix(raw, []byte("\r\n\r\n")) {
			t.Fatalf("the raw answer is not one message:\n%q", raw)
		}
	})
}

func checkFault(t *testing.T, f *Fault) {
	t.Helper()
	if f == nil {
		t.Fatal("no fault for what sipgo refused")
	}
	switch f.Status {
	case 400, StatusVersionNotSupported, StatusMessageTooLarge:
	default:
		t.Fatalf("status %d", f.Status)
	}
	if f.Text == "" || strings.ContainsAny(f.Text, "\"\\\r\n") || f.Kind.String() == "unknown" {
		t.Fatalf("fault %+v", f)
	}
}
