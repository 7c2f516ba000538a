// Package xfetch decides when a reader should recompute a cached value
// before it expires, by the probabilistic early expiration of Vattani,
// Chierichetti and Lowenstein ("Optimal Probabilistic Cache Stampede
// Prevention", VLDB 2015): refresh when
//
//	now - delta * beta * ln(u) >= expiry,  u uniform in (0, 1]
//
// where delta is how long a recompute takes. A value read often is
// refreshed by one reader shortly before it expires, with a probability
// that rises as expiry nears and with the cost of recomputing, so readers
// of one key rarely line up on its expiry.
package xfetch

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// ShouldRefresh reports whether a read at nowMs (unix milliseconds) should
// recompute a value that expires at expiryMs, given that a recompute takes
// delta, with eagerness beta (XFetch's β; 1 is the paper's optimum, 0 turns
// early refresh off) and u drawn uniformly from (0, 1]. A value already past
// expiryMs always refreshes; expiryMs 0 means "never expires".
func ShouldRefresh(nowMs, expiryMs int64, delta time.Duration, beta, u float64) bool {
	if expiryMs == 0 {
		return false
	}
	if nowMs >= expiryMs {
		return true
	}
	if beta <= 0 || delta <= 0 || u <= 0 || u > 1 {
		return false
	}
	gap := -float64(delta.Milliseconds()) * beta * math.Log(u)
	if delta < time.Millisecond {
		gap = -float64(delta) / float64(time.Millisecond) * beta * math.Log(u)
	}
	return float64(nowMs)+gap >= float64(expiryMs)
}

// Draw returns u for ShouldRefresh from the runtime's per-goroutine source:
// safe for concurrent use and free of allocation.
func Draw() float64 { return 1 - rand.Float64() }

// Delta is a running estimate of how long a recompute takes: an
// exponentially weighted moving average that weights the latest sample by
// 1/4, so a slower database shows within a few loads. The zero value has no
// estimate. It is safe for concurrent use.
type Delta struct {
	ns atomic.Int64
}

// Observe folds one measured recompute time into the estimate.
func (d *Delta) Observe(took time.Duration) {
	if took <= 0 {
		took = 1
	}
	for {
		old := d.ns.Load()
		next := int64(took)
		if old != 0 {
			next = old - old/4 + int64(took)/4
		}
		if d.ns.CompareAndSwap(old, next) {
			return
		}
	}
}

// Get returns the estimate, 0 when nothing has been observed.
func (d *Delta) Get() time.Duration { return time.Duration(d.ns.Load()) }
