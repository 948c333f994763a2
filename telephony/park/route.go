package park

import (
	"fmt"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siproute"
)

// routeSet is the route set of a dialog the service is the UAS of (RFC
// 3261 §12.1.1): the Record-Route of the request that made it, in order.
func routeSet(req *sip.Request) []sip.Uri { return siproute.OfRequest(req) }

// routeRequest makes req, whose Request-URI is the dialog's remote
// target, follow route (siproute.Follow: loose and strict routers) and
// returns its next hop and the transport the first route names.
func routeRequest(req *sip.Request, route []sip.Uri) (dest, transport string) {
	return siproute.Follow(req, route)
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
