package logflag

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func parse(t *testing.T, args ...string) (Options, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := Declare(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("flag parse %q: %v", args, err)
	}
	return f.Parse()
}

func TestDefaultsAreInfoText(t *testing.T) {
	o, err := parse(t)
	if err != nil || o.Level != slog.LevelInfo || o.JSON {
		t.Fatalf("defaults: %+v, %v; want INFO text", o, err)
	}
}

func TestBadValuesNameFlagValueAndWhatIsWanted(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-log-level", "loud"}, "-log-level loud: want debug, info, warn or error"},
		{[]string{"-log-level", ""}, `-log-level "": want debug`},
		{[]string{"-log-format", "xml"}, "-log-format xml: want text or json"},
	} {
		_, err := parse(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}

func TestLoggerWritesTheChosenFormatAndLevel(t *testing.T) {
	o, err := parse(t, "-log-level", "warn", "-log-format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	l := o.Logger(&buf)
	l.Info("dropped")
	l.Warn("kept", "orbit", 701)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want only the warning: %q", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("not JSON: %q: %v", lines[0], err)
	}
	if rec["msg"] != "kept" || rec["orbit"] != float64(701) || rec["level"] != "WARN" {
		t.Fatalf("record %v", rec)
	}

	o, _ = parse(t, "-log-level", "debug")
	buf.Reset()
	o.Logger(&buf).Debug("seen", "k", "v")
	if got := buf.String(); !strings.Contains(got, "level=DEBUG msg=seen k=v") {
		t.Fatalf("text log %q", got)
	}
}
