package main

import (
	"slices"
	"testing"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"none": 0, "0": 0, "": 0, "128MiB": 128 << 20, "1GiB": 1 << 30, "100MB": 100e6,
		"64 MiB": 64 << 20, "20000000": 20000000, "0.5GiB": 1 << 29,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"lots", "-1MiB", "1MiB", "12", "NaNMiB", "1e30GiB", "MiB"} {
		if n, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", bad, n)
		}
	}
}

// TestReleaseWhenQuiet: memory goes back at each quiet check, at most
// idleReleases times in a row (long enough for the transactions of the
// last activity to end), and again after the service was busy (a GC of
// its own) and went quiet again; never while it keeps collecting.
func TestReleaseWhenQuiet(t *testing.T) {
	gcs := uint64(10)
	q := quietness{last: gcs}
	var releases []int
	check := func(busy bool) {
		if busy {
			gcs++
		}
		if n, ok := q.check(gcs); ok {
			releases = append(releases, n)
			gcs++ // FreeOSMemory's own GC
			q.released(gcs)
		}
	}
	check(true) // busy: nothing
	for range idleReleases + 3 {
		check(false)
	}
	check(true)  // busy again
	check(false) // quiet again: one more release
	check(true)
	check(true)
	if want := []int{1, 2, 3, 4, 1}; !slices.Equal(releases, want) {
		t.Fatalf("releases %v, want %v", releases, want)
	}
}

// TestMemoryClassesNameRealMetrics: every class the release logs is one
// the runtime knows (a misspelt name would read as KindBad and vanish
// from the log).
func TestMemoryClassesNameRealMetrics(t *testing.T) {
	v := memoryClasses()
	if got := len(v.Group()); got != len(memoryClassNames) {
		t.Fatalf("memory classes logged %d of %d: %v", got, len(memoryClassNames), v)
	}
}
