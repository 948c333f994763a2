// A subscription's dialog behind proxies (issue 14): the route set its
// requests follow, and the silence that makes it subscribe again.

package sip

import (
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siproute"
)

// dialogRoute is what a subscription keeps of its dialog's path: the
// route set its refreshes and unsubscribe follow, and when it last heard
// from the far end. Guarded by the subscription's mu.
type dialogRoute struct {
	// route is the dialog's route set (the Record-Route of the
	// SUBSCRIBE's 2xx, reversed, RFC 3261 §12.1.2): a refresh and the
	// unsubscribe go through the proxies that record-routed the
	// SUBSCRIBE (a strict proxy routes in-dialog requests by their Route
	// only), not straight to the service's Contact.
	route []sip.Uri
	// transport is the one the subscription was made over: a request in
	// the dialog keeps it unless its first route names another.
	transport string
	// heard is when the subscription was made or its last NOTIFY came;
	// granted its expiry. Silent for longer than that, it is made again:
	// whoever answers its refreshes does not send its state (a service
	// that lost it behind a proxy, say).
	heard   time.Time
	granted time.Duration
}

// reset forgets the dialog: a new subscription is being made.
func (d *dialogRoute) reset() { *d = dialogRoute{} }

// made records the 2xx of a SUBSCRIBE sent over transport (a new
// subscription when fresh: then its route set is taken from it) that
// granted the expiry.
func (d *dialogRoute) made(res *sip.Response, transport string, fresh bool, granted time.Duration) {
	if fresh {
		d.route = siproute.OfResponse(res)
		d.transport = strings.ToLower(transport)
		d.heard = time.Now()
	}
	d.granted = granted
}

// silent says whether nothing came from the subscription for longer
// than its expiry.
func (d *dialogRoute) silent(now time.Time) bool {
	return !d.heard.IsZero() && d.granted > 0 && now.Sub(d.heard) > d.granted
}

// follow makes req, a request inside the dialog whose transport t was
// chosen for its target, go along the route set, and returns the
// transport to send it with: the first route's when it names one we
// have, else the one the subscription was made over. Without a route
// set it changes nothing.
func (d *dialogRoute) follow(ts *transports, req *sip.Request, t string) string {
	if len(d.route) == 0 {
		return t
	}
	dest, named := siproute.Follow(req, d.route)
	req.SetDestination(dest)
	if named = strings.ToLower(named); named != "" {
		if _, ok := ts.clients[named]; ok {
			return named
		}
	}
	if _, ok := ts.clients[d.transport]; ok {
		return d.transport
	}
	return t
}
