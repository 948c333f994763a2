package park

import (
	"errors"
	"strconv"

	"github.com/switchboard/switchboard/telephony"
)

// Lot errors, mapped to SIP responses by the service.
var (
	ErrOrbitBusy  = errors.New("orbit is occupied")
	ErrLotFull    = errors.New("parking lot is full")
	ErrOutsideLot = errors.New("orbit is outside the lot")
)

// parseOrbit reads an orbit number as PARK-PROTOCOL.md writes it:
// decimal digits without sign or leading zeros. "0", "0705", "+705",
// "-705", "" and anything that is not a number give false.
func parseOrbit(s string) (int, bool) {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// lot is the one record of which orbits are taken and by which call. A
// free orbit remembers when it was freed, so that "park on any" takes the
// least recently freed orbit and a just-retrieved orbit is not reused at
// once. It is not safe for concurrent use: the service guards it with
// its own lock.
type lot struct {
	r     telephony.Lot
	calls []*parkedCall // by orbit - r.First; nil: free
	freed []uint64      // sequence number of the last release
	seq   uint64
	taken int
}

func newLot(r telephony.Lot) *lot {
	l := &lot{r: r, calls: make([]*parkedCall, r.Size()), freed: make([]uint64, r.Size())}
	for i := range l.freed {
		l.freed[i] = uint64(i) // initially in ascending orbit order
	}
	l.seq = uint64(r.Size())
	return l
}

// take puts c on orbit n.
func (l *lot) take(n int, c *parkedCall) error {
	if !l.r.Contains(n) {
		return ErrOutsideLot
	}
	i := n - l.r.First
	if l.calls[i] != nil {
		return ErrOrbitBusy
	}
	l.calls[i] = c
	l.taken++
	return nil
}

// takeAny puts c on the least recently freed orbit.
func (l *lot) takeAny(c *parkedCall) (int, error) {
	best := -1
	for i, b := range l.calls {
		if b == nil && (best < 0 || l.freed[i] < l.freed[best]) {
			best = i
		}
	}
	if best < 0 {
		return 0, ErrLotFull
	}
	l.calls[best] = c
	l.taken++
	return l.r.First + best, nil
}

// at is the call on orbit n; nil when free or outside the lot.
func (l *lot) at(n int) *parkedCall {
	if !l.r.Contains(n) {
		return nil
	}
	return l.calls[n-l.r.First]
}

// holds says whether c is on orbit n.
func (l *lot) holds(n int, c *parkedCall) bool { return c != nil && l.at(n) == c }

// release frees orbit n if c is on it, and reports whether it was.
func (l *lot) release(n int, c *parkedCall) bool {
	if !l.holds(n, c) {
		return false
	}
	i := n - l.r.First
	l.calls[i] = nil
	l.taken--
	l.freed[i] = l.seq
	l.seq++
	return true
}

// len is the number of taken orbits.
func (l *lot) len() int { return l.taken }

// all is every call on an orbit, in orbit order.
func (l *lot) all() []*parkedCall {
	out := make([]*parkedCall, 0, l.taken)
	for _, c := range l.calls {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}
