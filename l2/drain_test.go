package l2

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/l2/store"
	"github.com/tiercache/tiercache/raftmeta"
	"github.com/tiercache/tiercache/raftmeta/metatest"
)

// waitUntil polls cond until it holds, failing t when ctx ends first.
func waitUntil(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDrainThroughControlPlane drains one of three nodes with `ctl drain`
// (raftmeta's Drain): the drained node pushes its ranges to the remaining
// nodes with its progress in the rebalance record, the remaining nodes
// drop it from their rings and pull through from it meanwhile, and once
// the record says done the node can be closed without losing a key.
func TestDrainThroughControlPlane(t *testing.T) {
	meta := metatest.Start(t, metatest.Options{})
	cl := meta.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	watcher := raftmeta.NewWatcher(cl)
	t.Cleanup(func() { watcher.Close() })

	ids := []string{"n1", "n2", "n3"}
	nodes := map[string]*Node{}
	migs := map[string]*Migrator{}
	members := map[string]*ClusterMember{}
	for _, id := range ids {
		n := startNode(t, Config{ID: id, ActiveExpiry: -1})
		mig, err := NewMigrator(n, MigrateConfig{KeysPerSec: -1, BytesPerSec: -1, Control: NewMetaControl(cl), ReportEvery: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mig.Close() })
		m, err := n.JoinControlPlane(MetaConfig{Client: cl, Region: "r1", Migrator: mig})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		nodes[id], migs[id], members[id] = n, mig, m
	}
	top, err := watcher.Wait(ctx, func(tp *raftmeta.Topology) bool { return len(RegionPeers(tp, "r1")) == 3 })
	if err != nil {
		t.Fatalf("nodes never all up: %v", err)
	}
	waitUntil(ctx, t, "every node on the 3-node ring", func() bool {
		for _, n := range nodes {
			if n.Epoch() < top.Epoch {
				return false
			}
		}
		return true
	})

	// Plain SETs through n1 land on their owners.
	const keys = 2000
	c1 := newClient(t, nodes["n1"].Addr(), nil)
	pipe := c1.Pipeline()
	for i := range keys {
		pipe.Set(ctx, "k:"+strconv.Itoa(i), "v:"+strconv.Itoa(i), 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	held := nodes["n3"].store.Len()
	if held == 0 {
		t.Fatal("n3 owns no key")
	}

	// Hold the drain's push, so the remaining nodes must serve n3's keys
	// by pull-through first.
	if _, err := cl.PauseRebalance(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(ctx, t, "every migrator paused", func() bool {
		for _, m := range migs {
			m.mu.Lock()
			paused := m.paused
			m.mu.Unlock()
			if !paused {
				return false
			}
		}
		return true
	})
	if _, err := cl.Drain(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	top, err = watcher.Wait(ctx, func(tp *raftmeta.Topology) bool {
		nd, ok := tp.Node("n3")
		return ok && nd.State == raftmeta.StateDraining
	})
	if err != nil {
		t.Fatalf("n3 never draining: %v", err)
	}
	drainEpoch := top.Epoch
	waitUntil(ctx, t, "n1 and n2 on the drain epoch", func() bool {
		return nodes["n1"].Epoch() >= drainEpoch && nodes["n2"].Epoch() >= drainEpoch
	})
	for _, id := range []string{"n1", "n2"} {
		for _, rn := range nodes[id].Ring().Nodes() {
			if rn.ID == "n3" {
				t.Fatalf("%s's ring still has the draining n3", id)
			}
		}
	}
	waitUntil(ctx, t, "n3's drain to scan its keys", func() bool {
		p := migs["n3"].Progress()
		return p.Epoch == drainEpoch && p.KeysTotal == int64(held)
	})
	rec := waitRebalance(ctx, t, "n3's paused drain in the record", cl, func(r *raftmeta.Rebalance) bool {
		nd, ok := r.Nodes["n3"]
		return r.ToEpoch == drainEpoch && ok && nd.State == raftmeta.RebalancePaused && nd.KeysTotal == int64(held)
	})
	if rec.State != raftmeta.RebalancePaused || rec.Keys != 0 {
		t.Fatalf("record while held: %+v", rec)
	}
	if n := nodes["n3"].store.Len(); n != held {
		t.Fatalf("n3 holds %d keys while held, had %d", n, held)
	}

	// While the push is held, n3's keys are read on their new owners.
	c2 := newClient(t, nodes["n2"].Addr(), nil)
	owners := map[string]string{} // key → owner before the drain, from n3's ring
	for i := range keys {
		k := "k:" + strconv.Itoa(i)
		owners[k] = nodes["n3"].Ring().Owner([]byte(k))
	}
	pulledBefore := migs["n1"].Progress().PullHits + migs["n2"].Progress().PullHits
	readEvery(ctx, t, []*redis.Client{c1, c2}, keys, func(k string) bool { return owners[k] == "n3" })
	pulled := migs["n1"].Progress().PullHits + migs["n2"].Progress().PullHits - pulledBefore
	if pulled != uint64(held) {
		t.Fatalf("%d reads pulled through from n3, want %d", pulled, held)
	}

	if _, err := cl.ResumeRebalance(ctx); err != nil {
		t.Fatal(err)
	}
	rec = waitRebalance(ctx, t, "the drain done in the record", cl, func(r *raftmeta.Rebalance) bool {
		nd, ok := r.Nodes["n3"]
		return r.ToEpoch == drainEpoch && ok && nd.State == raftmeta.RebalanceDone && r.State == raftmeta.RebalanceDone
	})
	if nd := rec.Nodes["n3"]; nd.Keys != int64(held) || nd.KeysTotal != int64(held) || nd.RangesDone != nd.RangesTotal || nd.RangesTotal == 0 {
		t.Fatalf("n3's share of the done record: %+v", nd)
	}
	// Its pushed copies are dropped: from here on the keys live only on
	// n1 and n2.
	if n := nodes["n3"].store.Len(); n != 0 {
		t.Fatalf("n3 still holds %d keys after its drain", n)
	}

	members["n3"].Close()
	migs["n3"].Close()
	nodes["n3"].Close()
	pullsBefore := migs["n1"].Progress().Pulls + migs["n2"].Progress().Pulls
	readEvery(ctx, t, []*redis.Client{c1, c2}, keys, func(string) bool { return true })
	// tc.mdone ended the pull-through: every hit came from n1's and n2's
	// own stores.
	if pulls := migs["n1"].Progress().Pulls + migs["n2"].Progress().Pulls - pullsBefore; pulls != 0 {
		t.Fatalf("%d pull-through reads after the drain was done", pulls)
	}
}

// waitRebalance polls the rebalance record until cond holds and returns it.
func waitRebalance(ctx context.Context, t *testing.T, what string, cl *raftmeta.Client, cond func(*raftmeta.Rebalance) bool) *raftmeta.Rebalance {
	t.Helper()
	var rec *raftmeta.Rebalance
	waitUntil(ctx, t, what, func() bool {
		r, err := cl.Rebalance(ctx)
		if err == nil && r != nil && cond(r) {
			rec = r
			return true
		}
		return false
	})
	return rec
}

// readEvery GETs every key k:i that want selects, alternating clients, and
// fails on any miss or wrong value: an L2 miss is what would send a
// client to the origin.
func readEvery(ctx context.Context, t *testing.T, clients []*redis.Client, keys int, want func(string) bool) {
	t.Helper()
	var misses []string
	for i := range keys {
		k := "k:" + strconv.Itoa(i)
		if !want(k) {
			continue
		}
		v, err := clients[i%len(clients)].Get(ctx, k).Result()
		switch {
		case errors.Is(err, redis.Nil):
			misses = append(misses, k)
		case err != nil:
			t.Fatalf("GET %s: %v", k, err)
		case v != "v:"+strconv.Itoa(i):
			t.Fatalf("GET %s = %q", k, v)
		}
	}
	if len(misses) > 0 {
		t.Fatalf("%d misses (first %s)", len(misses), misses[0])
	}
}

// TestMigratorPullsFromDroppedNode checks that a node dropping a peer from
// its ring (the peer drained or went down) still knows the peer's address
// for the pull-through, though its new routing no longer has it and its
// migrator never dialled it.
func TestMigratorPullsFromDroppedNode(t *testing.T) {
	nodes := startRegion(t, 3, nil)
	n1, n3 := nodes[0], nodes[2]
	mig, err := NewMigrator(n1, unlimited)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mig.Close() })
	remaining := []Peer{{ID: "n1", Addr: n1.Addr()}, {ID: "n2", Addr: nodes[1].Addr()}}
	after := mustRing(t, remaining)
	var key string
	for i := 0; key == ""; i++ {
		if k := "k:" + strconv.Itoa(i); n1.Ring().Owner([]byte(k)) == "n3" && after.Owner([]byte(k)) == "n1" {
			key = k
		}
	}
	if err := n3.store.Set([]byte(key), store.Item{Value: []byte("v"), Version: n3.versions.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := n1.ApplyTopology(1, remaining); err != nil {
		t.Fatal(err)
	}
	v, err := newClient(t, n1.Addr(), nil).Get(ctxT(t), key).Result()
	if err != nil || v != "v" {
		t.Fatalf("GET %s on its new owner = %q, %v; want the dropped node's value", key, v, err)
	}
	if p := mig.Progress(); p.PullHits != 1 {
		t.Fatalf("pull hits %d, want 1", p.PullHits)
	}
}
