// Package badsip is Switchboard's malformed-message corpus and the
// helpers that replay it against a running SIP service: a few hundred
// SIP requests, one per file in testdata (raw bytes, named after what is
// wrong with them), made by Generate from a dozen valid templates with
// mutations (garbage, truncations, missing, duplicated, empty and huge
// headers, bad Content-Length, bad SDP, odd Request-URIs and CSeq, foreign
// versions and methods, NUL bytes, folding, UTF-8 junk, a thousand Vias).
//
// Each file holds placeholders ({hostport}, {local}, {branch}, …; see
// Vars) that Fill replaces at replay time, so that one corpus serves any
// target and every replay is a new transaction. testdata/index.tsv says
// what each case must get over UDP and over TCP (a Class) and, where the
// protocol or PARK-PROTOCOL.md fixes it, which status (Want).
//
// The files are the corpus; Generate only makes them: after changing it,
// run `go generate ./internal/badsip` (TestCorpusIsGenerated -update) and
// commit the files.
//
// Only tests import this package.
package badsip

//go:generate go test -run ^TestCorpusIsGenerated$ -update .

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Class is what a target must do with one case on one transport.
type Class string

// The classes.
const (
	// Refuse: a final response that is not 2xx (and, to an INVITE, no
	// 18x: the request must not ring or park). On TCP the service may
	// close the connection instead, where the framing is broken.
	Refuse Class = "refuse"
	// Reply: some final response, or an 18x to an INVITE. The request is
	// odd but legal, or whether it is legal does not matter here.
	Reply Class = "reply"
	// Any: nothing but staying alive (garbage, an ACK, a truncation
	// the service may rightly wait to see the end of).
	Any Class = "any"
	// Skip: not sent on this transport (too large for one datagram).
	Skip Class = "skip"
)

// Case is one message of the corpus.
type Case struct {
	Name string // the file name without .sip
	Data []byte // the message, with placeholders
	UDP  Class
	TCP  Class
	// Want lists the acceptable final statuses when one arrives: a bare
	// code applies to every target, "park=404" to the park service only
	// (in-process or parkd), "console=400" to the console only.
	Want []string
	Note string // what is wrong with it, in words
}

// Class is the case's class on network ("udp" or "tcp").
func (c *Case) Class(network string) Class {
	if strings.EqualFold(network, "tcp") {
		return c.TCP
	}
	return c.UDP
}

// Wants returns the acceptable final statuses for target ("park",
// "console"); none means any.
func (c *Case) Wants(target string) []int {
	var out []int
	for _, w := range c.Want {
		who, code, ok := strings.Cut(w, "=")
		if !ok {
			code, who = who, ""
		}
		if who != "" && who != target {
			continue
		}
		if n, err := strconv.Atoi(code); err == nil {
			out = append(out, n)
		}
	}
	return out
}

//go:embed testdata/*.sip testdata/index.tsv
var files embed.FS

// Dir is the corpus directory, relative to this package.
const Dir = "testdata"

// IndexFile is the corpus index inside Dir: one line per case, tab
// separated: name, UDP class, TCP class, wanted statuses (comma
// separated, "-" for none), note.
const IndexFile = "index.tsv"

// Corpus returns the committed corpus, in index order.
func Corpus() ([]Case, error) { return Load(files) }

// Select keeps the cases whose name matches the regular expression in
// the environment variable BADSIP_RUN, when it is set (to replay a few
// cases while looking into them); all of them otherwise.
func Select(cases []Case) ([]Case, error) {
	expr := os.Getenv("BADSIP_RUN")
	if expr == "" {
		return cases, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("badsip: BADSIP_RUN: %w", err)
	}
	var out []Case
	for _, c := range cases {
		if re.MatchString(c.Name) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Load reads a corpus from fsys: its Dir holds the index and the files.
func Load(fsys fs.FS) ([]Case, error) {
	idx, err := fs.ReadFile(fsys, path.Join(Dir, IndexFile))
	if err != nil {
		return nil, fmt.Errorf("badsip: %w", err)
	}
	cases, err := ParseIndex(idx)
	if err != nil {
		return nil, err
	}
	for i := range cases {
		cases[i].Data, err = fs.ReadFile(fsys, path.Join(Dir, cases[i].Name+".sip"))
		if err != nil {
			return nil, fmt.Errorf("badsip: %w", err)
		}
	}
	return cases, nil
}

// ParseIndex reads an index (see IndexFile); the cases have no Data.
func ParseIndex(b []byte) ([]Case, error) {
	var out []Case
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("badsip: index line %d: %d fields, want 5", i+1, len(f))
		}
		c := Case{Name: f[0], UDP: Class(f[1]), TCP: Class(f[2]), Note: f[4]}
		for _, cl := range []Class{c.UDP, c.TCP} {
			if !slices.Contains([]Class{Refuse, Reply, Any, Skip}, cl) {
				return nil, fmt.Errorf("badsip: index line %d: class %q", i+1, cl)
			}
		}
		if f[3] != "-" {
			c.Want = strings.Split(f[3], ",")
		}
		out = append(out, c)
	}
	return out, nil
}

// Index writes the index of cases (see IndexFile).
func Index(cases []Case) []byte {
	var b bytes.Buffer
	b.WriteString("# name\tudp\ttcp\twant\tnote (made by Generate: go generate ./internal/badsip)\n")
	for _, c := range cases {
		want := strings.Join(c.Want, ",")
		if want == "" {
			want = "-"
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\n", c.Name, c.UDP, c.TCP, want, c.Note)
	}
	return b.Bytes()
}

// Vars are the values of a case's placeholders for one replay.
type Vars struct {
	Host      string // {host}: the target's host (an IPv6 address in brackets)
	Port      int    // {port}: the target's port
	Local     string // {local}: the sender's host:port
	Transport string // {transport}: UDP or TCP, for Via
	Branch    string // {branch}: the Via branch after z9hG4bK
	Tag       string // {tag}: the From tag
	CallID    string // {callid}
}

// Fill replaces data's placeholders with v's values.
func Fill(data []byte, v Vars) []byte {
	hp := v.Host + ":" + strconv.Itoa(v.Port)
	r := strings.NewReplacer(
		"{hostport}", hp,
		"{host}", v.Host,
		"{port}", strconv.Itoa(v.Port),
		"{local}", v.Local,
		"{transport}", strings.ToUpper(v.Transport),
		"{ltransport}", strings.ToLower(v.Transport),
		"{branch}", v.Branch,
		"{tag}", v.Tag,
		"{callid}", v.CallID,
	)
	return []byte(r.Replace(string(data)))
}
