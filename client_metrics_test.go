package tiercache

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/tiercache/tiercache/internal/telemetry"
	"github.com/tiercache/tiercache/internal/telemetry/metricstest"
	"github.com/tiercache/tiercache/l2"
)

// TestClientMetricsHitsLoadsAndBreakers reads through a real region, then
// kills a node, and checks the scraped series against the client's own
// Stats and breaker states.
func TestClientMetricsHitsLoadsAndBreakers(t *testing.T) {
	tel, err := telemetry.New()
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Close()
	r := startRegion(t, 2, l2.TierOptions{})
	c := r.client(t, Config{
		OpTimeout: 200 * time.Millisecond,
		// Long enough that the breaker is still open when scraped.
		Breaker: BreakerConfig{Failures: 2, Cooldown: time.Minute, MaxCooldown: time.Minute},
	})
	unregister, err := c.RegisterMetrics(tel.Meter("tiercache/client"), attribute.String("app", "web"))
	if err != nil {
		t.Fatal(err)
	}
	defer unregister()
	origin := newCountingLoader()
	ctx := context.Background()
	for range 5 {
		if _, err := c.Get(ctx, "user:1", origin); err != nil {
			t.Fatal(err)
		}
	}

	s := metricstest.Get(t, tel)
	st := c.Stats()
	app := []string{"app", "web"}
	if v := s.Must(t, "tiercache_origin_loads_total", app...); v != 1 || v != float64(origin.loads.Load()) {
		t.Fatalf("origin loads %v, loader called %d times, want 1", v, origin.loads.Load())
	}
	l1 := s.Must(t, "tiercache_client_hits_total", "app", "web", "tier", "l1")
	l2h := s.Must(t, "tiercache_client_hits_total", "app", "web", "tier", "l2")
	if l1 != float64(st.L1Hits) || l2h != float64(st.L2Hits) || l1+l2h != 4 {
		t.Fatalf("hits l1 %v l2 %v (stats %d, %d), want the 4 reads after the load", l1, l2h, st.L1Hits, st.L2Hits)
	}
	s.Must(t, "tiercache_client_hits_total", "app", "web", "tier", "gutter")
	if v := s.Must(t, "tiercache_client_leases_total", app...); v != 1 {
		t.Fatalf("leases %v, want 1", v)
	}
	for _, id := range []string{"n1", "n2"} {
		if v := s.Must(t, "tiercache_breaker_open", "app", "web", "node", id, "pool", "ring"); v != 0 {
			t.Fatalf("breaker of healthy %s reads %v", id, v)
		}
	}

	// Kill n2 and read its keys until the client's breaker for it opens.
	topo := c.topo.Load()
	var dead []string
	for i := 0; len(dead) < 4; i++ {
		if k := fmt.Sprintf("d:%d", i); topo.ring.Owner([]byte(k)) == "n2" {
			dead = append(dead, k)
		}
	}
	r.nodes[1].Close()
	waitFor(t, "n2's breaker to open", func() bool {
		for _, k := range dead {
			c.Get(ctx, k, origin) // served degraded or failed: either counts
		}
		return c.Stats().BreakersOpen == 1
	})
	s = metricstest.Get(t, tel)
	if v := s.Must(t, "tiercache_breaker_open", "node", "n2", "pool", "ring"); v != 1 {
		t.Fatalf("breaker_open{n2} %v with n2 down", v)
	}
	if v := s.Must(t, "tiercache_breaker_open", "node", "n1"); v != 0 {
		t.Fatalf("breaker_open{n1} %v, n1 is up", v)
	}
	if v := s.Must(t, "tiercache_client_degraded_total", app...); v == 0 {
		t.Fatal("no degraded reads counted with n2 down")
	}
	var found bool
	for _, b := range c.Breakers() {
		if b.Node == "n2" && b.Open() && !b.Gutter {
			found = true
		}
	}
	if !found {
		t.Fatalf("Breakers() %+v: n2 not open", c.Breakers())
	}
}
