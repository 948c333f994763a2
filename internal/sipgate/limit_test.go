package sipgate

import (
	"net/netip"
	"testing"
	"time"
)

func TestLogLimiterOncePerSourcePerIntervalWithTheCountUnlogged(t *testing.T) {
	l := newLogLimiter(time.Minute, 16)
	t0 := time.Unix(1000, 0)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	if ok, n := l.allow(a, t0); !ok || n != 0 {
		t.Fatalf("first from a: %v %d", ok, n)
	}
	for i := range 5 {
		if ok, _ := l.allow(a, t0.Add(time.Duration(i)*time.Second)); ok {
			t.Fatalf("a logged again within the interval (%d)", i)
		}
	}
	if ok, _ := l.allow(b, t0.Add(time.Second)); !ok {
		t.Fatal("b is another source and was not logged")
	}
	if ok, n := l.allow(a, t0.Add(time.Minute)); !ok || n != 5 {
		t.Fatalf("a after the interval: %v, %d unlogged (want 5)", ok, n)
	}
}

func TestLogLimiterMemoryIsBoundedUnderAFloodOfSources(t *testing.T) {
	const max = 64
	l := newLogLimiter(time.Minute, max)
	t0 := time.Unix(1000, 0)
	logged := 0
	for i := range 10 * max {
		src := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		if ok, _ := l.allow(src, t0); ok {
			logged++
		}
	}
	if n := l.size(); n > max+1 {
		t.Fatalf("%d sources remembered, bound %d+1", n, max)
	}
	if logged != max+1 {
		t.Fatalf("%d lines logged for %d sources; want one per remembered source and one for the rest (%d)", logged, 10*max, max+1)
	}
	// After the interval the table is pruned and new sources get their
	// own line again.
	later := t0.Add(time.Minute)
	if ok, _ := l.allow(netip.MustParseAddr("192.0.2.9"), later); !ok {
		t.Fatal("a new source after the interval was not logged")
	}
	if n := l.size(); n > 2 {
		t.Fatalf("%d sources remembered after the prune", n)
	}
}
