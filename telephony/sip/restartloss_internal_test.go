package sip

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/telephony"
)

// TestRestartMarks: only a call parked before its service's restart that
// leaves unsaid or lost within restartLossWindow is lost in the restart;
// one that gave up, one parked after it, or one that leaves once the
// window passed leaves as the lamp says; an orbit restored lit keeps its
// mark for the restored service's first probe.
func TestRestartMarks(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	before := telephony.Orbit{Number: 701, Occupied: true, ParkedAt: t0.Add(-time.Minute)}
	after := telephony.Orbit{Number: 701, Occupied: true, ParkedAt: t0.Add(time.Second)}
	free := func(how telephony.ParkOutcome) telephony.Orbit { return telephony.Orbit{Number: 701, Left: how} }
	for _, c := range []struct {
		name       string
		prev, next telephony.Orbit
		at         time.Duration // after the mark
		want       telephony.ParkOutcome
	}{
		{"came back free", before, free(telephony.LeftUnknown), time.Second, telephony.LeftServiceStopped},
		{"lost at the first probe", before, free(telephony.LeftLost), 2*time.Minute + time.Second, telephony.LeftServiceStopped},
		{"gave up", before, free(telephony.LeftGaveUp), time.Second, telephony.LeftGaveUp},
		{"retrieved", before, free(telephony.LeftRetrieved), time.Second, telephony.LeftRetrieved},
		{"parked after the restart", after, free(telephony.LeftLost), 2 * time.Second, telephony.LeftLost},
		{"lost once the window passed", before, free(telephony.LeftLost), restartLossWindow + time.Second, telephony.LeftLost},
		{"restored", before, before, time.Second, telephony.LeftUnknown},
		{"first seen lost", telephony.Orbit{Number: 701}, telephony.Orbit{Number: 701, Left: telephony.LeftLost, ParkedAt: t0.Add(-time.Minute)}, time.Second, telephony.LeftServiceStopped},
		{"first seen free", telephony.Orbit{Number: 701}, telephony.Orbit{Number: 701}, time.Second, telephony.LeftUnknown},
		{"first seen lost, parked after", telephony.Orbit{Number: 701}, telephony.Orbit{Number: 701, Left: telephony.LeftLost, ParkedAt: t0.Add(time.Second)}, 2 * time.Second, telephony.LeftLost},
	} {
		var m restartMarks
		m.mark([]int{701}, t0)
		if got := m.leftOf(701, c.prev, c.next, t0.Add(c.at)); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
		if got := m.leftOf(702, c.prev, c.next, t0.Add(c.at)); got != c.next.Left {
			t.Errorf("%s on an orbit not marked: %v, want %v", c.name, got, c.next.Left)
		}
	}

	// Restored lit, then lost at the first probe: still the restart's.
	var m restartMarks
	m.mark([]int{701}, t0)
	m.leftOf(701, before, before, t0.Add(time.Second))
	if got := m.leftOf(701, before, free(telephony.LeftLost), t0.Add(30*time.Second)); got != telephony.LeftServiceStopped {
		t.Errorf("restored, then lost: %v", got)
	}
	// Once free, the mark is spent: the next call there is not the
	// restart's.
	if got := m.leftOf(701, before, free(telephony.LeftLost), t0.Add(31*time.Second)); got != telephony.LeftLost {
		t.Errorf("a second departure: %v", got)
	}
}

// TestEarlierPark: a lit lamp naming this console as the parker of a
// call parked before the phone started is this console's park (parked
// by its earlier run); one parked since, by another console, or with
// no parker or time (a PBX's anonymous lamp) is not.
func TestEarlierPark(t *testing.T) {
	born := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	m := restartMarks{born: born}
	me := "sip:console@127.0.0.1:5060"
	lit := func(parker string, at time.Time) telephony.Orbit {
		return telephony.Orbit{Number: 701, Occupied: true, CallerURI: "sip:alice@10.0.0.1", Parker: parker, ParkedAt: at}
	}
	for _, c := range []struct {
		name string
		o    telephony.Orbit
		want bool
	}{
		{"parked by our earlier run", lit(me, born.Add(-time.Minute)), true},
		{"parked since we started", lit(me, born.Add(time.Second)), false},
		{"another console's", lit("sip:desk2@127.0.0.1:5062", born.Add(-time.Minute)), false},
		{"anonymous", lit("", time.Time{}), false},
		{"free", telephony.Orbit{Number: 701, Parker: me, ParkedAt: born.Add(-time.Minute)}, false},
	} {
		if got := m.earlierPark(c.o, me); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
