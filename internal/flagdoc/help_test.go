package flagdoc

import (
	"reflect"
	"testing"
)

func TestCompareHelpFindsRowsHelpLacks(t *testing.T) {
	help := "Usage of t:\n  -listen string\n  -fallback\n  -rtp-port int\n"
	got := CompareHelp(readme, "## The tool", flags(), help)
	want := []string{`README line 12: -help does not show -tpl`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if d := CompareHelp(readme, "## The tool", flags(), help+"  -tpl string\n"); len(d) != 0 {
		t.Errorf("differences: %q", d)
	}
}

func TestCompareHelpReportsAMissingTableOnce(t *testing.T) {
	got := CompareHelp(readme, "## No such", flags(), "")
	if len(got) != 1 {
		t.Errorf("got %q, want the one missing-heading error", got)
	}
}
