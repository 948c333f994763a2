package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/flagdoc"
)

// TestREADMEFlagTable: the README's flag table for parkd has a row for
// every flag of "parkd -help", no other, with the flag's default.
func TestREADMEFlagTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFlagSet()
	for _, d := range flagdoc.Compare(string(b), "## The park service: `parkd`", f.fs) {
		t.Error(d)
	}

	// The table's flags are those "parkd -help" prints.
	var help bytes.Buffer
	printUsage(&help)
	rows, err := flagdoc.Table(string(b), "## The park service: `parkd`")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if !strings.Contains(help.String(), "  -"+r.Name+" ") && !strings.Contains(help.String(), "  -"+r.Name+"\n") {
			t.Errorf("-help does not show -%s", r.Name)
		}
	}
}

// TestHelpPointsAtTheProtocol: "parkd -help" names the protocol document,
// and the repository has it.
func TestHelpPointsAtTheProtocol(t *testing.T) {
	var help bytes.Buffer
	printUsage(&help)
	if !strings.Contains(help.String(), "docs/PARK-PROTOCOL.md") {
		t.Errorf("-help does not name docs/PARK-PROTOCOL.md:\n%s", help.String())
	}
	if _, err := os.Stat(filepath.Join("..", "..", "docs", "PARK-PROTOCOL.md")); err != nil {
		t.Error(err)
	}
}
