package demo

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// latencies is a lock-free histogram of durations: buckets double every
// subBuckets steps (about 9% apart), from 1 µs to about 70 minutes.
// Workers record into it; the ticker diffs two snapshots to get one
// interval's percentiles.
type latencies struct {
	counts [bucketCount]atomic.Uint64
}

const (
	subBits     = 3
	subBuckets  = 1 << subBits
	bucketCount = 32 * subBuckets
)

func bucketOf(d time.Duration) int {
	us := uint64(max(d.Microseconds(), 0)) + subBuckets
	exp := bits.Len64(us) - 1 - subBits // ≥ 0 since us ≥ subBuckets
	b := exp*subBuckets + int(us>>uint(exp)) - subBuckets
	return min(b, bucketCount-1)
}

// upper returns a bucket's largest duration.
func upper(b int) time.Duration {
	exp, sub := b/subBuckets, b%subBuckets
	us := (uint64(sub+subBuckets+1) << uint(exp)) - 1 - subBuckets
	return time.Duration(us) * time.Microsecond
}

func (l *latencies) record(d time.Duration) { l.counts[bucketOf(d)].Add(1) }

// histogram is a snapshot of the counts.
type histogram [bucketCount]uint64

func (l *latencies) snapshot() (h histogram) {
	for i := range h {
		h[i] = l.counts[i].Load()
	}
	return h
}

// since returns the counts recorded after prev.
func (h histogram) since(prev histogram) (d histogram) {
	for i := range d {
		d[i] = h[i] - prev[i]
	}
	return d
}

// quantile returns the upper bound of the bucket holding quantile q, in
// milliseconds (0 with no samples).
func (h histogram) quantile(q float64) float64 {
	var total uint64
	for _, c := range h {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total-1)) + 1
	var seen uint64
	for i, c := range h {
		if seen += c; seen >= rank {
			return float64(upper(i)) / float64(time.Millisecond)
		}
	}
	return float64(upper(bucketCount-1)) / float64(time.Millisecond)
}
