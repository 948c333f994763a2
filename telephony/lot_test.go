package telephony_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/switchboard/switchboard/telephony"
)

// TestParseLot: a range or a single orbit, spaces allowed; anything else
// is refused with its typed reason.
func TestParseLot(t *testing.T) {
	for in, want := range map[string]telephony.Lot{
		"701-720":     {First: 701, Last: 720},
		" 701 - 705 ": {First: 701, Last: 705},
		"800":         {First: 800, Last: 800},
		"1-10000":     {First: 1, Last: 10000},
	} {
		if got, err := telephony.ParseLot(in); got != want || err != nil {
			t.Errorf("ParseLot(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]error{
		"720-701":      telephony.ErrLotReversed,
		"0-5":          telephony.ErrLotNotPositive,
		"0":            telephony.ErrLotNotPositive,
		"1-10001":      telephony.ErrLotTooLarge,
		"1-20000":      telephony.ErrLotTooLarge,
		"a-b":          telephony.ErrLotSyntax,
		"seven-twenty": telephony.ErrLotSyntax,
		"701-x":        telephony.ErrLotSyntax,
		"701-":         telephony.ErrLotSyntax,
		"-705":         telephony.ErrLotSyntax,
		"701-705-710":  telephony.ErrLotSyntax,
		"":             telephony.ErrLotSyntax,
	} {
		if got, err := telephony.ParseLot(in); got != (telephony.Lot{}) || !errors.Is(err, want) {
			t.Errorf("ParseLot(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

// TestLotValidate: the same rules hold for a Lot built in code.
func TestLotValidate(t *testing.T) {
	for _, tc := range []struct {
		lot telephony.Lot
		err error
	}{
		{telephony.DefaultLot, nil},
		{telephony.Lot{First: 5, Last: 5}, nil},
		{telephony.Lot{}, telephony.ErrLotNotPositive},
		{telephony.Lot{First: 701}, telephony.ErrLotNotPositive},
		{telephony.Lot{First: -3, Last: 5}, telephony.ErrLotNotPositive},
		{telephony.Lot{First: 720, Last: 701}, telephony.ErrLotReversed},
		{telephony.Lot{First: 1, Last: telephony.MaxLotSize}, nil},
		{telephony.Lot{First: 1, Last: telephony.MaxLotSize + 1}, telephony.ErrLotTooLarge},
	} {
		if err := tc.lot.Validate(); err != tc.err {
			t.Errorf("%v.Validate() = %v, want %v", tc.lot, err, tc.err)
		}
	}
	if got := telephony.ErrLotTooLarge.Error(); got != "more than 10000 orbits" {
		t.Errorf("ErrLotTooLarge says %q", got)
	}
}

// TestLotMembers: Contains, Size, All and String agree with each other,
// and String reads back.
func TestLotMembers(t *testing.T) {
	l := telephony.Lot{First: 701, Last: 704}
	if got := slices.Collect(l.All()); !slices.Equal(got, []int{701, 702, 703, 704}) {
		t.Errorf("All = %v", got)
	}
	if l.Size() != 4 || !l.Contains(701) || !l.Contains(704) || l.Contains(700) || l.Contains(705) {
		t.Errorf("Size %d, Contains 700/701/704/705 = %v/%v/%v/%v", l.Size(), l.Contains(700), l.Contains(701), l.Contains(704), l.Contains(705))
	}
	if l.String() != "701-704" {
		t.Errorf("String = %q", l.String())
	}
	if back, err := telephony.ParseLot(l.String()); err != nil || back != l {
		t.Errorf("ParseLot(String) = %v, %v", back, err)
	}
	one := telephony.Lot{First: 9, Last: 9}
	if back, err := telephony.ParseLot(one.String()); err != nil || back != one || one.Size() != 1 {
		t.Errorf("lot of one: %q reads back as %v, %v", one.String(), back, err)
	}
	for n := range l.All() {
		if n == 702 {
			break // All stops when asked
		}
	}
	if r := (telephony.Lot{First: 5, Last: 4}); r.Size() != 0 || slices.Collect(r.All()) != nil {
		t.Errorf("reversed lot: Size %d, All %v", r.Size(), slices.Collect(r.All()))
	}
}
