package sipgate

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// peerFaults are sipgo's ERROR messages that report what a peer sent,
// not a fault of ours: a message that does not parse, a request its
// transaction layer cannot key, a connection the peer broke.
var peerFaults = map[string]bool{
	"failed to parse":                    true,
	"Read error":                         true,
	"Server tx failed to handle request": true,
	// A malformed request whose 400 could not go back: the peer closed
	// its connection first, or its Via names nowhere (seen in parkd's
	// hostile corpus over TCP on a busy machine).
	"Failed to send stateless 400 for malformed request": true,
}

// maxAttr is the longest string attribute of a sipgo log line; sipgo
// puts the whole raw message (up to 64 KiB) in its parse errors.
const maxAttr = 256

// SipgoLogger is the logger to give sipgo's transport and transaction
// layers (UserAgentOption does): their reports of what a peer sent are
// logged at WARN, not ERROR, at most once per kind per LogInterval with a
// count of the unlogged, and no attribute is longer than 256 bytes. Over
// TCP, where the read filter does not see whole messages, sipgo logged
// every malformed message at ERROR with its raw bytes: a flood of bad
// messages was a flood of 64 KiB log lines.
func SipgoLogger(base *slog.Logger) *slog.Logger {
	return slog.New(&sipgoHandler{inner: base.Handler(), limits: &kindLimits{last: make(map[string]*logEntry)}})
}

type sipgoHandler struct {
	inner  slog.Handler
	limits *kindLimits
}

// kindLimits rate-limits the peer-fault lines by message.
type kindLimits struct {
	mu   sync.Mutex
	last map[string]*logEntry
}

// allow reports whether a line of kind is logged at now, and how many
// went unlogged since the last.
func (k *kindLimits) allow(kind string, now time.Time) (bool, int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.last[kind]
	if e == nil {
		k.last[kind] = &logEntry{last: now}
		return true, 0
	}
	if now.Sub(e.last) < LogInterval {
		e.suppressed++
		return false, 0
	}
	n := e.suppressed
	e.last, e.suppressed = now, 0
	return true, n
}

func (h *sipgoHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, min(l, slog.LevelWarn))
}

func (h *sipgoHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	if peerFaults[r.Message] && r.Level >= slog.LevelWarn {
		ok, unlogged := h.limits.allow(r.Message, r.Time)
		if !ok {
			return nil
		}
		out.Level = slog.LevelWarn
		if unlogged > 0 {
			out.AddAttrs(slog.Int("unlogged_since_last", unlogged))
		}
	}
	if !h.inner.Enabled(ctx, out.Level) {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(shorten(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

func (h *sipgoHandler) WithAttrs(as []slog.Attr) slog.Handler {
	short := make([]slog.Attr, len(as))
	for i, a := range as {
		short[i] = shorten(a)
	}
	return &sipgoHandler{inner: h.inner.WithAttrs(short), limits: h.limits}
}

func (h *sipgoHandler) WithGroup(name string) slog.Handler {
	return &sipgoHandler{inner: h.inner.WithGroup(name), limits: h.limits}
}

// shorten cuts a string attribute (or an error's text) to maxAttr bytes.
func shorten(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	var s string
	switch v.Kind() {
	case slog.KindString:
		s = v.String()
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			s = err.Error()
		} else {
			return a
		}
	default:
		return a
	}
	if len(s) <= maxAttr {
		return a
	}
	return slog.String(a.Key, s[:maxAttr]+"… ("+strconv.Itoa(len(s))+" bytes)")
}
