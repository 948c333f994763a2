package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"modernc.org/sqlite"
)

// syncVariants are the durability settings the benchmarks compare:
// synchronous FULL with SQLite's default fsync, FULL with fdatasync
// (modernc.org/sqlite's process-wide opt-in), and NORMAL.
var syncVariants = []struct {
	name      string
	sync      Sync
	fdatasync bool
}{
	{"full", SyncFull, false},
	{"full-fdatasync", SyncFull, true},
	{"normal", SyncNormal, false},
}

func benchStore(b *testing.B, sync Sync, fdatasync bool) *SQLite {
	b.Helper()
	if fdatasync {
		prev, err := sqlite.Fdatasync(true)
		if err != nil {
			b.Skipf("fdatasync: %v", err)
		}
		b.Cleanup(func() { _, _ = sqlite.Fdatasync(prev) })
	}
	s, err := OpenWith(filepath.Join(b.TempDir(), "state"), Options{Sync: sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkPark is one park written (the call and its leg, one
// transaction) per op, as the service writes it before its 200.
func BenchmarkPark(b *testing.B) {
	for _, v := range syncVariants {
		b.Run(v.name, func(b *testing.B) {
			s := benchStore(b, v.sync, v.fdatasync)
			ctx := context.Background()
			calls := make([]Call, 200)
			for i := range calls {
				calls[i] = parkedCall(i, i)
			}
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				if err := s.PutCall(ctx, calls[i%len(calls)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "parks/s")
		})
	}
}

// BenchmarkRetrieve is one retrieve written (two bridged legs in, the
// orbit out) per op.
func BenchmarkRetrieve(b *testing.B) {
	for _, v := range syncVariants {
		b.Run(v.name, func(b *testing.B) {
			s := benchStore(b, v.sync, v.fdatasync)
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				c := parkedCall(i%200, i)
				if i%2 == 1 {
					c = bridgedCall(i%200, i)
				}
				if err := s.PutCall(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
		})
	}
}

// BenchmarkLoad reads a store of 1,000 parked and 50 bridged calls, as
// a restarting service does; "open+load" includes Open (lock, pragmas,
// quick_check, migration check).
func BenchmarkLoad(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "state")
	s, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range 1000 {
		if err := s.PutCall(ctx, parkedCall(i, i)); err != nil {
			b.Fatal(err)
		}
	}
	for i := 1000; i < 1050; i++ {
		if err := s.PutCall(ctx, bridgedCall(i, i)); err != nil {
			b.Fatal(err)
		}
	}
	check := func(snap Snapshot) {
		if len(snap.Calls) != 1050 {
			b.Fatalf("loaded %d calls, want 1050", len(snap.Calls))
		}
	}
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			snap, err := s.Load(ctx)
			if err != nil {
				b.Fatal(err)
			}
			check(snap)
		}
	})
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.Run("open+load", func(b *testing.B) {
		for b.Loop() {
			s, err := Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			snap, err := s.Load(ctx)
			if err != nil {
				b.Fatal(err)
			}
			check(snap)
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
