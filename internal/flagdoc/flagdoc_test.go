package flagdoc

import (
	"flag"
	"reflect"
	"testing"
)

const readme = "# X\n\n## The tool: `t`\n\nSome text | with a bar.\n\n" +
	"| flag | default | meaning |\n| --- | --- | --- |\n" +
	"| `-listen` | `127.0.0.1:5070` | where |\n" +
	"| `-fallback` | none | a URI |\n" +
	"| `-rtp-port` | any free | a port |\n" +
	"| `-tpl` | none | `a|b` template |\n" +
	"\nAfter.\n\n## Next\n\n| flag | default | meaning |\n| --- | --- | --- |\n| `-other` | `x` | y |\n"

func flags() *flag.FlagSet {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.String("listen", "127.0.0.1:5070", "")
	fs.String("fallback", "", "")
	fs.Int("rtp-port", 0, "")
	fs.String("tpl", "", "")
	return fs
}

func TestMatchingTableHasNoDifference(t *testing.T) {
	if d := Compare(readme, "## The tool", flags()); len(d) != 0 {
		t.Errorf("differences: %q", d)
	}
}

func TestEveryDifferenceIsFound(t *testing.T) {
	fs := flags()
	fs.String("new", "", "")           // no row
	fs.Lookup("listen").DefValue = "0" // a changed default
	got := Compare(readme+"", "## The tool", fs)
	want := []string{
		`README line 9: -listen: the README says the default is "127.0.0.1:5070", the flag's is "0"`,
		`t -new has no row in the README's table under "## The tool"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}

	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	fs.String("listen", "127.0.0.1:5070", "")
	fs.String("fallback", "sip:x@y", "") // words for a non-zero default
	fs.Int("rtp-port", 0, "")
	got = Compare(readme, "## The tool", fs)
	want = []string{
		`README line 10: -fallback: the README words the default as "none", but the flag's is "sip:x@y": write it in backticks`,
		`README line 12: -tpl is not a flag of t`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestMalformedTables(t *testing.T) {
	for name, doc := range map[string]string{
		"no heading":      "# X\n",
		"no table":        "## The tool\n\ntext\n",
		"two flags":       "## The tool\n\n| flag | default | meaning |\n| --- | --- | --- |\n| `-a`, `-b` | none | x |\n",
		"table elsewhere": "## The tool\n\ntext\n\n## Other\n\n| flag | default | meaning |\n| --- | --- | --- |\n| `-a` | none | x |\n",
	} {
		if d := Compare(doc, "## The tool", flags()); len(d) != 1 {
			t.Errorf("%s: want one error, got %q", name, d)
		}
	}
}
