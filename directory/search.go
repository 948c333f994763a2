package directory

import (
	"sort"
	"strings"
)

// sep separates the fields of an entry's search text; it is not a letter
// or a digit, so each field starts a word, and no term contains it.
const sep = "\x1f"

// entry is a contact with the text it is searched by.
type entry struct {
	c Contact
	// name is the folded display name, the sort key.
	name string
	// text is every searched field, folded, joined by sep: name,
	// extension, URI, department, mobile, and the digits of the numbers.
	text string
}

// Index is an immutable, searchable set of contacts, sorted by name. It
// is safe for use by several goroutines.
type Index struct {
	entries []entry
}

// displayName is what a contact is listed as: its name, or failing that
// its extension or URI.
func displayName(c Contact) string {
	switch {
	case c.Name != "":
		return c.Name
	case c.Extension != "":
		return c.Extension
	}
	return c.URI
}

// NewIndex builds the index of contacts (which it does not keep).
func NewIndex(contacts []Contact) *Index {
	ix := &Index{entries: make([]entry, len(contacts))}
	for i, c := range contacts {
		name := fold(displayName(c))
		parts := []string{name, fold(c.Extension), fold(c.URI), fold(c.Department), fold(c.Mobile)}
		if d := digits(c.Mobile); d != "" && d != c.Mobile {
			parts = append(parts, d)
		}
		if d := digits(c.Extension); d != "" && d != c.Extension {
			parts = append(parts, d)
		}
		ix.entries[i] = entry{c: c, name: name, text: strings.Join(parts, sep)}
	}
	sort.SliceStable(ix.entries, func(i, j int) bool {
		a, b := &ix.entries[i], &ix.entries[j]
		if a.name != b.name {
			return a.name < b.name
		}
		return a.c.Extension < b.c.Extension
	})
	return ix
}

// Len is the number of contacts in the index.
func (ix *Index) Len() int {
	if ix == nil {
		return 0
	}
	return len(ix.entries)
}

// Contacts returns every contact, sorted by name.
func (ix *Index) Contacts() []Contact {
	return ix.Search("", 0)
}

// rank orders matches: lower is better.
type rank uint8

const (
	// rankPrefix: the name (or the extension) starts with the whole query.
	rankPrefix rank = iota
	// rankWords: every term of the query starts a word.
	rankWords
	// rankSubstring: every term is found somewhere.
	rankSubstring
	nRanks
)

// Search returns the contacts matching query, best first, at most limit
// of them (all when limit <= 0). The query is folded like the contacts
// (case and diacritics do not matter) and split into terms at spaces;
// every term must be found in the contact's name, extension, SIP URI,
// department or mobile number (a number's digits match without its
// spaces and dashes). Contacts whose name or extension starts with the
// query come first, then those where every term starts a word ("nov"
// finds "Eva Novák"), then those where a term is only inside a word
// ("vak"); within each, contacts are in name order. An empty query
// matches every contact.
func (ix *Index) Search(query string, limit int) []Contact {
	if ix == nil {
		return nil
	}
	q := strings.Join(strings.Fields(fold(query)), " ")
	if q == "" {
		n := len(ix.entries)
		if limit > 0 && limit < n {
			n = limit
		}
		out := make([]Contact, n)
		for i := range out {
			out[i] = ix.entries[i].c
		}
		return out
	}
	terms := strings.Split(q, " ")
	var buckets [nRanks][]int32
	for i := range ix.entries {
		if r, ok := ix.entries[i].match(q, terms); ok {
			buckets[r] = append(buckets[r], int32(i))
			if limit > 0 && r == rankPrefix && len(buckets[r]) >= limit {
				break
			}
		}
	}
	n := 0
	for _, b := range buckets {
		n += len(b)
	}
	if limit > 0 && n > limit {
		n = limit
	}
	out := make([]Contact, 0, n)
	for _, b := range buckets {
		for _, i := range b {
			if len(out) == n {
				return out
			}
			out = append(out, ix.entries[i].c)
		}
	}
	return out
}

// match reports whether e matches the folded query q (split into terms),
// and how well.
func (e *entry) match(q string, terms []string) (rank, bool) {
	if strings.HasPrefix(e.name, q) || strings.HasPrefix(e.c.Extension, q) {
		return rankPrefix, true
	}
	r := rankWords
	for _, t := range terms {
		switch findTerm(e.text, t) {
		case notFound:
			return 0, false
		case inWord:
			r = rankSubstring
		}
	}
	return r, true
}

// found says where a term was found.
type found uint8

const (
	notFound found = iota
	inWord
	atWordStart
)

// findTerm looks for t in text, preferring a place where a word starts.
func findTerm(text, t string) found {
	res := notFound
	for off := 0; off <= len(text)-len(t); {
		i := strings.Index(text[off:], t)
		if i < 0 {
			break
		}
		if isWordStart(text, off+i) {
			return atWordStart
		}
		res = inWord
		off += i + 1
	}
	return res
}
