package raftmeta

import (
	"context"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/pki"
	"github.com/tiercache/tiercache/internal/telemetry"
	"github.com/tiercache/tiercache/internal/telemetry/metricstest"
)

// TestMemberMetricsFollowTheTopology registers nodes through the real API
// and checks that every member's scraped epoch equals the epoch it applied,
// that only the leader reports leading, and that node states are counted.
func TestMemberMetricsFollowTheTopology(t *testing.T) {
	tel, err := telemetry.New()
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Close()
	c := newCluster(t, clusterOpts{n: 3, insecure: true})
	for _, m := range c.members {
		unregister, err := m.RegisterMetrics(tel.Meter("tiercache/raftmeta"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unregister() }) // before the members close (cleanups run last-in first)
	}
	cl := c.client(pki.RoleAdmin)
	ctx := context.Background()
	var last uint64
	for _, id := range []string{"n1", "n2"} {
		lease, err := cl.Register(ctx, *spec(id, "eu"))
		if err != nil {
			t.Fatal(err)
		}
		last = lease.Epoch
	}
	if _, err := cl.Drain(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "every member to apply the drain", func() bool {
		for _, m := range c.members {
			if m.Topology().Epoch <= last {
				return false
			}
		}
		return true
	})

	s := metricstest.Get(t, tel)
	leaders := 0
	for _, m := range c.members {
		id := []string{"member", m.ID()}
		if v := s.Must(t, "tiercache_topology_epoch", id...); v != float64(m.Topology().Epoch) {
			t.Fatalf("%s: epoch gauge %v, member epoch %d", m.ID(), v, m.Topology().Epoch)
		}
		if v := s.Must(t, "tiercache_meta_raft_term", id...); v != float64(m.Status().Term) || v == 0 {
			t.Fatalf("%s: term gauge %v, status %d", m.ID(), v, m.Status().Term)
		}
		if v := s.Must(t, "tiercache_meta_members", id...); v != 3 {
			t.Fatalf("%s: members %v, want 3", m.ID(), v)
		}
		l := s.Must(t, "tiercache_meta_leader", id...)
		if l == 1 != m.IsLeader() {
			t.Fatalf("%s: leader gauge %v, IsLeader %v", m.ID(), l, m.IsLeader())
		}
		leaders += int(l)
		eu := append(id, "region", "eu", "tier", "l2")
		up := s.Must(t, "tiercache_meta_nodes", append(eu, "state", "up")...)
		draining := s.Must(t, "tiercache_meta_nodes", append(eu, "state", "draining")...)
		down := s.Must(t, "tiercache_meta_nodes", append(eu, "state", "down")...)
		if up != 1 || draining != 1 || down != 0 {
			t.Fatalf("%s: nodes up %v draining %v down %v, want 1 1 0", m.ID(), up, draining, down)
		}
	}
	if leaders != 1 {
		t.Fatalf("%d members report leading", leaders)
	}
}
