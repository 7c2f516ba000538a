package bench

import "testing"

// TestRESPScenarioQuick drives redis-benchmark against an L2 node and
// redis-server (skipped when they are not installed, unless
// TIERCACHE_REQUIRE_REDIS=1).
func TestRESPScenarioQuick(t *testing.T) {
	res := runQuick(t, "resp")
	for _, name := range []string{"get_p1_ratio", "get_p16_ratio", "set_p1_ratio", "set_p16_ratio", "get_p16_p99_ratio"} {
		if v, ok := res.Figures[name]; !ok || v <= 0 {
			t.Errorf("figure %s = %v, %v", name, v, ok)
		}
	}
	if res.Machine.CPUs == 0 || res.Runs != 1 {
		t.Errorf("machine/runs not filled: %+v", res)
	}
}
