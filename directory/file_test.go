package directory

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadCSV(t *testing.T) {
	got, err := ReadFile("testdata/people.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []Contact{
		{Name: "Eva Novák", Extension: "2104", URI: "eva@pbx.example", Department: "Accounts", Mobile: "+44 7700 900123", Email: "eva@example.com", Source: SourceFile},
		{Name: "Chen, Bob", Extension: "2105", Department: "Sales", Source: SourceFile},
		{Name: "Jürgen Groß", URI: "sip:jurgen@pbx.example", Department: "Geschäftsführung", Source: SourceFile},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// comma separated, a BOM, upper-case and aliased columns
	cs, err := ReadCSV(strings.NewReader("\ufeffDISPLAY NAME,Ext,sip,Mail\nMia Lee,2201,mia@pbx,mia@example.com\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0] != (Contact{Name: "Mia Lee", Extension: "2201", URI: "mia@pbx", Email: "mia@example.com", Source: SourceFile}) {
		t.Errorf("aliases: %+v", cs)
	}
}

func TestReadCSVErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":        "",
		"no id column": "department,mobile\nSales,+44\n",
		"bad quoting":  "name,extension\n\"Eva,2104\n",
	} {
		if _, err := ReadCSV(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(p, []byte("nothing,useful\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{p, filepath.Join(dir, "missing.csv")} {
		_, err := ReadFile(path)
		if ReasonOf(err) != ReasonFile || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadFile(%s) = %v, want a ReasonFile error naming the file", path, err)
		}
	}
}

func TestReadVCard(t *testing.T) {
	got, err := ReadFile("testdata/people.vcf")
	if err != nil {
		t.Fatal(err)
	}
	want := []Contact{
		{Name: "Søren Ørsted", Extension: "3100", URI: "sip:soren@pbx.example", Department: "Logistics", Mobile: "+45 20 12 34 56", Email: "soren@example.com", Source: SourceFile},
		{Name: "Zoë Salesworth", Extension: "3300", URI: "sip:zoe@pbx.example", Department: "Marketing", Mobile: "+44-7700-900456", Source: SourceFile},
		{Name: "Chidi Okafor", Extension: "3400", Source: SourceFile},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if _, err := ReadVCard(strings.NewReader("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Eva\r\n")); err == nil {
		t.Error("a broken vCard gave no error")
	}
}
