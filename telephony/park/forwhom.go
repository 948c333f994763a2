package park

import (
	"encoding/base64"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"
)

// MaxNote is the longest note a park may carry, in characters
// (PARK-PROTOCOL.md: note=TEXT, at most 140 characters).
const MaxNote = 140

// maxFor bounds the for URI, as the service keeps it for the call's life
// and sends it on every lamp.
const maxFor = 256

// forWhom is whom a park is for and the parker's note, both optional.
type forWhom struct {
	uri  string // the colleague's AOR, e.g. sip:bob@example.com
	note string
}

// forWhomOf reads the for and note of a park's Request-URI:
//   - for=A, A the colleague's AOR percent-escaped like the parker
//     (bob%40example.com; "sip:" added when it has no scheme), or the
//     escape-free pair for-user=U;for-host=HOST (sip:U@HOST), which
//     survives a caller that eats percent escapes (baresip 1.0, see
//     parkerOf);
//   - note=TEXT, percent-escaped UTF-8, or note64=B, TEXT in unpadded
//     base64url (RFC 4648 §5): escape-free for the same reason.
//
// A value that does not decode, a for that is no sip, sips or tel URI,
// or a note over MaxNote characters or with control characters is
// refused: the reason is ReasonBadFor or ReasonBadNote, why says what is
// wrong.
func forWhomOf(u sip.Uri) (fw forWhom, reason Reason, why string) {
	if u.UriParams == nil {
		return fw, "", ""
	}
	get := func(k string) (string, bool) { return u.UriParams.Get(k) }
	if user, ok := get("for-user"); ok {
		host, _ := get("for-host")
		if user == "" || host == "" {
			return fw, ReasonBadFor, "for-user without for-host"
		}
		fw.uri = "sip:" + user + "@" + host
	} else if v, ok := get("for"); ok {
		a, err := url.PathUnescape(v)
		if err != nil {
			return fw, ReasonBadFor, "for is not percent-escaped"
		}
		if !strings.HasPrefix(a, "sip:") && !strings.HasPrefix(a, "sips:") && !strings.HasPrefix(a, "tel:") {
			a = "sip:" + a
		}
		fw.uri = a
	}
	if fw.uri != "" {
		if why := badFor(fw.uri); why != "" {
			return forWhom{}, ReasonBadFor, why
		}
	}
	var raw []byte
	if v, ok := get("note64"); ok {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil {
			return forWhom{}, ReasonBadNote, "note64 is not unpadded base64url"
		}
		raw = b
	} else if v, ok := get("note"); ok {
		s, err := url.PathUnescape(v)
		if err != nil {
			return forWhom{}, ReasonBadNote, "note is not percent-escaped"
		}
		raw = []byte(s)
	}
	if raw != nil {
		if why := badNote(raw); why != "" {
			return forWhom{}, ReasonBadNote, why
		}
		fw.note = string(raw)
	}
	return fw, "", ""
}

// badFor says what is wrong with a for URI; empty when nothing is.
func badFor(a string) string {
	if len(a) > maxFor {
		return "for is too long"
	}
	for _, r := range a {
		if r < 0x21 || r == 0x7f || r >= utf8.RuneSelf || strings.ContainsRune(`"<>\`, r) {
			return "for holds a character no URI may"
		}
	}
	var u sip.Uri
	if strings.HasPrefix(a, "tel:") {
		if len(a) == len("tel:") {
			return "for is an empty tel URI"
		}
		return ""
	}
	if err := sip.ParseUri(a, &u); err != nil || u.Host == "" {
		return "for is not a SIP URI"
	}
	return ""
}

// badNote says what is wrong with a note; empty when nothing is.
func badNote(b []byte) string {
	if !utf8.Valid(b) {
		return "note is not UTF-8"
	}
	if utf8.RuneCount(b) > MaxNote {
		return "note is longer than 140 characters"
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) {
			return "note holds a control character"
		}
	}
	return ""
}

// refuseForWhom answers a park whose for or note is bad: 400, with the
// reason and a Warning saying what is wrong.
func (s *Service) refuseForWhom(req *sip.Request, tx sip.ServerTransaction, reason Reason, why string) {
	s.event("refused", nil, "reason", why, "uri", req.Recipient.String())
	s.reply(req, tx, sip.StatusBadRequest, "Bad Request", sip.NewHeader("Warning", `399 park "`+why+`"`), reason.header())
}

// Headers of a retrieve's 200 (and a ring-back INVITE) naming whom the
// call was parked for and the parker's note.
const (
	ForHeader  = "X-Park-For"
	NoteHeader = "X-Park-Note"
)

// addForWhom puts X-Park-For and X-Park-Note on m where the park had
// them. The note is percent-escaped (UTF-8, RFC 3986 unreserved kept) so
// it stays one header line whatever it holds.
func addForWhom(m interface{ AppendHeader(sip.Header) }, c *parkedCall) {
	if c.forURI != "" {
		m.AppendHeader(sip.NewHeader(ForHeader, "<"+c.forURI+">"))
	}
	if c.note != "" {
		m.AppendHeader(sip.NewHeader(NoteHeader, EscapeNote(c.note)))
	}
}

// EscapeNote percent-escapes a note for X-Park-Note and the note URI
// parameter: every byte but RFC 3986's unreserved characters.
func EscapeNote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < utf8.RuneSelf && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}
