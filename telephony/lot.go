package telephony

import (
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
)

// MaxLotSize is the most orbits a lot may have.
const MaxLotSize = 10000

// Why a lot is refused. ParseLot and Lot.Validate return one of these
// as it is; callers add their own context (the flag, the setting).
var (
	ErrLotSyntax      = errors.New("not a range like 701-720")
	ErrLotNotPositive = errors.New("orbits must be positive numbers")
	ErrLotReversed    = errors.New("reversed range")
	ErrLotTooLarge    = fmt.Errorf("more than %d orbits", MaxLotSize)
)

// DefaultLot is the lot 701-720 (DESIGN.md, "Defaults that make it run
// anywhere").
var DefaultLot = Lot{First: 701, Last: 720}

// Lot is the parking lot: the inclusive range of orbit numbers First to
// Last. The zero Lot is not valid; Validate says why a Lot is not.
type Lot struct {
	First, Last int
}

// ParseLot parses a lot written "701-720", or "701" for a lot of one
// orbit; spaces around the numbers are ignored. The error is one of the
// ErrLot values.
func ParseLot(s string) (Lot, error) {
	lo, hi, found := strings.Cut(strings.TrimSpace(s), "-")
	if !found {
		hi = lo
	}
	first, err1 := strconv.Atoi(strings.TrimSpace(lo))
	last, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil {
		return Lot{}, ErrLotSyntax
	}
	l := Lot{First: first, Last: last}
	if err := l.Validate(); err != nil {
		return Lot{}, err
	}
	return l, nil
}

// Validate reports why l is not a usable lot: ErrLotNotPositive,
// ErrLotReversed or ErrLotTooLarge; nil when it is.
func (l Lot) Validate() error {
	switch {
	case l.First <= 0 || l.Last <= 0:
		return ErrLotNotPositive
	case l.Last < l.First:
		return ErrLotReversed
	case l.Size() > MaxLotSize:
		return ErrLotTooLarge
	}
	return nil
}

// Contains reports whether orbit n is in the lot.
func (l Lot) Contains(n int) bool { return n >= l.First && n <= l.Last }

// Size is the number of orbits in the lot; 0 for a reversed lot.
func (l Lot) Size() int { return max(l.Last-l.First+1, 0) }

// All yields the orbit numbers of the lot, lowest first.
func (l Lot) All() iter.Seq[int] {
	return func(yield func(int) bool) {
		for n := l.First; n <= l.Last; n++ {
			if !yield(n) {
				return
			}
		}
	}
}

// String returns the lot as ParseLot reads it: "701-720" (a lot of one
// orbit is "701-701").
func (l Lot) String() string { return fmt.Sprintf("%d-%d", l.First, l.Last) }
