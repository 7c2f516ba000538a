package bench

import (
	"context"
	"errors"
	"os"
	"testing"
)

func TestRESPScenarioQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("drives redis-benchmark; skipped in -short")
	}
	res, err := runRESP(context.Background(), Options{Quick: true, Runs: 1})
	if errors.Is(err, ErrPeerMissing) {
		if os.Getenv("TIERCACHE_REQUIRE_REDIS") == "1" {
			t.Fatalf("TIERCACHE_REQUIRE_REDIS=1 but: %v", err)
		}
		t.Skipf("side-by-side test needs Redis tools: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"get_p1_ratio", "get_p16_ratio", "set_p1_ratio", "set_p16_ratio", "get_p16_p99_ratio"} {
		if v, ok := res.Figures[name]; !ok || v <= 0 {
			t.Errorf("figure %s = %v, %v", name, v, ok)
		}
	}
	if res.Machine.CPUs == 0 || res.Runs != 1 {
		t.Errorf("machine/runs not filled: %+v", res)
	}
}
