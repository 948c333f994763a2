package baresip

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/syncbuf"
)

// TestWaitMessageReadsTheConsoleAlone: baresip's stdout (its SIP trace,
// with -s) and the cons module's output reach the log from two copies
// at once, so a trace fragment can land inside the message's line (seen
// on a busy machine: `UDP sip:desk-a@…: "Call for you…"`). WaitMessage
// reads what the console showed, whole, while the log keeps both.
func TestWaitMessageReadsTheConsoleAlone(t *testing.T) {
	b := &Baresip{out: &syncbuf.Buffer{}}
	b.shown.Tee = b.out
	const line = `sip:desk@127.0.0.1:5060: "Call for you: Alice on 704 — dial 704"`
	_, _ = b.out.Write([]byte("\x1b[36;1m#\nUDP "))
	_, _ = b.shown.Write([]byte(line + "\n"))
	_, _ = b.out.Write([]byte("127.0.0.1:5060 -> 127.0.0.1:5070\nMESSAGE sip:bob@127.0.0.1:5070 SIP/2.0\n"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := b.WaitMessage(ctx, "dial 704")
	if err != nil {
		t.Fatal(err)
	}
	if got != line {
		t.Fatalf("WaitMessage = %q, want %q", got, line)
	}
}
