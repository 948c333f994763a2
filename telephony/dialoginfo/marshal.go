package dialoginfo

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Marshal encodes d as a dialog-info document in UTF-8. Its text is pure
// ASCII: markup characters, tab, CR, LF and all non-ASCII characters in
// display names, URIs and ids are written as character references, and text
// that is not valid UTF-8 or not allowed in XML (other control characters)
// is replaced by U+FFFD. Marshal allocates once, for the result.
//
// Marshal returns an error wrapping [ErrInvalid] when d cannot be encoded as
// a valid document: an unknown document or dialog state or direction, an
// empty entity or dialog id, a negative duration or orbit, a code outside
// 100–699, a display name without an identity, or a park, return or
// ring-back time that is not representable in RFC 3339.
func Marshal(d Document) ([]byte, error) {
	if err := validate(&d); err != nil {
		return nil, err
	}
	b := make([]byte, 0, sizeHint(&d))
	b = append(b, `<?xml version="1.0"?><dialog-info xmlns="`+Namespace+`" version="`...)
	b = strconv.AppendUint(b, uint64(d.Version), 10)
	b = append(b, `" state="`...)
	b = append(b, d.State...)
	b = append(b, `" entity="`...)
	b = appendEscaped(b, d.Entity)
	b = append(b, `">`...)
	for i := range d.Dialogs {
		b = appendDialog(b, &d.Dialogs[i])
	}
	b = append(b, `</dialog-info>`...)
	return b, nil
}

func validate(d *Document) error {
	if d.State != StateFull && d.State != StatePartial {
		return fmt.Errorf("dialoginfo: marshal: document state %q: %w", d.State, ErrInvalid)
	}
	if d.Entity == "" {
		return fmt.Errorf("dialoginfo: marshal: empty entity: %w", ErrInvalid)
	}
	for i := range d.Dialogs {
		if err := validateDialog(&d.Dialogs[i]); err != nil {
			return fmt.Errorf("dialoginfo: marshal: dialog %d: %w", i, err)
		}
	}
	return nil
}

func validateDialog(dl *Dialog) error {
	if dl.ID == "" {
		return fmt.Errorf("empty id: %w", ErrInvalid)
	}
	if !validDialogState(dl.State) {
		return fmt.Errorf("state %q: %w", dl.State, ErrInvalid)
	}
	switch dl.Direction {
	case "", DirectionInitiator, DirectionRecipient:
	default:
		return fmt.Errorf("direction %q: %w", dl.Direction, ErrInvalid)
	}
	if dl.Code != 0 && !validCode(dl.Code) {
		return fmt.Errorf("code %d: %w", dl.Code, ErrInvalid)
	}
	if dl.Duration < 0 {
		return fmt.Errorf("negative duration %d: %w", dl.Duration, ErrInvalid)
	}
	if p := dl.Local; p != nil && p.Display != "" && p.Identity == "" {
		return fmt.Errorf("local display name without identity: %w", ErrInvalid)
	}
	if p := dl.Remote; p != nil && p.Display != "" && p.Identity == "" {
		return fmt.Errorf("remote display name without identity: %w", ErrInvalid)
	}
	if pk := dl.Park; pk != nil {
		if pk.Orbit < 0 {
			return fmt.Errorf("negative orbit %d: %w", pk.Orbit, ErrInvalid)
		}
		if !representable(pk.ParkedAt) {
			return fmt.Errorf("park time %v not representable in RFC 3339: %w", pk.ParkedAt, ErrInvalid)
		}
		if !representable(pk.ReturnedAt) {
			return fmt.Errorf("return time %v not representable in RFC 3339: %w", pk.ReturnedAt, ErrInvalid)
		}
	}
	if rb := dl.Ringback; rb != nil && !representable(rb.Since) {
		return fmt.Errorf("ring-back time %v not representable in RFC 3339: %w", rb.Since, ErrInvalid)
	}
	return nil
}

// representable reports whether t is zero (left out) or has a year RFC
// 3339 can write.
func representable(t time.Time) bool {
	if t.IsZero() {
		return true
	}
	y := t.UTC().Year()
	return y >= 0 && y <= 9999
}

func validDialogState(s string) bool {
	switch s {
	case DialogTrying, DialogProceeding, DialogEarly, DialogConfirmed, DialogTerminated:
		return true
	}
	return false
}

func validCode(c int) bool { return c >= 100 && c <= 699 }

// sizeHint estimates the encoded size of d so that Marshal usually allocates
// once; escaping may still grow the buffer.
func sizeHint(d *Document) int {
	n := 128 + len(d.Entity)
	for i := range d.Dialogs {
		dl := &d.Dialogs[i]
		n += 128 + len(dl.ID) + len(dl.CallID) + len(dl.LocalTag) + len(dl.RemoteTag) + len(dl.Event)
		for _, p := range [2]*Participant{dl.Local, dl.Remote} {
			if p != nil {
				n += 80 + len(p.Identity) + len(p.Display) + len(p.Target)
			}
		}
		if dl.Park != nil {
			n += 160 + len(dl.Park.Parker) + len(dl.Park.RetrievedBy) + len(dl.Park.For) + 6*len(dl.Park.Note)
		}
		if dl.Ringback != nil {
			n += 128 + len(dl.Ringback.Target)
		}
	}
	return n
}

func appendDialog(b []byte, dl *Dialog) []byte {
	b = append(b, `<dialog id="`...)
	b = appendEscaped(b, dl.ID)
	b = append(b, '"')
	b = appendAttr(b, " call-id", dl.CallID)
	b = appendAttr(b, " local-tag", dl.LocalTag)
	b = appendAttr(b, " remote-tag", dl.RemoteTag)
	b = appendAttr(b, " direction", dl.Direction)
	b = append(b, `><state`...)
	b = appendAttr(b, " event", dl.Event)
	if dl.Code != 0 {
		b = append(b, ` code="`...)
		b = strconv.AppendInt(b, int64(dl.Code), 10)
		b = append(b, '"')
	}
	b = append(b, '>')
	b = append(b, dl.State...)
	b = append(b, `</state>`...)
	if dl.Duration > 0 {
		b = append(b, `<duration>`...)
		b = strconv.AppendInt(b, int64(dl.Duration), 10)
		b = append(b, `</duration>`...)
	}
	// RFC 4235 orders local before remote, and extensions last.
	b = appendParticipant(b, "local", dl.Local)
	b = appendParticipant(b, "remote", dl.Remote)
	if pk := dl.Park; pk != nil {
		b = append(b, `<sb:park xmlns:sb="`+ParkNamespace+`"`...)
		if pk.Orbit > 0 {
			b = append(b, ` orbit="`...)
			b = strconv.AppendInt(b, int64(pk.Orbit), 10)
			b = append(b, '"')
		}
		b = appendAttr(b, " parker", pk.Parker)
		b = appendTime(b, " parked-at", pk.ParkedAt)
		b = appendAttr(b, " retrieved-by", pk.RetrievedBy)
		b = appendTime(b, " returned-at", pk.ReturnedAt)
		b = appendAttr(b, " for", pk.For)
		b = appendAttr(b, " note", pk.Note)
		b = append(b, `/>`...)
	}
	if rb := dl.Ringback; rb != nil {
		b = append(b, `<sb:ringback xmlns:sb="`+ParkNamespace+`"`...)
		b = appendAttr(b, " target", rb.Target)
		b = appendTime(b, " since", rb.Since)
		if rb.Fallback {
			b = append(b, ` fallback="true"`...)
		}
		b = append(b, `/>`...)
	}
	return append(b, `</dialog>`...)
}

// appendTime appends name="t" in RFC 3339, UTC, to the second, when t is
// not zero; name includes the leading space.
func appendTime(b []byte, name string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, name...)
	b = append(b, `="`...)
	b = t.UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

func appendParticipant(b []byte, name string, p *Participant) []byte {
	if p == nil {
		return b
	}
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	if p.Identity != "" {
		b = append(b, `<identity`...)
		b = appendAttr(b, " display", p.Display)
		b = append(b, '>')
		b = appendEscaped(b, p.Identity)
		b = append(b, `</identity>`...)
	}
	if p.Target != "" {
		b = append(b, `<target uri="`...)
		b = appendEscaped(b, p.Target)
		b = append(b, `"/>`...)
	}
	b = append(b, `</`...)
	b = append(b, name...)
	return append(b, '>')
}

// appendAttr appends name="value" when value is not empty; name includes
// the leading space.
func appendAttr(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, name...)
	b = append(b, `="`...)
	b = appendEscaped(b, value)
	return append(b, '"')
}

const hexDigits = "0123456789ABCDEF"

// appendEscaped appends s escaped for use in both XML character data and
// double- or single-quoted attribute values, in pure ASCII: markup
// characters, tab, CR and LF (which attribute normalization would
// otherwise turn into spaces) and every non-ASCII character become character
// references; invalid UTF-8 and characters XML forbids become U+FFFD.
func appendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf && c >= 0x20 && c != '"' && c != '\'' && c != '&' && c != '<' && c != '>' {
			i++
			continue
		}
		b = append(b, s[last:i]...)
		r, width := rune(c), 1
		if c >= utf8.RuneSelf {
			r, width = utf8.DecodeRuneInString(s[i:])
		}
		i += width
		last = i
		switch r {
		case '"':
			b = append(b, "&quot;"...)
		case '\'':
			b = append(b, "&apos;"...)
		case '&':
			b = append(b, "&amp;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		default:
			if !xmlChar(r) {
				r = utf8.RuneError
			}
			b = append(b, "&#x"...)
			b = appendHex(b, uint32(r))
			b = append(b, ';')
		}
	}
	return append(b, s[last:]...)
}

func appendHex(b []byte, v uint32) []byte {
	var buf [8]byte
	i := len(buf)
	for {
		i--
		buf[i] = hexDigits[v&0xF]
		v >>= 4
		if v == 0 {
			break
		}
	}
	return append(b, buf[i:]...)
}

// xmlChar reports whether r is allowed in an XML 1.0 document (the Char
// production).
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
