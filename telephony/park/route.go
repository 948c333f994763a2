package park

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// routeSet is the route set of a dialog the service is the UAS of (RFC
// 3261 §12.1.1): the URIs of the Record-Route header fields of the
// request that made it, taken in order (the UAC reverses them; the UAS
// does not). Empty when no proxy record-routed.
func routeSet(req *sip.Request) []sip.Uri {
	var out []sip.Uri
	for _, h := range req.GetHeaders("Record-Route") {
		if rr, ok := h.(*sip.RecordRouteHeader); ok {
			out = append(out, *rr.Address.Clone())
		}
	}
	return out
}

// routeRequest makes req, whose Request-URI is the dialog's remote target,
// follow route (RFC 3261 §12.2.1.1) and returns its next hop as host:port
// and the transport the first route names ("" when it names none). A
// loose router first (;lr) gets the whole route set as Route header
// fields; a strict one gets the request itself: its URI becomes the
// Request-URI, the rest of the route set and then the remote target go
// in Route. route is not empty.
func routeRequest(req *sip.Request, route []sip.Uri) (dest, transport string) {
	first := route[0]
	if first.UriParams != nil && first.UriParams.Has("lr") {
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
	if first.UriParams != nil {
		if t, ok := first.UriParams.Get("transport"); ok && t != "" {
			transport = strings.ToUpper(t)
		}
	}
	if transport == "" && first.Scheme == "sips" {
		transport = "TLS"
	}
	port := first.Port
	if port == 0 {
		port = sip.DefaultPort(transport)
	}
	return net.JoinHostPort(strings.Trim(first.Host, "[]"), strconv.Itoa(port)), transport
}

// outboundRoute is the outbound proxy's URI as the one entry of a route
// set, a loose route whether or not it says ;lr (RFC 3261 §8.1.2).
func outboundRoute(uri string) (sip.Uri, error) {
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil || u.Host == "" || (u.Scheme != "sip" && u.Scheme != "sips") {
		return u, fmt.Errorf("outbound proxy %q is not a SIP URI", uri)
	}
	if u.UriParams == nil {
		u.UriParams = sip.NewParams()
	}
	if !u.UriParams.Has("lr") {
		u.UriParams.Add("lr", "")
	}
	u.Headers = nil
	return u, nil
}
