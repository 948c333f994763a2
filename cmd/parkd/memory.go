package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// Memory: every park, retrieve and hang-up leaves SIP transaction state
// that sipgo keeps for the RFC's timers (32 s for INVITE and non-INVITE
// server transactions over UDP), and the Go runtime keeps the pages the
// heap grew to until a GC finds them free and its scavenger returns
// them, slowly. A service that goes idle allocates nothing, so no GC
// runs (but the forced one every 2 minutes), and its resident memory
// stays at the peak: a soak of 10,000 cycles left parkd at several times
// its live heap for as long as it stayed idle (docs/BENCHMARKS.md).
//
// parkd therefore (1) takes an optional soft memory limit, -memory-limit
// (debug.SetMemoryLimit: the GC runs sooner as the total nears it, and
// the scavenger returns what is above it), and (2) gives memory back
// when it goes quiet: after idleCheck without a GC, it collects and
// returns every free page (debug.FreeOSMemory), and does so again for
// as long as the transactions of the last activity can still be alive.

// idleCheck is how often the memory keeper looks for a quiet service.
const idleCheck = 10 * time.Second

// idleReleases is how many checks in a row, after activity stopped,
// give memory back: 4 × 10 s outlasts the 32 s transaction timers.
const idleReleases = 4

// parseSize reads a byte size: a number with an optional unit B, KiB,
// MiB, GiB (or KB, MB, GB, powers of 1000); 0 or "none" for no limit.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" || t == "none" || t == "0" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if v, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(v), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, errors.New("not a size like 128MiB")
	}
	n := v * mult
	if n > math.MaxInt64/2 {
		return 0, errors.New("too large")
	}
	if n < 16<<20 {
		return 0, errors.New("below 16MiB: the service would spend its time collecting")
	}
	return int64(n), nil
}

// gcCycles is the number of GCs the runtime has completed.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// memoryClassNames are the runtime's memory classes that tell live
// objects from what the heap keeps around them: "unused" is the free
// space inside spans that still hold a live object (fragmentation, which
// no release can return), "free" what is free and still resident.
var memoryClassNames = [...]struct{ key, metric string }{
	{"objects", "/memory/classes/heap/objects:bytes"},
	{"unused", "/memory/classes/heap/unused:bytes"},
	{"free", "/memory/classes/heap/free:bytes"},
	{"released", "/memory/classes/heap/released:bytes"},
	{"stacks", "/memory/classes/heap/stacks:bytes"},
	{"metadata", "/memory/classes/metadata/other:bytes"},
	{"spans", "/memory/classes/metadata/mspan/inuse:bytes"},
	{"total", "/memory/classes/total:bytes"},
}

// memoryClasses is a log group of the runtime's memory classes, in KiB.
func memoryClasses() slog.Value {
	s := make([]metrics.Sample, len(memoryClassNames))
	for i, c := range memoryClassNames {
		s[i].Name = c.metric
	}
	metrics.Read(s)
	attrs := make([]slog.Attr, 0, len(s))
	for i, c := range memoryClassNames {
		if s[i].Value.Kind() == metrics.KindUint64 {
			attrs = append(attrs, slog.Uint64(c.key+"_kib", s[i].Value.Uint64()>>10))
		}
	}
	return slog.GroupValue(attrs...)
}

// keepMemory sets the soft memory limit (0: none) and gives memory back
// to the system when the service goes quiet, checking every every,
// until ctx ends. It returns when ctx ends.
func keepMemory(ctx context.Context, limit int64, every time.Duration, log *slog.Logger) {
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	q := quietness{last: gcCycles()}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, ok := q.check(gcCycles())
		if !ok {
			continue
		}
		start := time.Now()
		debug.FreeOSMemory()
		q.released(gcCycles())
		log.Debug("memory given back while idle", "took", time.Since(start).Round(time.Microsecond),
			"release", fmt.Sprintf("%d/%d", n, idleReleases), "memory", memoryClasses())
	}
}

// quietness decides when to give memory back: at each check that finds
// no GC since the last (the service allocated nothing worth collecting),
// at most idleReleases times in a row; a GC of the service's own starts
// the count again.
type quietness struct {
	last  uint64 // GCs done at the last check or release
	quiet int    // releases since the service last collected
}

// check takes the GCs done so far and says whether to give memory back
// now, and which release in a row that is.
func (q *quietness) check(gcs uint64) (n int, release bool) {
	if gcs != q.last {
		q.quiet, q.last = 0, gcs // the service allocates: it is not idle
		return 0, false
	}
	if q.quiet >= idleReleases {
		return 0, false
	}
	q.quiet++
	return q.quiet, true
}

// released notes the GCs done once memory was given back (its own GC
// is not the service's).
func (q *quietness) released(gcs uint64) { q.last = gcs }
