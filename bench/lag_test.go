package bench

import "testing"

// TestLagScenarioQuick is the smoke test of `tiercache bench lag --quick`:
// it runs over the simulated WAN and reports its figures. The lag target
// (p99 <= one-way + 20 ms) is for full runs on a quiet machine, so here
// only a lag that could not come from the WAN fails.
func TestLagScenarioQuick(t *testing.T) {
	r := runQuick(t, "lag")
	p50, p99 := figure(t, r, "lag_p50_ms"), figure(t, r, "lag_p99_ms")
	oneWay := figure(t, r, "one_way_delay_ms")
	if oneWay <= 0 || p50 <= 0 || p99 < p50 {
		t.Fatalf("lag p50 %v p99 %v one-way %v", p50, p99, oneWay)
	}
	// Six directed links, each with its figures and its curve.
	links := links(r, "lag_p99_ms_")
	if len(links) != 6 {
		t.Fatalf("per-link figures for %v", links)
	}
	var curves []string
	for _, l := range links {
		figure(t, r, "one_way_ms_"+l)
		curves = append(curves, "lag_p99_ms_over_time_"+l)
	}
	checkTimeline(t, r, "timeline_s", false, 0, 10_000, curves...)
}

// TestPartitionScenarioQuick cuts a region off for a second under writes:
// once healed every region must read what the origin holds.
func TestPartitionScenarioQuick(t *testing.T) {
	r := runQuick(t, "partition")
	figure(t, r, "converge_s")
	if s, l := figure(t, r, "stale_keys_after_converge"), figure(t, r, "invalidations_lost"); s != 0 || l != 0 {
		t.Fatalf("after the heal: %v stale keys, %v invalidations lost", s, l)
	}
}
