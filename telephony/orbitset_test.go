package telephony_test

import (
	"slices"
	"testing"

	"github.com/switchboard/switchboard/telephony"
)

func TestOrbitSet(t *testing.T) {
	s, ok := telephony.NewOrbitSet(705, 701, 705, 703)
	if !ok || s.Len() != 3 || !slices.Equal(s.List(), []int{701, 703, 705}) {
		t.Fatalf("NewOrbitSet(705, 701, 705, 703) = %v, %v", s.List(), ok)
	}
	if !s.Contains(703) || s.Contains(702) {
		t.Fatalf("Contains: %v", s.List())
	}
	l := s.List()
	l[0] = 1
	if s.List()[0] != 701 {
		t.Fatal("List shares the set's orbits")
	}
	var many []int
	for n := range telephony.MaxCandidates + 1 {
		many = append(many, 701+n)
	}
	if s, ok := telephony.NewOrbitSet(many...); ok || s.Len() != 0 {
		t.Fatalf("NewOrbitSet of %d orbits = %v, %v, want refused", len(many), s.List(), ok)
	}
	if s, ok := telephony.NewOrbitSet(many[:telephony.MaxCandidates]...); !ok || s.Len() != telephony.MaxCandidates {
		t.Fatalf("NewOrbitSet of %d orbits = %v, %v", telephony.MaxCandidates, s.List(), ok)
	}
	c := telephony.Call{State: telephony.StateParkedAway, Candidates: s}
	if !c.Uncertain() {
		t.Fatal("a parked call with candidates and no orbit is not uncertain")
	}
	c.Orbit = 701
	if c.Uncertain() {
		t.Fatal("a call parked on an orbit is uncertain")
	}
}
