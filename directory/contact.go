package directory

import (
	"strings"
)

// Source says where a contact was read from.
type Source uint8

const (
	// SourceFile is a CSV or vCard file.
	SourceFile Source = iota + 1
	// SourceLDAP is the LDAP directory.
	SourceLDAP
)

// String names the source ("file", "ldap").
func (s Source) String() string {
	switch s {
	case SourceFile:
		return "file"
	case SourceLDAP:
		return "ldap"
	}
	return "unknown"
}

// Contact is one person (or a shared phone such as "Meeting room 2").
type Contact struct {
	// Name is the display name ("Eva Novák").
	Name string `json:"name"`
	// Extension is the internal number that reaches the person ("2104").
	Extension string `json:"extension,omitempty"`
	// URI is the person's SIP address ("sip:eva@pbx.example"), when known.
	URI string `json:"uri,omitempty"`
	// Department is the person's department or organisational unit.
	Department string `json:"department,omitempty"`
	// Mobile is the person's mobile number.
	Mobile string `json:"mobile,omitempty"`
	// Email is the person's e-mail address.
	Email string `json:"email,omitempty"`
	// Source is where the contact came from; after a merge, the source
	// whose fields won (LDAP before files).
	Source Source `json:"source"`
}

// Key is the contact's identity for de-duplication: its SIP URI without
// scheme and parameters, lower case, or else its extension.
func (c Contact) Key() string {
	if k := uriKey(c.URI); k != "" {
		return "uri:" + k
	}
	if c.Extension != "" {
		return "ext:" + c.Extension
	}
	return ""
}

// uriKey reduces a SIP URI to user@host in lower case: "sip:Eva@PBX;
// transport=tcp" and "<sips:eva@pbx>" are one person.
func uriKey(uri string) string {
	u := strings.TrimSpace(uri)
	u = strings.TrimPrefix(u, "<")
	if i := strings.IndexByte(u, '>'); i >= 0 {
		u = u[:i]
	}
	lower := strings.ToLower(u)
	for _, scheme := range []string{"sips:", "sip:"} {
		if strings.HasPrefix(lower, scheme) {
			lower = lower[len(scheme):]
			break
		}
	}
	if i := strings.IndexAny(lower, ";?"); i >= 0 {
		lower = lower[:i]
	}
	return lower
}

// normaliseURI gives a SIP URI its scheme when a file or LDAP attribute
// holds a bare "user@host".
func normaliseURI(uri string) string {
	u := strings.TrimSpace(uri)
	if u == "" {
		return ""
	}
	l := strings.ToLower(u)
	if strings.HasPrefix(l, "sip:") || strings.HasPrefix(l, "sips:") {
		return u
	}
	if strings.Contains(u, "@") {
		return "sip:" + u
	}
	return u
}

// fillFrom sets each empty field of c from o.
func (c *Contact) fillFrom(o Contact) {
	fill := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	fill(&c.Name, o.Name)
	fill(&c.Extension, o.Extension)
	fill(&c.URI, o.URI)
	fill(&c.Department, o.Department)
	fill(&c.Mobile, o.Mobile)
	fill(&c.Email, o.Email)
}

// Merge joins lists of contacts into one without duplicates: contacts with
// the same SIP URI (compared as user@host, case-insensitively) or, failing
// that, the same extension are one person. Where two disagree, the LDAP
// contact's fields win over a file's, and within one source the first
// contact's win; a field one of them lacks is taken from the other.
// Contacts with neither name, extension nor URI are dropped.
func Merge(lists ...[]Contact) []Contact {
	var ldap, file []Contact
	for _, l := range lists {
		for _, c := range l {
			if c.Source == SourceLDAP {
				ldap = append(ldap, c)
			} else {
				file = append(file, c)
			}
		}
	}
	out := make([]Contact, 0, len(ldap)+len(file))
	byKey := make(map[string]int, 2*(len(ldap)+len(file)))
	add := func(c Contact) {
		c.URI = normaliseURI(c.URI)
		c.Name = strings.TrimSpace(c.Name)
		c.Extension = strings.TrimSpace(c.Extension)
		if c.Name == "" && c.Extension == "" && c.URI == "" {
			return
		}
		var keys []string
		if k := uriKey(c.URI); k != "" {
			keys = append(keys, "uri:"+k)
		}
		if c.Extension != "" {
			keys = append(keys, "ext:"+c.Extension)
		}
		at := -1
		for _, k := range keys {
			if i, ok := byKey[k]; ok {
				at = i
				break
			}
		}
		if at < 0 {
			at = len(out)
			out = append(out, c)
		} else {
			out[at].fillFrom(c)
		}
		for _, k := range keys {
			if _, ok := byKey[k]; !ok {
				byKey[k] = at
			}
		}
	}
	for _, c := range ldap {
		add(c)
	}
	for _, c := range file {
		add(c)
	}
	return out
}
