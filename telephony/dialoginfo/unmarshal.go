package dialoginfo

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Unmarshal decodes a dialog-info document. It accepts the documents of
// other implementations as they are found on the wire (see the package
// documentation), such as Asterisk's
//
//	<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:701@pbx"><dialog id="701"><state>confirmed</state></dialog></dialog-info>
//
// Document and dialog states and directions are returned in lower case;
// URIs and element text are returned with surrounding white space removed.
//
// Errors say what was wrong and where; an error for malformed XML wraps the
// [*xml.SyntaxError] (or the charset error), and an error for a well-formed
// but invalid document wraps [ErrInvalid].
func Unmarshal(b []byte) (Document, error) {
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF")) // a UTF-8 byte order mark
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.CharsetReader = charsetReader

	doc, err := decode(dec)
	if err != nil {
		return Document{}, fmt.Errorf("dialoginfo: unmarshal: %w", err)
	}
	return doc, nil
}

func decode(dec *xml.Decoder) (Document, error) {
	root, err := rootElement(dec)
	if err != nil {
		return Document{}, err
	}
	doc, err := decodeDocument(dec, root)
	if err != nil {
		return Document{}, err
	}
	if err := trailer(dec); err != nil {
		return Document{}, err
	}
	return doc, nil
}

// token returns the next token, or an error naming what was being read.
func token(dec *xml.Decoder, what string) (xml.Token, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: unexpected end of document: %w", what, io.ErrUnexpectedEOF)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: malformed XML: %w", what, err)
	}
	return tok, nil
}

// rootElement skips the prolog and returns the root element, which must be
// dialog-info.
func rootElement(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return xml.StartElement{}, fmt.Errorf("empty document: %w", ErrInvalid)
		}
		if err != nil {
			return xml.StartElement{}, fmt.Errorf("malformed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if !isDI(t.Name, "dialog-info") {
				return xml.StartElement{}, fmt.Errorf("root element %s, want dialog-info: %w", fmtName(t.Name), ErrInvalid)
			}
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return xml.StartElement{}, fmt.Errorf("text before the root element: %w", ErrInvalid)
			}
		}
	}
}

// trailer checks that nothing but white space, comments and processing
// instructions follows the root element.
func trailer(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("after the root element: malformed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return fmt.Errorf("element %s after the root element: %w", fmtName(t.Name), ErrInvalid)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return fmt.Errorf("text after the root element: %w", ErrInvalid)
			}
		}
	}
}

func decodeDocument(dec *xml.Decoder, root xml.StartElement) (Document, error) {
	var doc Document
	var haveVersion, haveState bool
	for _, a := range root.Attr {
		if a.Name.Space != "" {
			continue
		}
		switch a.Name.Local {
		case "version":
			v, err := strconv.ParseUint(strings.TrimSpace(a.Value), 10, 32)
			if err != nil {
				return Document{}, fmt.Errorf("dialog-info version %q: %w", a.Value, ErrInvalid)
			}
			doc.Version, haveVersion = uint32(v), true
		case "state":
			s := strings.ToLower(strings.TrimSpace(a.Value))
			if s != StateFull && s != StatePartial {
				return Document{}, fmt.Errorf("dialog-info state %q: %w", a.Value, ErrInvalid)
			}
			doc.State, haveState = s, true
		case "entity":
			doc.Entity = strings.TrimSpace(a.Value)
		}
	}
	if !haveVersion {
		return Document{}, fmt.Errorf("dialog-info has no version: %w", ErrInvalid)
	}
	if !haveState {
		return Document{}, fmt.Errorf("dialog-info has no state: %w", ErrInvalid)
	}
	for {
		tok, err := token(dec, "dialog-info")
		if err != nil {
			return Document{}, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return doc, nil
		case xml.StartElement:
			if !isDI(t.Name, "dialog") {
				if err := skip(dec, t); err != nil {
					return Document{}, err
				}
				continue
			}
			dl, err := decodeDialog(dec, t)
			if err != nil {
				return Document{}, fmt.Errorf("dialog %d: %w", len(doc.Dialogs), err)
			}
			doc.Dialogs = append(doc.Dialogs, dl)
		}
	}
}

func decodeDialog(dec *xml.Decoder, start xml.StartElement) (Dialog, error) {
	var dl Dialog
	for _, a := range start.Attr {
		if a.Name.Space != "" {
			continue
		}
		switch a.Name.Local {
		case "id":
			dl.ID = a.Value
		case "call-id":
			dl.CallID = a.Value
		case "local-tag":
			dl.LocalTag = a.Value
		case "remote-tag":
			dl.RemoteTag = a.Value
		case "direction":
			dl.Direction = strings.ToLower(strings.TrimSpace(a.Value))
		}
	}
	var haveState bool
	for {
		tok, err := token(dec, "dialog")
		if err != nil {
			return Dialog{}, err
		}
		var t xml.StartElement
		switch tt := tok.(type) {
		case xml.EndElement:
			if !haveState {
				return Dialog{}, fmt.Errorf("no state: %w", ErrInvalid)
			}
			return dl, nil
		case xml.StartElement:
			t = tt
		default:
			continue
		}
		switch {
		case isDI(t.Name, "state"):
			if err := decodeState(dec, t, &dl); err != nil {
				return Dialog{}, err
			}
			haveState = true
		case isDI(t.Name, "duration"):
			s, err := text(dec, "duration")
			if err != nil {
				return Dialog{}, err
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return Dialog{}, fmt.Errorf("duration %q: %w", s, ErrInvalid)
			}
			dl.Duration = n
		case isDI(t.Name, "local"):
			if dl.Local, err = decodeParticipant(dec, "local"); err != nil {
				return Dialog{}, err
			}
		case isDI(t.Name, "remote"):
			if dl.Remote, err = decodeParticipant(dec, "remote"); err != nil {
				return Dialog{}, err
			}
		case t.Name.Space == ParkNamespace && t.Name.Local == "park":
			if dl.Park, err = decodePark(t); err != nil {
				return Dialog{}, err
			}
			if err := skip(dec, t); err != nil {
				return Dialog{}, err
			}
		case t.Name.Space == ParkNamespace && t.Name.Local == "ringback":
			if dl.Ringback, err = decodeRingback(t); err != nil {
				return Dialog{}, err
			}
			if err := skip(dec, t); err != nil {
				return Dialog{}, err
			}
		default:
			if err := skip(dec, t); err != nil {
				return Dialog{}, err
			}
		}
	}
}

func decodeState(dec *xml.Decoder, start xml.StartElement, dl *Dialog) error {
	for _, a := range start.Attr {
		if a.Name.Space != "" {
			continue
		}
		switch a.Name.Local {
		case "event":
			dl.Event = strings.TrimSpace(a.Value)
		case "code":
			c, err := strconv.Atoi(strings.TrimSpace(a.Value))
			if err != nil || !validCode(c) {
				return fmt.Errorf("state code %q: %w", a.Value, ErrInvalid)
			}
			dl.Code = c
		}
	}
	s, err := text(dec, "state")
	if err != nil {
		return err
	}
	s = strings.ToLower(s)
	if !validDialogState(s) {
		return fmt.Errorf("state %q: %w", s, ErrInvalid)
	}
	dl.State = s
	return nil
}

func decodeParticipant(dec *xml.Decoder, what string) (*Participant, error) {
	p := new(Participant)
	for {
		tok, err := token(dec, what)
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return p, nil
		case xml.StartElement:
			switch {
			case isDI(t.Name, "identity"):
				p.Display = attr(t, "display")
				if p.Identity, err = text(dec, what+" identity"); err != nil {
					return nil, err
				}
			case isDI(t.Name, "target"):
				p.Target = strings.TrimSpace(attr(t, "uri"))
				if err := skip(dec, t); err != nil { // <param> children
					return nil, err
				}
			default:
				if err := skip(dec, t); err != nil {
					return nil, err
				}
			}
		}
	}
}

func decodePark(start xml.StartElement) (*ParkInfo, error) {
	pk := new(ParkInfo)
	for _, a := range start.Attr {
		if a.Name.Space != "" {
			continue
		}
		v := strings.TrimSpace(a.Value)
		switch a.Name.Local {
		case "orbit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("park orbit %q: %w", a.Value, ErrInvalid)
			}
			pk.Orbit = n
		case "parker":
			pk.Parker = v
		case "retrieved-by":
			pk.RetrievedBy = v
		case "for":
			pk.For = v
		case "note":
			pk.Note = v
		case "parked-at":
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, fmt.Errorf("park parked-at %q: %w", a.Value, ErrInvalid)
			}
			pk.ParkedAt = t
		case "returned-at":
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, fmt.Errorf("park returned-at %q: %w", a.Value, ErrInvalid)
			}
			pk.ReturnedAt = t
		}
	}
	return pk, nil
}

func decodeRingback(start xml.StartElement) (*Ringback, error) {
	rb := new(Ringback)
	for _, a := range start.Attr {
		if a.Name.Space != "" {
			continue
		}
		v := strings.TrimSpace(a.Value)
		switch a.Name.Local {
		case "target":
			rb.Target = v
		case "since":
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, fmt.Errorf("ringback since %q: %w", a.Value, ErrInvalid)
			}
			rb.Since = t
		case "fallback":
			f, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("ringback fallback %q: %w", a.Value, ErrInvalid)
			}
			rb.Fallback = f
		}
	}
	return rb, nil
}

// text returns the character data of the element just started, trimmed,
// skipping any child elements.
func text(dec *xml.Decoder, what string) (string, error) {
	var buf []byte
	for {
		tok, err := token(dec, what)
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			buf = append(buf, t...)
		case xml.StartElement:
			if err := skip(dec, t); err != nil {
				return "", err
			}
		case xml.EndElement:
			return string(bytes.TrimSpace(buf)), nil
		}
	}
}

// skip skips the element just started, including its children.
func skip(dec *xml.Decoder, start xml.StartElement) error {
	if err := dec.Skip(); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("in element %s: malformed XML: %w", fmtName(start.Name), err)
	}
	return nil
}

// attr returns the value of the unqualified attribute name, or "".
func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// isDI reports whether n is the dialog-info element local. Elements without
// a namespace are accepted too, for senders that leave out xmlns.
func isDI(n xml.Name, local string) bool {
	return n.Local == local && (n.Space == Namespace || n.Space == "")
}

func fmtName(n xml.Name) string {
	if n.Space == "" {
		return "<" + n.Local + ">"
	}
	return "<" + n.Local + "> in namespace " + strconv.Quote(n.Space)
}
