package directory

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/emersion/go-vcard"
)

// ReadFile reads the contacts of a CSV or vCard file: a name ending in
// .vcf or .vcard, or content starting with BEGIN:VCARD, is vCard; anything
// else is CSV. Errors are *Error with ReasonFile.
func ReadFile(path string) ([]Contact, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Reason: ReasonFile, Op: "read " + path, Err: err}
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	ext := strings.ToLower(filepath.Ext(path))
	var cs []Contact
	if ext == ".vcf" || ext == ".vcard" || bytes.HasPrefix(bytes.ToUpper(bytes.TrimSpace(data)), []byte("BEGIN:VCARD")) {
		cs, err = ReadVCard(bytes.NewReader(data))
	} else {
		cs, err = ReadCSV(bytes.NewReader(data))
	}
	if err != nil {
		return nil, &Error{Reason: ReasonFile, Op: "read " + path, Err: err}
	}
	return cs, nil
}

// csvColumns maps a CSV header (folded, without spaces, dashes and
// underscores) to the field it fills.
var csvColumns = map[string]func(*Contact) *string{
	"name":        func(c *Contact) *string { return &c.Name },
	"displayname": func(c *Contact) *string { return &c.Name },
	"fullname":    func(c *Contact) *string { return &c.Name },
	"cn":          func(c *Contact) *string { return &c.Name },
	"extension":   func(c *Contact) *string { return &c.Extension },
	"ext":         func(c *Contact) *string { return &c.Extension },
	"phone":       func(c *Contact) *string { return &c.Extension },
	"telephone":   func(c *Contact) *string { return &c.Extension },
	"ipphone":     func(c *Contact) *string { return &c.Extension },
	"uri":         func(c *Contact) *string { return &c.URI },
	"sip":         func(c *Contact) *string { return &c.URI },
	"sipuri":      func(c *Contact) *string { return &c.URI },
	"sipaddress":  func(c *Contact) *string { return &c.URI },
	"department":  func(c *Contact) *string { return &c.Department },
	"dept":        func(c *Contact) *string { return &c.Department },
	"ou":          func(c *Contact) *string { return &c.Department },
	"mobile":      func(c *Contact) *string { return &c.Mobile },
	"cell":        func(c *Contact) *string { return &c.Mobile },
	"mobilephone": func(c *Contact) *string { return &c.Mobile },
	"email":       func(c *Contact) *string { return &c.Email },
	"mail":        func(c *Contact) *string { return &c.Email },
}

// headerKey is a CSV column name as looked up in csvColumns: "E-mail",
// "SIP URI" and "mobile_phone" become "email", "sipuri", "mobilephone".
func headerKey(h string) string {
	return strings.NewReplacer(" ", "", "-", "", "_", "", ".", "").Replace(fold(strings.TrimSpace(h)))
}

// ReadCSV reads contacts from CSV with a header row naming the columns
// (case-insensitively; unknown columns are ignored): name (or display
// name, full name, cn), extension (ext, phone, telephone, ipPhone), uri
// (sip, sip uri), department (dept, ou), mobile (cell) and email (mail,
// e-mail). Fields are separated by commas, or by semicolons when the
// header has semicolons and no commas (as spreadsheets write in many
// locales). A file needs a name, extension or uri column.
func ReadCSV(r io.Reader) ([]Contact, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(4096)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("csv: %w", err)
	}
	if bytes.HasPrefix(head, []byte("\ufeff")) {
		_, _ = br.Discard(len("\ufeff"))
		head = head[len("\ufeff"):]
	}
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	cr := csv.NewReader(br)
	if bytes.Contains(head, []byte(";")) && !bytes.Contains(head, []byte(",")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("csv: empty file, expected a header row")
	}
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	cols := make([]func(*Contact) *string, len(header))
	useful := false
	var probe Contact
	for i, h := range header {
		if f, ok := csvColumns[headerKey(h)]; ok {
			cols[i] = f
			if p := f(&probe); p == &probe.Name || p == &probe.Extension || p == &probe.URI {
				useful = true
			}
		}
	}
	if !useful {
		return nil, fmt.Errorf("csv: the header row %q has no name, extension or uri column", header)
	}
	var out []Contact
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("csv: %w", err)
		}
		c := Contact{Source: SourceFile}
		for i, v := range rec {
			if i < len(cols) && cols[i] != nil {
				if p := cols[i](&c); *p == "" {
					*p = strings.TrimSpace(v)
				}
			}
		}
		if c.Name != "" || c.Extension != "" || c.URI != "" {
			out = append(out, c)
		}
	}
}

// ReadVCard reads contacts from vCard 3.0 or 4.0: the name from FN (or N),
// the extension from a work TEL (or the first TEL that is not a cell,
// fax or home number), the mobile from a cell TEL, the SIP URI from
// IMPP or X-SIP (sip: values), the department from ORG's second part and
// the e-mail from EMAIL.
func ReadVCard(r io.Reader) ([]Contact, error) {
	dec := vcard.NewDecoder(r)
	var out []Contact
	for {
		card, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("vcard %d: %w", len(out)+1, err)
		}
		c := Contact{Source: SourceFile, Name: strings.TrimSpace(card.PreferredValue(vcard.FieldFormattedName))}
		if c.Name == "" {
			if n := card.Name(); n != nil {
				c.Name = strings.TrimSpace(strings.Join(strings.Fields(n.GivenName+" "+n.FamilyName), " "))
			}
		}
		var other string
		for _, f := range card[vcard.FieldTelephone] {
			v := strings.TrimSpace(strings.TrimPrefix(f.Value, "tel:"))
			switch {
			case f.Params.HasType(vcard.TypeCell):
				if c.Mobile == "" {
					c.Mobile = v
				}
			case f.Params.HasType(vcard.TypeWork) && !f.Params.HasType(vcard.TypeFax):
				if c.Extension == "" {
					c.Extension = v
				}
			case !f.Params.HasType(vcard.TypeFax) && !f.Params.HasType(vcard.TypeHome) && other == "":
				other = v
			}
		}
		if c.Extension == "" {
			c.Extension = other
		}
		for _, k := range []string{vcard.FieldIMPP, "X-SIP"} {
			for _, f := range card[k] {
				v := strings.TrimSpace(f.Value)
				l := strings.ToLower(v)
				if c.URI == "" && (strings.HasPrefix(l, "sip:") || strings.HasPrefix(l, "sips:") || k == "X-SIP") {
					c.URI = normaliseURI(v)
				}
			}
		}
		if org := card.PreferredValue(vcard.FieldOrganization); org != "" {
			parts := strings.Split(org, ";")
			if len(parts) > 1 {
				c.Department = strings.TrimSpace(parts[1])
			}
		}
		c.Email = strings.TrimSpace(card.PreferredValue(vcard.FieldEmail))
		if c.Name != "" || c.Extension != "" || c.URI != "" {
			out = append(out, c)
		}
	}
}
