package bench

import "testing"

// TestRebalanceQuick is the CI smoke test of `tiercache bench rebalance
// --quick`: it runs and reports its figures. Targets are for full runs.
func TestRebalanceQuick(t *testing.T) {
	res := runQuick(t, "rebalance")
	for _, f := range []string{"keys_moved_over_ideal", "origin_peak_over_steady_naive", "origin_peak_over_steady_tiercache"} {
		if _, ok := res.Figures[f]; !ok {
			t.Fatalf("figure %s missing: %v", f, res.Figures)
		}
	}
	// Only the Diff ranges move: about 1/6 of the keys, never all.
	if r := res.Figures["keys_moved_over_ideal"]; r < 0.8 || r > 1.2 {
		t.Fatalf("keys moved over ideal %.3f", r)
	}
	if res.Figures["pull_through_hits_tiercache"] < 0 || res.Figures["migration_ms_tiercache"] <= 0 {
		t.Fatalf("figures %v", res.Figures)
	}
	checkTimeline(t, res, "origin_t_s", true, 0, 1e6, "origin_per_100ms_naive", "origin_per_100ms_tiercache")
}
