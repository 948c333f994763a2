package main

import (
	"math"
	"slices"
	"time"
)

// Histogram resolution: 10 µs buckets up to 1 s, then one overflow bucket.
const (
	bucketWidth = 10 * time.Microsecond
	buckets     = int(time.Second / bucketWidth)
)

// histogram counts durations in fixed buckets; it is cheap enough to
// take every packet of every caller.
type histogram struct {
	counts []uint64 // buckets+1: the last one is everything ≥ 1 s
	n      uint64
	max    int64 // ns
}

func (h *histogram) init() { h.counts = make([]uint64, buckets+1) }

// add counts one duration of ns nanoseconds (negative counts as 0).
func (h *histogram) add(ns int64) {
	if ns < 0 {
		ns = 0
	}
	i := int(ns / int64(bucketWidth))
	if i > buckets {
		i = buckets
	}
	h.counts[i]++
	h.n++
	h.max = max(h.max, ns)
}

// merge adds o's counts to h.
func (h *histogram) merge(o *histogram) {
	if h.counts == nil {
		h.init()
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile is the q-quantile (0..1) as the middle of its bucket; 0 for an
// empty histogram.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n-1)) + 1
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			if i == buckets {
				return time.Duration(h.max)
			}
			return time.Duration(i)*bucketWidth + bucketWidth/2
		}
	}
	return time.Duration(h.max)
}

// above is how many durations were more than d.
func (h *histogram) above(d time.Duration) uint64 {
	var n uint64
	for i := int(d/bucketWidth) + 1; i < len(h.counts); i++ {
		n += h.counts[i]
	}
	return n
}

// sample is a set of durations for exact quantiles.
type sample []time.Duration

// quantile is the nearest-rank q-quantile; 0 when empty.
func (s sample) quantile(q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	c := slices.Clone(s)
	slices.Sort(c)
	i := int(math.Ceil(q*float64(len(c)))) - 1
	return c[min(max(i, 0), len(c)-1)]
}
