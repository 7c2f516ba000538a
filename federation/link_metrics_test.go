package federation_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tiercache/tiercache/federation/federationtest"
	"github.com/tiercache/tiercache/internal/telemetry"
	"github.com/tiercache/tiercache/internal/telemetry/metricstest"
	"github.com/tiercache/tiercache/regions"
)

// TestLinkMetricsAfterReplication replicates writes over the simulated WAN
// and checks the scraped per-link series against the links' own Stats.
func TestLinkMetricsAfterReplication(t *testing.T) {
	tel, err := telemetry.New()
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Close()
	p, err := regions.Builtin(regions.DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	c := federationtest.NewCluster(t, federationtest.ClusterOptions{Profile: p, Seed: 7})
	from, to := p.Regions[0].Name, p.Regions[1].Name
	unregister, err := c.Endpoint(from).RegisterMetrics(tel.Meter("tiercache/federation"))
	if err != nil {
		t.Fatal(err)
	}
	defer unregister()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	const writes = 20
	for i := range writes {
		c.Write(from, fmt.Sprintf("user:%d", i), "v")
	}
	link := c.Link(from, to)
	if err := link.WaitDelivered(ctx, writes); err != nil {
		t.Fatal(err)
	}

	s := metricstest.Get(t, tel)
	st := link.Stats()
	l := []string{"region", from, "link", to}
	if v := s.Must(t, "tiercache_federation_connected", l...); v != 1 {
		t.Fatalf("connected %v", v)
	}
	if v := s.Must(t, "tiercache_federation_enqueued_total", l...); v != writes {
		t.Fatalf("enqueued %v, want %d", v, writes)
	}
	if v := s.Must(t, "tiercache_federation_undelivered", l...); v != 0 {
		t.Fatalf("undelivered %v after WaitDelivered", v)
	}
	if v := s.Must(t, "tiercache_federation_rtt_seconds", l...); v <= 0 {
		t.Fatalf("rtt %v on a connected link", v)
	}
	if v := s.Must(t, "tiercache_federation_lag_samples", l...); v == 0 {
		t.Fatal("no lag samples after delivery")
	}
	if v := s.Must(t, "tiercache_federation_lag_seconds", append(l, "quantile", "max")...); v <= 0 || v != st.ReplicationLagMax.Seconds() {
		t.Fatalf("lag max %v, stats %v", v, st.ReplicationLagMax)
	}
	p50 := s.Must(t, "tiercache_federation_lag_seconds", append(l, "quantile", "0.5")...)
	p99 := s.Must(t, "tiercache_federation_lag_seconds", append(l, "quantile", "0.99")...)
	if p50 <= 0 || p50 > p99 {
		t.Fatalf("lag p50 %v p99 %v", p50, p99)
	}
	// Every link of the endpoint is exported, not only the one written to.
	for _, r := range p.Regions[1:] {
		s.Must(t, "tiercache_federation_connected", "region", from, "link", r.Name)
	}
}
