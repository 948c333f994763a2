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
	var help bytes.Buffer
	printUsage(&help)
	for _, d := range flagdoc.CompareHelp(string(b), "## The park service: `parkd`", newFlagSet().fs, help.String()) {
		t.Error(d)
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
