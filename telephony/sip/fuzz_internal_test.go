package sip

import (
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzSipfrag checks the status line of a REFER's NOTIFY sipfrag: no
// panic, and a code only where the line is a SIP status line whose code
// is a real status (100-699), written as the line has it.
func FuzzSipfrag(f *testing.F) {
	for _, s := range []string{"SIP/2.0 200 OK", "SIP/2.0 100 Trying\r", "SIP/2.0 503 Service Unavailable",
		"SIP/2.0 99999999999999999999 X", "SIP/2.0 -200 OK", "SIP/2.0 +200 OK", "SIP/2.0", "", "HTTP/1.1 200 OK",
		"SIP/2.0 0200 OK", "SIP/2.0 2OO OK", "SIP/2.0\t180\tRinging", "SIP/2.0 700 Nope", "\x00SIP/2.0 200"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		code := sipfragCode(line)
		if code == 0 {
			return
		}
		if code < 100 || code > 699 {
			t.Fatalf("%q: code %d", line, code)
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || !strings.HasPrefix(fields[0], "SIP/") {
			t.Fatalf("%q is no status line, yet code %d", line, code)
		}
		if n, err := strconv.Atoi(fields[1]); err != nil || n != code {
			t.Fatalf("%q: code %d from %q", line, code, fields[1])
		}
	})
}

// FuzzInfoDTMF checks the DTMF of a SIP INFO: no panic, and a digit only
// of the sixteen DTMF keys, from the two content types it reads.
func FuzzInfoDTMF(f *testing.F) {
	for _, c := range []struct{ ct, body string }{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"},
		{"application/dtmf-relay; charset=x", "signal = 11\r\n"},
		{"application/dtmf-relay", "Signal=99999999999999999999\r\n"},
		{"application/dtmf-relay", "Signal=\x00\r\n"},
		{"application/dtmf-relay", "Duration=160\r\nSignal=*"},
		{"APPLICATION/DTMF", " # "},
		{"application/dtmf", "10"},
		{"application/dtmf", "-1"},
		{"application/dtmf", "ab"},
		{"text/plain", "5"},
		{"", ""},
	} {
		f.Add(c.ct, []byte(c.body))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		d, ok := parseInfoDTMF(ct, body)
		if !ok {
			if d != 0 {
				t.Fatalf("refused with digit %q", d)
			}
			return
		}
		if !strings.ContainsRune("0123456789*#ABCD", d) {
			t.Fatalf("%q %q: digit %q", ct, body, d)
		}
		base, _, _ := strings.Cut(ct, ";")
		switch strings.ToLower(strings.TrimSpace(base)) {
		case "application/dtmf-relay", "application/dtmf":
		default:
			t.Fatalf("a digit from content type %q", ct)
		}
	})
}

// FuzzIdentity checks the From/To parser the console shows callers
// with: no panic; what it accepts has a URI that parses again. (sipgo's
// URI printing is not stable for odd user parts: "sip:0::@0" prints as
// "sip:0:@0", which prints as "sip:0@0"; seeds e4d9a862396ee1c9 and
// ecab032f42d99077. That is sipgo's, and telephony.SameParty copes.)
func FuzzIdentity(f *testing.F) {
	for _, s := range []string{`"Alice" <sip:alice@127.0.0.1:5060>;tag=1`, "sip:bob@example.org", "<sip:x@[::1]:5060;transport=tcp>",
		`"Zoë 😀" <sip:zoe@h>`, "\"\xff\xfe\" <sip:a@h>", `"unterminated <sip:a@h>`, "<sip:@h>", "<sip:a@>", "tel:+15551234",
		"<sips:a@h?Call-ID=x>", `Alice <sip:alice@h>`, "", "<>", `"\" <sip:a@h>`, "sip:a@h;" + strings.Repeat("p=q;", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		name, uri, ok := parseIdentity(v)
		if !ok {
			if name != "" || uri != "" {
				t.Fatalf("%q refused with %q %q", v, name, uri)
			}
			return
		}
		if uri == "" {
			t.Fatalf("%q accepted with no URI", v)
		}
		// It parses again; its host may come out empty or odd, since
		// sipgo takes whatever follows the @ for a host: "<sip:@@>" is
		// accepted as "sip:@" (seed 531c248ccf5d8a66), "sip:>" as a URI
		// with the host ">" (seed 76d12bb4693cc7ba).
		var u sip.Uri
		if err := sip.ParseUri(uri, &u); err != nil {
			t.Fatalf("%q: URI %q does not parse again: %v", v, uri, err)
		}
	})
}
