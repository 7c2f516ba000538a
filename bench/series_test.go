package bench

import (
	"sort"
	"testing"
)

// checkTimeline asserts the plot series a scenario adds for the report: a
// time axis that increases and spans the event at 0 (before and after it
// when around is set), and series of the same length within [lo, hi].
func checkTimeline(t *testing.T, r *Result, tKey string, around bool, lo, hi float64, yKeys ...string) {
	t.Helper()
	ts := r.Series[tKey]
	if len(ts) < 2 || !sort.Float64sAreSorted(ts) {
		t.Fatalf("%s: time axis %s = %v", r.Scenario, tKey, ts)
	}
	if around && (ts[0] >= 0 || ts[len(ts)-1] <= 0) {
		t.Errorf("%s: time axis %v does not span the event at 0", r.Scenario, ts)
	}
	for _, k := range yKeys {
		ys := r.Series[k]
		if len(ys) != len(ts) {
			t.Errorf("%s: series %s has %d points for %d times", r.Scenario, k, len(ys), len(ts))
			continue
		}
		for _, y := range ys {
			if y < lo || y > hi {
				t.Errorf("%s: series %s has %v outside [%v, %v]", r.Scenario, k, y, lo, hi)
				break
			}
		}
	}
}

// checkLatencyCurve asserts a latency curve at latencyPercentiles: one
// positive value per percentile, never decreasing.
func checkLatencyCurve(t *testing.T, r *Result, key string) {
	t.Helper()
	ys := r.Series[key]
	if len(ys) != len(latencyPercentiles) || len(r.Series["latency_percentiles"]) != len(ys) {
		t.Fatalf("%s: curve %s = %v at %v", r.Scenario, key, ys, r.Series["latency_percentiles"])
	}
	if ys[0] <= 0 || !sort.Float64sAreSorted(ys) {
		t.Errorf("%s: curve %s = %v is not a latency distribution", r.Scenario, key, ys)
	}
}
