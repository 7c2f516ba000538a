package raftmeta

import (
	"reflect"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/pki"
)

func TestPartitionedFollowerCatchesUp(t *testing.T) {
	c := newCluster(t, clusterOpts{insecure: true})
	l := c.waitLeader(5 * time.Second)
	f := (l + 1) % 3
	other := 3 - l - f
	c.members[f].setPartitioned(true)
	cl := c.client(pki.RoleAdmin, c.cfgs[l].HTTPAddr, c.cfgs[other].HTTPAddr)
	ctx := ctxFor(t, 30*time.Second)
	if _, err := cl.Register(ctx, *spec("n1", "eu")); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		if _, err := cl.SetWeight(ctx, "n1", i); err != nil {
			t.Fatal(err)
		}
	}
	want := c.members[c.waitLeader(5*time.Second)].Topology()
	if got := c.members[f].Topology(); got.Epoch != 0 {
		t.Fatalf("partitioned member applied epoch %d", got.Epoch)
	}
	c.members[f].setPartitioned(false)
	waitFor(t, 10*time.Second, "the healed member to catch up", func() bool {
		return reflect.DeepEqual(c.members[f].Topology(), want)
	})
}

func TestIsolatedLeaderNeverPublishes(t *testing.T) {
	c := newCluster(t, clusterOpts{insecure: true})
	ctx := ctxFor(t, 30*time.Second)
	all := c.client(pki.RoleAdmin)
	if _, err := all.Register(ctx, *spec("n1", "eu")); err != nil {
		t.Fatal(err)
	}
	old := c.waitLeader(5 * time.Second)
	// Follow everything the isolated member applies.
	w := NewWatcher(c.client(pki.RoleClient, c.cfgs[old].HTTPAddr))
	defer w.Close()
	var rec recorder
	w.OnChange(rec.record)

	c.members[old].setPartitioned(true)
	isolated, err := NewClient(ClientConfig{Members: []string{c.cfgs[old].HTTPAddr}, Insecure: true, RetryFor: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer isolated.Close()
	if _, err := isolated.SetWeight(ctx, "n1", 777); err == nil {
		t.Fatal("a write through the isolated leader was acknowledged")
	}
	waitFor(t, 10*time.Second, "a leader in the majority", func() bool {
		l := c.leaderIndex()
		return l >= 0 && l != old
	})
	res, err := c.client(pki.RoleAdmin, c.cfgs[(old+1)%3].HTTPAddr, c.cfgs[(old+2)%3].HTTPAddr).SetWeight(ctx, "n1", 5)
	if err != nil {
		t.Fatal(err)
	}
	if e := c.members[old].Topology().Epoch; e >= res.Epoch {
		t.Fatalf("isolated member at epoch %d during the partition", e)
	}
	c.members[old].setPartitioned(false)
	waitFor(t, 10*time.Second, "the old leader to catch up", func() bool {
		return c.members[old].Topology().Epoch == res.Epoch
	})
	for i, m := range c.members {
		if n, _ := m.Topology().Node("n1"); n.Weight != 5 {
			t.Fatalf("member %d has weight %d", i, n.Weight)
		}
	}
	for _, tp := range rec.all() {
		if n, _ := tp.Node("n1"); n.Weight == 777 {
			t.Fatalf("the isolated write surfaced at epoch %d", tp.Epoch)
		}
	}
}

func TestNoMajorityNoEpoch(t *testing.T) {
	c := newCluster(t, clusterOpts{insecure: true})
	ctx := ctxFor(t, 30*time.Second)
	cl := c.client(pki.RoleAdmin)
	if _, err := cl.Register(ctx, *spec("n1", "eu")); err != nil {
		t.Fatal(err)
	}
	l := c.waitLeader(5 * time.Second)
	for _, m := range c.members {
		waitFor(t, 5*time.Second, "replication", func() bool { return m.Topology().Epoch == 1 })
	}
	c.members[(l+1)%3].setPartitioned(true)
	c.members[(l+2)%3].setPartitioned(true)
	waitFor(t, 5*time.Second, "the leader to step down", func() bool { return c.leaderIndex() < 0 })
	short, err := NewClient(ClientConfig{Members: c.httpAddrs(), Insecure: true, RetryFor: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	if _, err := short.SetWeight(ctx, "n1", 9); err == nil {
		t.Fatal("a write was acknowledged without a majority")
	}
	for i, m := range c.members {
		if e := m.Topology().Epoch; e != 1 {
			t.Fatalf("member %d moved to epoch %d without a majority", i, e)
		}
	}
	c.members[(l+1)%3].setPartitioned(false)
	c.members[(l+2)%3].setPartitioned(false)
	res, err := cl.SetWeight(ctx, "n1", 10)
	if err != nil {
		t.Fatal(err)
	}
	// No member led while the write was tried, so no log holds it: the
	// first write after healing publishes the next epoch.
	if res.Epoch != 2 {
		t.Fatalf("write after healing got epoch %d", res.Epoch)
	}
}
