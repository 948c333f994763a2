package sipconn

import (
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// MaxMessage is the largest SIP message, headers and body, that a stream
// may carry (64 KiB). sipgo's stream parser closes the connection of a
// peer that exceeds it, a header line that never ends included, after
// buffering at most this much.
const MaxMessage = 65535

// MaxUDPPayload is the largest UDP datagram over IPv4 (65535 less the
// IPv4 and UDP headers); IPv6 allows 20 bytes more.
const MaxUDPPayload = 65535 - 20 - 8

// LargeUDPMTU is what init sets sip.UDPMTUSize to: sipgo refuses to send
// a UDP message longer than UDPMTUSize-200, so this lets any datagram
// the network can carry go out.
const LargeUDPMTU = MaxUDPPayload + 200

// init raises sipgo's UDP size limit for every program that imports this
// package (parkd and the console do), before any goroutine can send, so
// that the package variable is never written while a transport reads it.
//
// sipgo's default (1500, checked as 1300 bytes) made it refuse to send a
// larger message: a response with many Via or Record-Route headers (a
// request that crossed a few proxies) was never sent, and the request
// got no answer at all. RFC 3261 §18.2.2 sends a response over the
// transport the request came on, and an IP-fragmented UDP datagram is
// legal. The trade-off: a fragmented datagram is lost whole when one
// fragment is, and some firewalls and NATs drop fragments; that is a
// chance of loss against the certainty of the old refusal. §18.1.1's
// rule that a large request SHOULD go over a congestion-controlled
// transport is the sender's choice of transport: requests this program
// originates to a peer it reaches over TCP or TLS keep using them, and
// only what must go over UDP (the peer offered nothing else) is
// fragmented instead of dropped.
func init() {
	sip.UDPMTUSize = LargeUDPMTU
}

// NewParser is sipgo's parser with MaxMessage as its message size bound,
// for sipgo.WithUserAgentParser. (It is sipgo's default today; stating it
// keeps the bound if the default moves.)
func NewParser() *sip.Parser {
	p := sip.NewParser()
	p.MaxMessageLength = MaxMessage
	return p
}

// UserAgentOptions are the sipgo.NewUA options of a bounded user agent:
// the parser of NewParser. Serve its TCP and TLS through a Listener.
func UserAgentOptions() []sipgo.UserAgentOption {
	return []sipgo.UserAgentOption{sipgo.WithUserAgentParser(NewParser())}
}
