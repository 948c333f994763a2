package park

import "github.com/emiago/sipgo/sip"

// Reason is the machine-readable cause of a refusal, sent as the
// X-Park-Reason header beside any human Warning (PARK-PROTOCOL.md), so a
// proxy or console never parses prose.
type Reason string

// The refusal reasons of PARK-PROTOCOL.md.
const (
	ReasonOccupied          Reason = "occupied"           // directed park onto a taken orbit
	ReasonLotFull           Reason = "lot-full"           // park-any with every orbit taken
	ReasonNoSuchOrbit       Reason = "no-such-orbit"      // outside the lot or not an orbit
	ReasonEmpty             Reason = "empty"              // retrieve of a free orbit
	ReasonTokenMismatch     Reason = "token-mismatch"     // safe retrieve of another call
	ReasonNotAllowed        Reason = "not-allowed"        // allowlist or credentials
	ReasonUnacceptableMedia Reason = "unacceptable-media" // an SDP the service cannot serve
	ReasonStopping          Reason = "stopping"           // the service is draining
	// ReasonPendingLimit refuses a park (503, Retry-After) from a source
	// that already has maxPendingPerSource parks whose 200 it has not
	// ACKed: not in PARK-PROTOCOL.md's list, which we extend with it.
	ReasonPendingLimit Reason = "pending-limit"
	// ReasonBadFor and ReasonBadNote refuse a park (400) whose for or
	// note URI parameter is malformed (forwhom.go): also our extension.
	ReasonBadFor  Reason = "bad-for"
	ReasonBadNote Reason = "bad-note"
)

// ReasonHeader is the name of the header that carries a Reason.
const ReasonHeader = "X-Park-Reason"

// header is r as an X-Park-Reason header.
func (r Reason) header() sip.Header { return sip.NewHeader(ReasonHeader, string(r)) }
