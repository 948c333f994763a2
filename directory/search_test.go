package directory

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func names(cs []Contact) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

var people = []Contact{
	{Name: "Eva Novák", Extension: "2104", URI: "sip:eva@pbx.example", Department: "Accounts", Mobile: "+44 7700 900123", Source: SourceLDAP},
	{Name: "Bob Chen", Extension: "2105", URI: "sip:bob@pbx.example", Department: "Sales", Source: SourceLDAP},
	{Name: "Jürgen Groß", Extension: "2200", Department: "Geschäftsführung", Source: SourceFile},
	{Name: "Ivanova Petra", Extension: "2300", Department: "Support", Source: SourceFile},
	{Name: "Søren Ørsted", Extension: "3100", Department: "Logistics", Source: SourceFile},
	{Name: "Chenoweth Ann", Extension: "3200", Department: "Sales", Source: SourceFile},
	{Name: "Zoë Salesworth", Extension: "3300", Department: "Marketing", Source: SourceFile},
}

func TestSearch(t *testing.T) {
	ix := NewIndex(people)
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"novak", []string{"Eva Novák"}},
		{"NOVÁK", []string{"Eva Novák"}},
		{"eva n", []string{"Eva Novák"}},
		{"nov eva", []string{"Eva Novák"}},
		{"gross", []string{"Jürgen Groß"}},
		{"jurgen", []string{"Jürgen Groß"}},
		{"geschaftsf", []string{"Jürgen Groß"}},
		{"soren orsted", []string{"Søren Ørsted"}},
		{"zoe", []string{"Zoë Salesworth"}},
		// the name starts with the query, then word starts in name order,
		// then inside words (Ivanova has "nova" inside).
		{"nova", []string{"Eva Novák", "Ivanova Petra"}},
		{"chen", []string{"Chenoweth Ann", "Bob Chen"}},
		{"sales", []string{"Bob Chen", "Chenoweth Ann", "Zoë Salesworth"}},
		{"2104", []string{"Eva Novák"}},
		{"21", []string{"Bob Chen", "Eva Novák"}},
		{"7700900", []string{"Eva Novák"}},
		{"900123", []string{"Eva Novák"}},
		{"bob@pbx", []string{"Bob Chen"}},
		{"support", []string{"Ivanova Petra"}},
		{"nobody", []string{}},
		{"eva sales", []string{}},
	} {
		got := names(ix.Search(tc.q, 0))
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Search(%q) = %q, want %q", tc.q, got, tc.want)
		}
	}
	if got := ix.Search("", 0); len(got) != len(people) || got[0].Name != "Bob Chen" {
		t.Errorf("empty query: %q, want all, in name order", names(got))
	}
	if got := names(ix.Search("", 2)); !reflect.DeepEqual(got, []string{"Bob Chen", "Chenoweth Ann"}) {
		t.Errorf("limit 2: %q", got)
	}
	if got := names(ix.Search("chen", 1)); !reflect.DeepEqual(got, []string{"Chenoweth Ann"}) {
		t.Errorf("limit 1 keeps the best: %q", got)
	}
	if got := names(ix.Search("sales", 2)); !reflect.DeepEqual(got, []string{"Bob Chen", "Chenoweth Ann"}) {
		t.Errorf("limit 2 over ranks: %q", got)
	}
}

func TestMerge(t *testing.T) {
	file := []Contact{
		{Name: "E. Novak", Extension: "2104", Mobile: "+44 7700 900999", Email: "eva@example.com", Source: SourceFile},
		{Name: "Bob", URI: "BOB@pbx.example;transport=tcp", Department: "Sales floor", Source: SourceFile},
		{Name: "Reception", Extension: "2000", Source: SourceFile},
		{Name: "Reception dup", Extension: "2000", Department: "Front", Source: SourceFile},
		{Source: SourceFile},
	}
	ldap := []Contact{
		{Name: "Eva Novák", Extension: "2104", URI: "sip:eva@pbx.example", Department: "Accounts", Source: SourceLDAP},
		{Name: "Bob Chen", Extension: "2105", URI: "sip:bob@pbx.example", Source: SourceLDAP},
	}
	got := Merge(file, ldap)
	want := []Contact{
		{Name: "Eva Novák", Extension: "2104", URI: "sip:eva@pbx.example", Department: "Accounts", Mobile: "+44 7700 900999", Email: "eva@example.com", Source: SourceLDAP},
		{Name: "Bob Chen", Extension: "2105", URI: "sip:bob@pbx.example", Department: "Sales floor", Source: SourceLDAP},
		{Name: "Reception", Extension: "2000", Department: "Front", Source: SourceFile},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Merge:\n got %+v\nwant %+v", got, want)
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Eva Novák": "eva novak", "ŁÓDŹ": "lodz", "Ørsted": "orsted", "Straße": "strasse",
		"Ærø": "aero", "François": "francois", "Zoë": "zoe", "ASCII": "ascii", "Ελένη": "ελενη",
	} {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// generated returns n contacts with varied names, some with accents.
func generated(n int) []Contact {
	first := []string{"Eva", "Bob", "Jürgen", "Søren", "Zoë", "Anna", "Łukasz", "François", "Mia", "Ólafur", "Chen", "Priya", "José", "Agnieszka", "Tomás"}
	last := []string{"Novák", "Chen", "Groß", "Ørsted", "Dvořák", "Smith", "Kowalski", "Müller", "Lee", "García", "Nakamura", "O'Brien", "Ivanova", "Brontë", "Sánchez", "Petrović", "Okafor"}
	dept := []string{"Accounts", "Sales", "Support", "Logistics", "Geschäftsführung", "Marketing", "Legal", "IT"}
	out := make([]Contact, n)
	for i := range out {
		f, l := first[i%len(first)], last[(i/len(first))%len(last)]
		ext := fmt.Sprintf("%d", 2000+i)
		out[i] = Contact{
			Name:       fmt.Sprintf("%s %s %d", f, l, i),
			Extension:  ext,
			URI:        "sip:" + ext + "@pbx.example",
			Department: dept[i%len(dept)],
			Mobile:     fmt.Sprintf("+44 7700 %06d", i),
			Source:     SourceLDAP,
		}
	}
	return out
}

// BenchmarkSearchKeystroke is one keystroke of typing "novak" into a
// directory of 5,000 contacts: each iteration runs the search for one of
// the query's prefixes, as the widget does after each key.
func BenchmarkSearchKeystroke(b *testing.B) {
	ix := NewIndex(generated(5000))
	queries := []string{"n", "no", "nov", "nova", "novak", "s", "so", "sor", "2", "24", "243", "sales", "eva dv"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ix.Search(queries[i%len(queries)], 200)
	}
}

// BenchmarkBuildIndex builds the index of 5,000 contacts; its B/op is the
// memory an index of that size takes (plus what is freed at once).
func BenchmarkBuildIndex(b *testing.B) {
	cs := generated(5000)
	b.ReportAllocs()
	for b.Loop() {
		NewIndex(cs)
	}
}

// BenchmarkDirectoryMemory5000 reports the heap a refreshed Directory of
// 5,000 LDAP contacts holds (its index and the last good read kept to
// stand in for LDAP), measured after a GC, as heap-bytes and
// bytes/contact.
func BenchmarkDirectoryMemory5000(b *testing.B) {
	cs := generated(5000)
	var keep []*Index
	var ms runtime.MemStats
	var total float64
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		raw := append([]Contact(nil), cs...)
		for i := range raw {
			// copies of the strings, as a read from LDAP makes
			raw[i].Name = strings.Clone(raw[i].Name)
			raw[i].Department = strings.Clone(raw[i].Department)
			raw[i].Mobile = strings.Clone(raw[i].Mobile)
			raw[i].URI = strings.Clone(raw[i].URI)
			raw[i].Extension = strings.Clone(raw[i].Extension)
		}
		ix := NewIndex(Merge(raw))
		runtime.GC()
		runtime.ReadMemStats(&ms)
		total += float64(ms.HeapAlloc - before)
		keep = append(keep[:0], ix)
		runtime.KeepAlive(raw)
	}
	runtime.KeepAlive(keep)
	b.ReportMetric(total/float64(b.N), "heap-bytes")
	b.ReportMetric(total/float64(b.N)/5000, "bytes/contact")
}
