package sipconn

import (
	"log/slog"
	"strconv"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// What a stream does with a Content-Length larger than the body that
// follows (RFC 3261 §18.3: on a stream, the Content-Length alone marks
// where a message ends):
//
//   - The declared body swallows the bytes that follow it, whatever they
//     look like. A request swallowed whole is the body of the one before
//     it and is never handled as a request of its own; the stream goes on
//     after it. (A body is opaque: a message/sipfrag body legitimately
//     holds a SIP start line, so the body is not searched for one.)
//   - When the declared body ends inside the next message, sipgo parses
//     what remains from the middle of that message. Most often it does
//     not parse and sipgo closes the connection. When it does (cut five
//     bytes into "OPTIONS sip:…" leaves "ONS sip:… SIP/2.0", a well-formed
//     request of method ONS with the CSeq of an OPTIONS), Framing answers
//     it 400 and closes the connection: a request whose CSeq method is not
//     its own, on a stream, is a sign the stream lost its framing, and
//     nothing after it can be trusted.
//
// No request is answered twice either way: a request is parsed, and so
// answered, at most once.

// Framing is a request middleware (the shape of diago's
// WithServerRequestMiddleware) for requests that arrived on a stream
// (TCP, TLS, WS): a request whose CSeq method differs from its own is
// answered 400, with a Warning naming the fault (warn-agent agent), and
// its connection, found in tp, is closed. Requests on UDP, and well
// framed ones, go to next.
func Framing(tp *sip.TransportLayer, agent string, log *slog.Logger) func(next sipgo.RequestHandler) sipgo.RequestHandler {
	if log == nil {
		log = slog.Default()
	}
	var limit limiter
	return func(next sipgo.RequestHandler) sipgo.RequestHandler {
		return func(req *sip.Request, tx sip.ServerTransaction) {
			cseq := req.CSeq()
			if !sip.IsReliable(req.Transport()) || cseq == nil || cseq.MethodName == req.Method {
				next(req, tx)
				return
			}
			if n, ok := limit.allow(); ok {
				log.Warn("sip: stream lost its framing, closing the connection", "source", req.Source(),
					"transport", req.Transport(), "method", string(req.Method), "cseq_method", string(cseq.MethodName),
					"since_last_log", n)
			}
			if !req.IsAck() && tx != nil {
				res := sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil)
				res.AppendHeader(sip.NewHeader("Warning", "399 "+agent+" "+
					strconv.Quote("CSeq method "+string(cseq.MethodName)+" is not the request's: framing lost")))
				_ = tx.Respond(res)
			}
			if c, err := tp.GetConnection(req.Transport(), req.Source()); err == nil && c != nil {
				_ = c.Close()
			}
		}
	}
}
