package park

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Lot errors, mapped to SIP responses by the service.
var (
	ErrOrbitBusy  = errors.New("orbit is occupied")
	ErrLotFull    = errors.New("parking lot is full")
	ErrOutsideLot = errors.New("orbit is outside the lot")
)

// Range is an inclusive range of orbit numbers, the lot.
type Range struct {
	First, Last int
}

// ParseRange parses "701-720" (or a single "701") into a Range.
func ParseRange(s string) (Range, error) {
	lo, hi, found := strings.Cut(strings.TrimSpace(s), "-")
	first, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil {
		return Range{}, fmt.Errorf("orbit range %q: %q is not a number", s, lo)
	}
	last := first
	if found {
		if last, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
			return Range{}, fmt.Errorf("orbit range %q: %q is not a number", s, hi)
		}
	}
	r := Range{First: first, Last: last}
	return r, r.Validate()
}

// Validate reports whether r is a usable lot.
func (r Range) Validate() error {
	switch {
	case r.First <= 0:
		return fmt.Errorf("orbit range %s: orbits must be positive numbers", r)
	case r.Last < r.First:
		return fmt.Errorf("orbit range %s: reversed (first %d is above last %d)", r, r.First, r.Last)
	case r.Last-r.First >= 10000:
		return fmt.Errorf("orbit range %s: more than 10000 orbits", r)
	}
	return nil
}

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

// Contains reports whether orbit n is in the lot.
func (r Range) Contains(n int) bool { return n >= r.First && n <= r.Last }

// Size is the number of orbits in the lot.
func (r Range) Size() int { return r.Last - r.First + 1 }

// String returns "701-720".
func (r Range) String() string { return fmt.Sprintf("%d-%d", r.First, r.Last) }

// lot allocates orbits. A free orbit remembers when it was freed, so that
// "park on any" takes the least recently freed orbit and a just-retrieved
// orbit is not reused at once. It is not safe for concurrent use: the
// service guards it with its own lock.
type lot struct {
	r     Range
	busy  []bool
	freed []uint64 // sequence number of the last release
	seq   uint64
}

func newLot(r Range) *lot {
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
