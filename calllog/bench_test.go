package calllog_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard/switchboard/calllog"
)

// filled returns a log of n entries: a site's calls over the retention
// (100k is about 1,100 calls a day for 90 days).
func filled(b *testing.B, n int) *calllog.Log {
	b.Helper()
	l := open(b, filepath.Join(b.TempDir(), "calls.db"), calllog.Options{Clock: fixed(t0), Queue: 4096})
	for i := 0; i < n; i++ {
		l.Add(entry(i))
		if i%2048 == 2047 {
			flush(b, l)
		}
	}
	flush(b, l)
	return l
}

func entry(i int) calllog.Entry {
	return calllog.Entry{Name: fmt.Sprintf("Caller Núñez %d", i), URI: fmt.Sprintf("sip:+4420%07d@10.0.0.7", i),
		Started: t0.Add(-time.Duration(i) * time.Minute), Answered: t0.Add(-time.Duration(i)*time.Minute + 5*time.Second),
		Ended: t0.Add(-time.Duration(i)*time.Minute + 2*time.Minute), Outcome: calllog.Outcome(i % 17)}
}

// BenchmarkInsert: one call's entry added to a log of 100k, written
// (the writer batches what waits; Flush every 64 adds, as a busy site
// never queues more).
func BenchmarkInsert(b *testing.B) {
	l := filled(b, 100_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.Add(entry(100_000 + i))
		if i%64 == 63 {
			flush(b, l)
		}
	}
	flush(b, l)
}

// BenchmarkInsertOne: one entry added and flushed alone: the worst case,
// a transaction per call.
func BenchmarkInsertOne(b *testing.B) {
	l := filled(b, 100_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.Add(entry(100_000 + i))
		flush(b, l)
	}
}

// BenchmarkSearch: the search box's query over 100k entries, the 200
// newest matches.
func BenchmarkSearch(b *testing.B) {
	l := filled(b, 100_000)
	for _, q := range []string{"nunez 4242", "99999", "nobody"} {
		b.Run(q, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := l.Search(context.Background(), q, 200); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("recent", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := l.Recent(context.Background(), 200); err != nil {
				b.Fatal(err)
			}
		}
	})
}
