package badsip

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata from Generate")

// TestCorpusIsGenerated checks that the committed corpus is exactly what
// Generate makes (with -update it rewrites it), so that the generator
// and the files never drift apart.
func TestCorpusIsGenerated(t *testing.T) {
	cases := Generate()
	if *update {
		old, _ := filepath.Glob(filepath.Join(Dir, "*.sip"))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range cases {
			if err := os.WriteFile(filepath.Join(Dir, c.Name+".sip"), c.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(Dir, IndexFile), Index(cases), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Load(os.DirFS("."))
	if err != nil {
		t.Fatal(err)
	}
	if !*update {
		embedded, err := Corpus()
		if err != nil {
			t.Fatal(err)
		}
		if len(embedded) != len(got) {
			t.Fatalf("the embedded corpus has %d cases, the files %d", len(embedded), len(got))
		}
	}
	if len(got) != len(cases) {
		t.Fatalf("the committed corpus has %d cases, Generate makes %d: run go generate ./internal/badsip", len(got), len(cases))
	}
	files, _ := filepath.Glob(filepath.Join(Dir, "*.sip"))
	if len(files) != len(cases) {
		t.Fatalf("%d .sip files for %d cases: run go generate ./internal/badsip", len(files), len(cases))
	}
	for i, c := range cases {
		g := got[i]
		if g.Name != c.Name || g.UDP != c.UDP || g.TCP != c.TCP || g.Note != c.Note ||
			strings.Join(g.Want, ",") != strings.Join(c.Want, ",") || !bytes.Equal(g.Data, c.Data) {
			t.Fatalf("case %d (%s) differs from Generate's %s: run go generate ./internal/badsip", i, g.Name, c.Name)
		}
	}
}

// TestCorpusCoversTheBrief checks the corpus's size and that each kind
// of damage it promises is in it.
func TestCorpusCoversTheBrief(t *testing.T) {
	cases := Generate()
	if len(cases) < 300 {
		t.Fatalf("%d cases, want a few hundred", len(cases))
	}
	names := map[string]*Case{}
	for i := range cases {
		names[cases[i].Name] = &cases[i]
	}
	for _, want := range []string{
		"invite-park-missing-to", "subscribe-dialog-missing-to", "notify-dialog-missing-to", "bye-missing-to",
		"info-missing-to", "refer-missing-to", "ack-missing-to", "cancel-missing-via", "register-missing-call-id",
		"message-missing-cseq", "invite-park-dup-cseq", "invite-park-empty-from", "invite-park-huge-via",
		"invite-park-trunc-after-call-id", "invite-park-cl-negative", "invite-park-cl-larger", "invite-park-cl-smaller",
		"invite-park-cl-nonnumeric", "invite-park-sdp-no-c", "invite-park-sdp-multicast", "invite-park-sdp-unspecified",
		"invite-park-sdp-broadcast", "invite-park-sdp-port-0", "invite-park-sdp-10000-mlines", "invite-park-sdp-binary-junk",
		"invite-park-ruri-park-0", "invite-park-ruri-park-0705", "invite-park-ruri-park-plus705", "invite-park-ruri-retrieve-huge",
		"invite-park-ruri-sips", "invite-park-ruri-tel", "invite-park-ruri-no-host", "invite-park-ruri-ipv6",
		"invite-park-cseq-method-mismatch", "invite-park-cseq-2pow32", "invite-park-cseq-negative", "invite-park-cseq-no-number",
		"invite-park-sip-9.9", "invite-park-lowercase-method", "method-foo", "invite-park-nul-in-to", "crlf-only",
		"invite-park-fold-subject", "invite-park-utf8-invalid-display", "invite-park-via-1000",
	} {
		if names[want] == nil {
			t.Errorf("no case %s", want)
		}
	}
	for _, c := range cases {
		// Placeholders change lengths: a body must have none, or its
		// Content-Length would lie once filled.
		if _, body, ok := strings.Cut(string(c.Data), "\r\n\r\n"); ok && strings.Contains(body, "{") &&
			strings.Contains(string(Fill([]byte(body), Vars{Host: "h"})), "h") && body != string(Fill([]byte(body), Vars{Host: "h"})) {
			t.Errorf("%s: placeholders in the body", c.Name)
		}
		if c.UDP != Skip && len(c.Data) > maxDatagram {
			t.Errorf("%s: %d bytes is too large for UDP but not skipped", c.Name, len(c.Data))
		}
		if strings.ContainsAny(c.Name, " /\t") || strings.Contains(c.Note, "\t") || strings.Contains(c.Note, "\n") {
			t.Errorf("%q: bad name or note", c.Name)
		}
	}
}

func TestWantsPicksTheTarget(t *testing.T) {
	c := Case{Want: []string{"400", "park=404", "console=486"}}
	if got := c.Wants("park"); len(got) != 2 || got[0] != 400 || got[1] != 404 {
		t.Fatalf("park: %v", got)
	}
	if got := c.Wants("console"); len(got) != 2 || got[1] != 486 {
		t.Fatalf("console: %v", got)
	}
}
