package l3

import (
	"context"
	"testing"

	"github.com/tiercache/tiercache/internal/telemetry"
	"github.com/tiercache/tiercache/internal/telemetry/metricstest"
)

// TestNodeAndClientMetrics runs a miss, a fill and hits through a Client
// to a local node and checks the scraped series: the lease and hit counts
// must be exactly what the protocol did.
func TestNodeAndClientMetrics(t *testing.T) {
	tel, err := telemetry.New()
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Close()
	n, _ := newTestNode(t, Config{ID: "g1", Region: "eu"})
	c, err := NewClient(ClientConfig{Region: "eu", Local: []*Node{n}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRing(1, []Member{{ID: "g1", Region: "eu"}})
	if err != nil {
		t.Fatal(err)
	}
	c.SetRing(r)
	meter := tel.Meter("tiercache/l3")
	for _, reg := range []func() (func() error, error){
		func() (func() error, error) { return n.RegisterMetrics(meter) },
		func() (func() error, error) { return c.RegisterMetrics(meter) },
	} {
		unregister, err := reg()
		if err != nil {
			t.Fatal(err)
		}
		defer unregister()
	}
	ctx := context.Background()
	miss, err := c.Get(ctx, GetRequest{Key: []byte("user:1"), Mode: ModeLease})
	if err != nil || miss.Status != StatusLease {
		t.Fatalf("miss: %+v %v", miss, err)
	}
	if wait, err := c.Get(ctx, GetRequest{Key: []byte("user:1"), Mode: ModeLease}); err != nil || wait.Status != StatusWait {
		t.Fatalf("second misser: %+v %v", wait, err)
	}
	if rep, err := c.Fill(ctx, FillRequest{Key: []byte("user:1"), Token: miss.Token, Item: item("alice", 10)}); err != nil || rep.Status != StatusOK {
		t.Fatalf("fill: %+v %v", rep, err)
	}
	for range 3 {
		if rep, err := c.Get(ctx, GetRequest{Key: []byte("user:1"), Mode: ModeLease}); err != nil || rep.Status != StatusHit {
			t.Fatalf("hit: %+v %v", rep, err)
		}
	}

	s := metricstest.Get(t, tel)
	node := []string{"node", "g1", "region", "eu"}
	for name, want := range map[string]float64{
		"tiercache_l3_gets_total": 5, "tiercache_l3_hits_total": 3, "tiercache_l3_misses_total": 2, "tiercache_l3_keys": 1,
	} {
		if v := s.Must(t, name, node...); v != want {
			t.Fatalf("%s = %v, want %v", name, v, want)
		}
	}
	lease := append(node, "tier", "l3")
	for name, want := range map[string]float64{
		"tiercache_leases_granted_total": 1, "tiercache_leases_refused_total": 1, "tiercache_lease_fills_total": 1,
	} {
		if v := s.Must(t, name, lease...); v != want {
			t.Fatalf("%s{tier=l3} = %v, want %v", name, v, want)
		}
	}
	if v := s.Must(t, "tiercache_l3_client_calls_total", "region", "eu", "route", "local"); v != 6 {
		t.Fatalf("local calls %v, want 6", v)
	}
	if v := s.Must(t, "tiercache_l3_client_calls_total", "route", "remote"); v != 0 {
		t.Fatalf("remote calls %v with no federation", v)
	}
}
