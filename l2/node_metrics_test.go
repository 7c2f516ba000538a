package l2

import (
	"context"
	"fmt"
	"testing"

	"github.com/tiercache/tiercache/internal/telemetry"
	"github.com/tiercache/tiercache/internal/telemetry/metricstest"
)

func newTelemetry(t *testing.T) *telemetry.Telemetry {
	t.Helper()
	tel, err := telemetry.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tel.Close() })
	return tel
}

// TestNodeMetricsFollowRealTraffic drives a node over RESP and checks the
// scraped series against what was done: the metrics read the node's own
// Stats, so they must agree with the traffic, labels included.
func TestNodeMetricsFollowRealTraffic(t *testing.T) {
	tel := newTelemetry(t)
	n := startNode(t, Config{ID: "m1", RegionID: 3, ActiveExpiry: -1})
	unregister, err := n.RegisterMetrics(tel.Meter("tiercache/l2"), "")
	if err != nil {
		t.Fatal(err)
	}
	rdb := newClient(t, n.Addr(), nil)
	ctx := context.Background()
	if err := rdb.Set(ctx, "user:1", "alice", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if v, err := rdb.Get(ctx, "user:1").Result(); err != nil || v != "alice" {
			t.Fatalf("GET: %q %v", v, err)
		}
	}
	for i := range 2 {
		if err := rdb.Get(ctx, fmt.Sprintf("absent:%d", i)).Err(); err == nil {
			t.Fatal("GET of an absent key found something")
		}
	}
	// A miss through the tier protocol takes a lease; the second misser is
	// told to wait.
	for range 2 {
		if err := rdb.Do(ctx, "TC.GET", "user:2", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}

	s := metricstest.Get(t, tel)
	node := []string{"node", "m1", "region", "3"}
	if v := s.Must(t, "tiercache_l2_commands_total", node...); v < 8 {
		t.Fatalf("commands %v after 8 commands", v)
	}
	if v := s.Must(t, "tiercache_l2_command_calls_total", append(node, "command", "get")...); v != 5 {
		t.Fatalf("GET calls %v, want 5", v)
	}
	if v := s.Must(t, "tiercache_l2_hits_total", node...); v < 3 {
		t.Fatalf("hits %v, want at least the 3 GETs of user:1", v)
	}
	if v := s.Must(t, "tiercache_l2_misses_total", node...); v < 2 {
		t.Fatalf("misses %v, want at least the 2 absent GETs", v)
	}
	if v := s.Must(t, "tiercache_l2_keys", node...); v != 1 {
		t.Fatalf("keys %v, want 1", v)
	}
	lease := append(node, "tier", "l2")
	if g, r := s.Must(t, "tiercache_leases_granted_total", lease...), s.Must(t, "tiercache_leases_refused_total", lease...); g != 1 || r != 1 {
		t.Fatalf("leases granted %v refused %v, want 1 and 1", g, r)
	}
	if v := s.Must(t, "tiercache_l2_busy_total", node...); v != 0 {
		t.Fatalf("busy %v with no load", v)
	}
	if v := s.Must(t, "tiercache_topology_epoch", node...); v != float64(n.Epoch()) {
		t.Fatalf("epoch gauge %v, node epoch %d", v, n.Epoch())
	}
	for _, q := range []string{"0.5", "0.99", "max"} {
		s.Must(t, "tiercache_replication_lag_seconds", append(node, "quantile", q)...)
	}

	// Counters move with later traffic: nothing is cached at registration.
	if err := rdb.Get(ctx, "user:1").Err(); err != nil {
		t.Fatal(err)
	}
	if v := metricstest.Get(t, tel).Must(t, "tiercache_l2_command_calls_total", append(node, "command", "get")...); v != 6 {
		t.Fatalf("GET calls %v after a sixth GET", v)
	}

	if err := unregister(); err != nil {
		t.Fatal(err)
	}
	if _, ok := metricstest.Get(t, tel).Value("tiercache_l2_commands_total", node...); ok {
		t.Fatal("series still exported after unregister")
	}
	if err := unregister(); err != nil {
		t.Fatalf("second unregister: %v", err)
	}
}

// TestTwoNodesShareAMeter checks that nodes registered on one meter keep
// separate series, as in the in-process demo.
func TestTwoNodesShareAMeter(t *testing.T) {
	tel := newTelemetry(t)
	nodes := startRegion(t, 2, nil)
	for _, n := range nodes {
		if _, err := n.RegisterMetrics(tel.Meter("tiercache/l2"), "eu"); err != nil {
			t.Fatal(err)
		}
	}
	rdb := newClient(t, nodes[0].Addr(), nil)
	for i := range 10 {
		if err := rdb.Set(context.Background(), fmt.Sprintf("k%d", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	s := metricstest.Get(t, tel)
	a := s.Must(t, "tiercache_l2_keys", "node", nodes[0].cfg.ID, "region", "eu")
	b := s.Must(t, "tiercache_l2_keys", "node", nodes[1].cfg.ID, "region", "eu")
	if a+b != 10 || a == 0 || b == 0 {
		t.Fatalf("keys per node %v and %v, want 10 split over both", a, b)
	}
	if v := s.Must(t, "tiercache_l2_forwarded_total", "node", nodes[0].cfg.ID); v != b {
		t.Fatalf("node 1 forwarded %v, node 2 holds %v", v, b)
	}
}
