package sipgate

import (
	"fmt"
	"log/slog"
	"net/netip"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Gate answers and logs malformed requests and recovers handler panics.
// One Gate serves one user agent; its methods are safe for concurrent use.
type Gate struct {
	log   *slog.Logger
	host  string
	limit *logLimiter
	now   func() time.Time
	ua    atomic.Pointer[sipgo.UserAgent] // set by UserAgentOption, for ReadFilter's replies
	stray func(*sip.Response)             // set by OnStrayResponse before the UA is built

	// Refused counts the requests answered (or, for ACK, dropped) as
	// faulty; Panics counts the handler panics recovered.
	refused, panics atomic.Uint64
}

// New returns a gate that logs to log (slog.Default() when nil) and names
// host (the advertised host or host:port of the user agent) as the
// warn-agent of its Warning headers.
func New(log *slog.Logger, host string) *Gate {
	if log == nil {
		log = slog.Default()
	}
	return &Gate{log: log, host: host, limit: newLogLimiter(LogInterval, maxSources), now: time.Now}
}

// Refused is the number of requests the gate refused so far.
func (g *Gate) Refused() uint64 { return g.refused.Load() }

// Panics is the number of handler panics the gate recovered so far.
func (g *Gate) Panics() uint64 { return g.panics.Load() }

// Middleware wraps next, a request handler, behind the gate: a request
// that fails Check is answered with the fault's status and a Warning
// (an ACK is dropped, it gets no response) and never reaches next; a
// panic of next is recovered, logged at ERROR with its stack, and answered
// 500 when next sent no final response. Its signature is diago's
// WithServerRequestMiddleware and wraps any sipgo.Server handler.
func (g *Gate) Middleware(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if f := Check(req); f != nil {
			g.refuse(req, tx, f)
			return
		}
		if tx == nil {
			defer g.recoverPanic(req, nil)
			next(req, nil)
			return
		}
		ttx := &trackedTx{ServerTransaction: tx}
		defer g.recoverPanic(req, ttx)
		next(req, ttx)
	}
}

// Middleware is New(log, host).Middleware, for a user agent that needs
// no read filter.
func Middleware(log *slog.Logger, host string) func(next sipgo.RequestHandler) sipgo.RequestHandler {
	return New(log, host).Middleware
}

// refuse answers req, a request that failed Check, and logs it.
func (g *Gate) refuse(req *sip.Request, tx sip.ServerTransaction, f *Fault) {
	g.refused.Add(1)
	answered := false
	if !req.IsAck() && tx != nil {
		res := g.response(req, f)
		if err := tx.Respond(res); err != nil {
			g.log.Debug("sip gate: respond failed", "status", f.Status, "error", err)
		} else {
			answered = true
		}
	}
	g.logRefusal(req.Source(), req.Transport(), string(req.Method), f, answered)
}

// response is the answer to a faulty request: its status, a Warning and
// always SIP/2.0 in the status line.
func (g *Gate) response(req *sip.Request, f *Fault) *sip.Response {
	res := sip.NewResponseFromRequest(req, f.Status, f.Reason(), nil)
	res.SipVersion = Version
	dropInvalid(res)
	res.AppendHeader(f.WarningHeader(g.host))
	return res
}

// dropInvalid removes from res the headers copied from the request that
// sipgo parsed leniently but that would not parse again once written (a
// Via without transport, a To of "<a:>>"): the answer to a faulty request
// must itself be well formed.
func dropInvalid(res *sip.Response) {
	for again := true; again; {
		again = false
		for _, h := range res.Headers() {
			if _, err := headerParsers.ParseHeader(nil, []byte(h.Name()+": "+h.Value())); err != nil {
				again = res.RemoveHeader(h.Name())
				break
			}
		}
	}
}

// logRefusal logs a refusal, at most once per source address per
// LogInterval.
func (g *Gate) logRefusal(source, transport, method string, f *Fault, answered bool) {
	ap, _ := netip.ParseAddrPort(source)
	ok, suppressed := g.limit.allow(ap.Addr().Unmap(), g.now())
	if !ok {
		return
	}
	attrs := []any{"source", source, "transport", transport, "method", method,
		"fault", f.Kind.String(), "status", f.Status, "warning", f.Text, "answered", answered}
	if f.Header != "" {
		attrs = append(attrs, "header", f.Header)
	}
	if suppressed > 0 {
		attrs = append(attrs, "unlogged_since_last", suppressed)
	}
	g.log.Warn("sip request refused", attrs...)
}

// recoverPanic, deferred around a handler, turns its panic into an ERROR
// log line with the stack and a 500 when no final response went out.
func (g *Gate) recoverPanic(req *sip.Request, tx *trackedTx) {
	r := recover()
	if r == nil {
		return
	}
	g.panics.Add(1)
	stack := debug.Stack()
	answered := false
	if !req.IsAck() && tx != nil && !tx.final.Load() {
		answered = g.respond500(req, tx)
	}
	g.log.Error("sip handler panicked", "panic", fmt.Sprint(r), "method", string(req.Method),
		"source", req.Source(), "transport", req.Transport(), "answered_500", answered,
		"stack", string(stack))
}

// respond500 answers 500; it never panics itself.
func (g *Gate) respond500(req *sip.Request, tx *trackedTx) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	res := sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Internal Error", nil)
	return tx.ServerTransaction.Respond(res) == nil
}

// trackedTx is a server transaction that remembers whether a final
// response was sent through it.
type trackedTx struct {
	sip.ServerTransaction
	final atomic.Bool
}

// Respond sends res and notes a final one. The version is
// case-insensitive but sent in upper case (RFC 3261 §7.1): a response to
// a "sip/2.0" request, which copies its version, is set right here, not
// by rewriting the request, which the transaction's 100 Trying timer
// reads meanwhile.
func (t *trackedTx) Respond(res *sip.Response) error {
	res.SipVersion = Version
	err := t.ServerTransaction.Respond(res)
	if err == nil && res.StatusCode >= 200 {
		t.final.Store(true)
	}
	return err
}
