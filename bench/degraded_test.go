package bench

import (
	"testing"

	"go.uber.org/goleak"
)

// TestDegradedScenarioQuick runs the degraded scenario's quick shape: both
// modes measured, no read fails while one of three ring nodes is down, no
// survivor takes over the dead node's keys, and the gutter answers most of
// the dead node's reads, so the origin sees fewer loads than with the
// loader. Counts, not timings, are asserted: the machine is shared.
func TestDegradedScenarioQuick(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	r := runQuick(t, "degraded")
	for _, m := range []string{"loader", "gutter"} {
		figure(t, r, "read_p99_ms_"+m)
		figure(t, r, "stale_reads_"+m)
		if e := figure(t, r, "error_share_"+m); e > 0.05 {
			t.Errorf("%s: error share %v with the origin up", m, e)
		}
		// Neither mode rehashes: a survivor's commands per read stay
		// near what they were (writes and fills add a little noise).
		if c := figure(t, r, "survivor_load_change_"+m); c <= 0 || c > 1.5 {
			t.Errorf("%s: survivors' load changed x%.2f", m, c)
		}
	}
	if h := figure(t, r, "gutter_hit_share"); h < 0.3 {
		t.Errorf("gutter answered %.2f of the dead node's reads", h)
	}
	loader, gutter := figure(t, r, "origin_loads_per_s_loader"), figure(t, r, "origin_loads_per_s_gutter")
	if loader <= 0 || gutter >= loader {
		t.Errorf("origin loads/s during the outage: loader %.0f, gutter %.0f", loader, gutter)
	}
	checkTimeline(t, r, "timeline_s", true, 0, 1e6, "origin_per_s_gutter", "origin_per_s_loader")
}
