package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard/switchboard/internal/flagdoc"
)

// TestREADMEFlagTable: the README's flag table for attendant has a row for
// every flag of "attendant -help", no other, with the flag's default.
func TestREADMEFlagTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var help bytes.Buffer
	printUsage(&help)
	for _, d := range flagdoc.CompareHelp(string(b), "## The console: `attendant`", newFlagSet().fs, help.String()) {
		t.Error(d)
	}
}
