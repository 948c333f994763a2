package park

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/emiago/sipgo/sip"
)

// InstanceHeader is the header that carries the service's instance ID
// (PARK-PROTOCOL.md "Restarts are visible").
const InstanceHeader = "X-Park-Instance"

// newInstanceID is 16 random hex digits.
func newInstanceID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// instanceHeader is s's X-Park-Instance header.
func (s *Service) instanceHeader() sip.Header { return sip.NewHeader(InstanceHeader, s.instance) }
