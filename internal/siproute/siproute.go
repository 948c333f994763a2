// Package siproute is a dialog's route set (RFC 3261 §12): how it is
// learnt from the Record-Route of the request or answer that made the
// dialog, and how a request inside the dialog follows it, through loose
// and strict routers alike. The park service (a UAS of lamp
// subscriptions and parked calls) and the console (a UAC of lamp
// subscriptions) share it.
package siproute

import (
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// OfRequest is the route set of a dialog made by req, for its UAS: the
// URIs of req's Record-Route header fields in order (§12.1.1). Empty
// when no proxy record-routed.
func OfRequest(req *sip.Request) []sip.Uri {
	return recordRoute(req.GetHeaders("Record-Route"))
}

// OfResponse is the route set of a dialog made by the 2xx res, for its
// UAC: the URIs of res's Record-Route header fields in reverse order
// (§12.1.2). Empty when no proxy record-routed.
func OfResponse(res *sip.Response) []sip.Uri {
	out := recordRoute(res.GetHeaders("Record-Route"))
	slices.Reverse(out)
	return out
}

func recordRoute(hs []sip.Header) []sip.Uri {
	var out []sip.Uri
	for _, h := range hs {
		if rr, ok := h.(*sip.RecordRouteHeader); ok {
			out = append(out, *rr.Address.Clone())
		}
	}
	return out
}

// Follow makes req, whose Request-URI is the dialog's remote target,
// follow route (RFC 3261 §12.2.1.1) and returns its next hop as
// host:port and the transport the first route names ("" when it names
// none). A loose router first (;lr) gets the whole route set as Route
// header fields; a strict one gets the request itself: its URI becomes
// the Request-URI, the rest of the route set and then the remote target
// go in Route. route is not empty.
func Follow(req *sip.Request, route []sip.Uri) (dest, transport string) {
	first := route[0]
	if IsLoose(first) {
		for _, u := range route {
			req.AppendHeader(&sip.RouteHeader{Address: *u.Clone()})
		}
	} else {
		target := req.Recipient
		ruri := *first.Clone()
		ruri.Headers = nil // not allowed in a Request-URI
		req.Recipient = ruri
		for _, u := range route[1:] {
			req.AppendHeader(&sip.RouteHeader{Address: *u.Clone()})
		}
		req.AppendHeader(&sip.RouteHeader{Address: *target.Clone()})
	}
	transport = Transport(first)
	port := first.Port
	if port == 0 {
		port = sip.DefaultPort(transport)
	}
	return net.JoinHostPort(strings.Trim(first.Host, "[]"), strconv.Itoa(port)), transport
}

// IsLoose says whether u is a loose router's (;lr).
func IsLoose(u sip.Uri) bool {
	return u.UriParams != nil && u.UriParams.Has("lr")
}

// Transport is the transport u names, upper case: its transport
// parameter, else TLS for sips:, else "".
func Transport(u sip.Uri) string {
	if u.UriParams != nil {
		if t, ok := u.UriParams.Get("transport"); ok && t != "" {
			return strings.ToUpper(t)
		}
	}
	if u.Scheme == "sips" {
		return "TLS"
	}
	return ""
}
