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

// lot allocates orbits. A free orbit remembers when it was freed, so that
// "park on any" takes the least recently freed orbit and a just-retrieved
// orbit is not reused at once. It is not safe for concurrent use: the
// service guards it with its own lock.
type lot struct {
	r     telephony.Lot
	busy  []bool
	freed []uint64 // sequence number of the last release
	seq   uint64
}

func newLot(r telephony.Lot) *lot {
	l := &lot{r: r, busy: make([]bool, r.Size()), freed: make([]uint64, r.Size())}
	for i := range l.freed {
		l.freed[i] = uint64(i) // initially in ascending orbit order
	}
	l.seq = uint64(r.Size())
	return l
}

// take occupies orbit n.
func (l *lot) take(n int) error {
	if !l.r.Contains(n) {
		return ErrOutsideLot
	}
	i := n - l.r.First
	if l.busy[i] {
		return ErrOrbitBusy
	}
	l.busy[i] = true
	return nil
}

// takeAny occupies the least recently freed orbit.
func (l *lot) takeAny() (int, error) {
	best := -1
	for i, b := range l.busy {
		if !b && (best < 0 || l.freed[i] < l.freed[best]) {
			best = i
		}
	}
	if best < 0 {
		return 0, ErrLotFull
	}
	l.busy[best] = true
	return l.r.First + best, nil
}

// release frees orbit n.
func (l *lot) release(n int) {
	if !l.r.Contains(n) {
		return
	}
	i := n - l.r.First
	l.busy[i] = false
	l.freed[i] = l.seq
	l.seq++
}
