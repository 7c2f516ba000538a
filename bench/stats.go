package bench

import (
	"math"
	"sort"
	"time"
)

// Percentile returns the p-th percentile (0..100) of samples by the
// nearest-rank method; it sorts samples in place.
func Percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	rank := int(math.Ceil(p/100*float64(len(samples)))) - 1
	rank = max(0, min(rank, len(samples)-1))
	return samples[rank]
}

// Millis converts d to float milliseconds for figures.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Mean returns the arithmetic mean of xs (0 for none).
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Ratio returns a/b, or 0 when b is 0 so a missing peer never shows as
// infinitely good.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// latencyPercentiles are the points of the latency curves the report
// plots (Series["latency_percentiles"]).
var latencyPercentiles = []float64{50, 75, 90, 95, 99, 99.9}

// addLatencyCurve records samples at latencyPercentiles as Series[key], in
// unit (time.Microsecond, time.Millisecond); it sorts samples in place.
func (r *Result) addLatencyCurve(key string, samples []time.Duration, unit time.Duration) {
	if len(samples) == 0 {
		return
	}
	r.Series["latency_percentiles"] = latencyPercentiles
	ys := make([]float64, len(latencyPercentiles))
	for i, p := range latencyPercentiles {
		ys[i] = float64(Percentile(samples, p)) / float64(unit)
	}
	r.Series[key] = ys
}
