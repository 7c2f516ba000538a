package tiercache

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/telemetry"
	"github.com/tiercache/tiercache/internal/telemetry/metricstest"
	"github.com/tiercache/tiercache/l1"
	"github.com/tiercache/tiercache/l2"
)

// TestKeyspaceMetrics reads three keyspaces through a real node and checks
// the per-keyspace series: L1 hits and misses where L1 is on, origin loads
// and leases per keyspace, and a keyspace the table does not name counted
// under "other".
func TestKeyspaceMetrics(t *testing.T) {
	tel, err := telemetry.New()
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Close()
	r := startRegion(t, 1, l2.TierOptions{})
	ks := &keyspace.Table{Spaces: map[string]keyspace.Settings{
		"l1":   {L1: keyspace.L1All},
		"page": {L1: keyspace.L1Off},
	}}
	c := r.client(t, Config{Keyspaces: ks})
	unregister, err := c.RegisterMetrics(tel.Meter("tiercache/client"), attribute.String("app", "web"))
	if err != nil {
		t.Fatal(err)
	}
	defer unregister()
	waitFor(t, "subscriptions", c.trackingUpAll)
	origin := newCountingLoader()
	ctx := context.Background()
	get := func(key string) {
		t.Helper()
		if _, err := c.Get(ctx, key, origin); err != nil {
			t.Fatal(err)
		}
	}
	get("page:1")
	get("page:1")
	get("cart:1") // not in the table: "other"
	waitFor(t, "l1:a in L1", func() bool {
		get("l1:a")
		_, _, st := c.l1.Get(nil, []byte("l1:a"))
		return st == l1.Hit
	})
	before := c.KeyspaceStats()
	for range 5 {
		get("l1:a")
	}

	s := metricstest.Get(t, tel)
	series := func(name string, labels ...string) float64 {
		return s.Must(t, name, append([]string{"app", "web"}, labels...)...)
	}
	for keyspace, want := range map[string]float64{"page": 1, "other": 1, "l1": 1} {
		if v := series("tiercache_keyspace_origin_loads_total", "keyspace", keyspace); v != want {
			t.Errorf("origin loads of %s: %v, want %v", keyspace, v, want)
		}
		if v := series("tiercache_client_keyspace_leases_total", "keyspace", keyspace); v != want {
			t.Errorf("leases of %s: %v, want %v", keyspace, v, want)
		}
	}
	var l1Before KeyspaceStats
	for _, k := range before {
		if k.Keyspace == "l1" {
			l1Before = k
		}
	}
	if v := series("tiercache_keyspace_hits_total", "tier", "l1", "keyspace", "l1"); v != float64(l1Before.L1Hits+5) {
		t.Errorf("L1 hits of l1: %v, want %d+5", v, l1Before.L1Hits)
	}
	if v := series("tiercache_keyspace_misses_total", "tier", "l1", "keyspace", "l1"); v < 1 || v != float64(l1Before.L1Misses) {
		t.Errorf("L1 misses of l1: %v, want the %d before the key reached L1", v, l1Before.L1Misses)
	}
	// page has L1 off: it never asks L1, so it has no L1 misses.
	if v := series("tiercache_keyspace_misses_total", "tier", "l1", "keyspace", "page"); v != 0 {
		t.Errorf("L1 misses of page (L1 off): %v", v)
	}
	if v := series("tiercache_keyspace_misses_total", "tier", "l1", "keyspace", "other"); v != 1 {
		t.Errorf("L1 misses of other: %v, want 1", v)
	}
	// The per-keyspace counts add up to the client's totals.
	var hits, loads uint64
	for _, k := range c.KeyspaceStats() {
		hits += k.L1Hits
		loads += k.Loads
	}
	if st := c.Stats(); hits != st.L1Hits || loads != st.Loads {
		t.Errorf("per keyspace: %d L1 hits, %d loads; totals %d, %d", hits, loads, st.L1Hits, st.Loads)
	}
}
