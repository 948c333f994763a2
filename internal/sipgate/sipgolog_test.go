package sipgate

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestSipgoLoggerQuietsPeerFaults: sipgo's ERROR lines about what a peer
// sent (here a hundred unparseable messages of 64 KiB each) become one
// WARN line with a cut attribute; its other lines pass as they were.
func TestSipgoLoggerQuietsPeerFaults(t *testing.T) {
	var buf bytes.Buffer
	l := SipgoLogger(slog.New(slog.NewTextHandler(&buf, nil))).With("caller", "Transport<TCP>")
	junk := strings.Repeat("X", 64<<10)
	for range 100 {
		l.Error("failed to parse", "error", errors.New("bad header "+junk), "data", junk)
	}
	l.Error("something of ours broke", "error", "boom")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%.2000s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], `msg="failed to parse"`) || len(lines[0]) > 1200 {
		t.Fatalf("the peer fault's line: %.2000s", lines[0])
	}
	if !strings.Contains(lines[1], "level=ERROR") || !strings.Contains(lines[1], "boom") {
		t.Fatalf("our own error's line: %s", lines[1])
	}
}

// TestSipgoLoggerUnanswerableMalformedRequest: sipgo's ERROR when the 400
// to a malformed request cannot be sent (the peer already closed its TCP
// connection) is a peer fault: WARN, once per interval.
func TestSipgoLoggerUnanswerableMalformedRequest(t *testing.T) {
	var buf bytes.Buffer
	l := SipgoLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	for range 10 {
		l.Error("Failed to send stateless 400 for malformed request", "error", errors.New("use of closed network connection"), "req", "INVITE sip:park@h SIP/2.0")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") {
		t.Fatalf("want one WARN line, got:\n%s", buf.String())
	}
}
