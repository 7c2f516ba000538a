package tiercache

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/raftmeta"
	"github.com/tiercache/tiercache/raftmeta/metatest"
)

// cpRegion is a region of L2 nodes joined to a test control plane, and a
// tier client following it.
type cpRegion struct {
	cl      *raftmeta.Client
	watcher *raftmeta.Watcher
	nodes   []*l2.Node
	members []*l2.ClusterMember
	client  *Client
}

// startCPRegion starts a control plane with a 1 s lease, size nodes in
// region "r1" whose "user" keyspace keeps copies, and a client following
// the topology once every node is up in it and has applied it.
func startCPRegion(t *testing.T, size, copies int) *cpRegion {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cp := metatest.Start(t, metatest.Options{LeaseTimeout: time.Second})
	r := &cpRegion{cl: cp.Client(t)}
	if _, err := r.cl.SetKeyspace(ctx, "user", keyspace.Settings{Replicas: copies}); err != nil {
		t.Fatal(err)
	}
	r.watcher = raftmeta.NewWatcher(r.cl)
	t.Cleanup(func() { r.watcher.Close() })
	for i := range size {
		n := startNode(t, l2.Config{ID: "n" + strconv.Itoa(i+1)})
		m, err := n.JoinControlPlane(l2.MetaConfig{Client: r.cl, Region: "r1"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		r.nodes, r.members = append(r.nodes, n), append(r.members, m)
	}
	top, err := r.watcher.Wait(ctx, func(tp *raftmeta.Topology) bool { return len(TopologyOf(tp, "r1").Nodes) == size })
	if err != nil {
		t.Fatalf("nodes never all up: %v", err)
	}
	r.waitApplied(t, top.Epoch, r.nodes)
	r.client, err = New(Config{Nodes: TopologyOf(top, "r1").Nodes, L1MaxBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.client.Close() })
	stop := r.client.FollowTopology(r.watcher, "r1")
	t.Cleanup(stop)
	return r
}

// waitApplied waits until every node in nodes has applied epoch (or later).
func (r *cpRegion) waitApplied(t *testing.T, epoch uint64, nodes []*l2.Node) {
	t.Helper()
	for _, n := range nodes {
		waitFor(t, "a node at epoch "+strconv.FormatUint(epoch, 10), func() bool { return n.Epoch() >= epoch })
	}
}

// TestFailoverServesFromReplica kills a primary and reads every key back
// through a client that follows the control plane: once raftmeta marks the
// node down, its keys are served by their first replica, not loaded from
// the origin, and no read outlives its deadline.
func TestFailoverServesFromReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a control-plane lease")
	}
	r := startCPRegion(t, 3, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const keys = 300
	for i := range keys {
		if _, err := r.client.Set(ctx, "user:"+strconv.Itoa(i), []byte("v"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range r.nodes {
		waitFor(t, "replication", func() bool { s := n.ReplicaStats(); return s.Applied >= s.Enqueued })
	}
	victim := r.nodes[1].Ring()
	owned := 0
	for i := range keys {
		if victim.Owner([]byte("user:"+strconv.Itoa(i))) == "n2" {
			owned++
		}
	}
	if owned == 0 {
		t.Fatal("n2 owns no key")
	}
	killed := time.Now()
	r.members[1].Close()
	r.nodes[1].Close()
	top, err := r.watcher.Wait(ctx, func(tp *raftmeta.Topology) bool { return len(TopologyOf(tp, "r1").Nodes) == 2 })
	if err != nil {
		t.Fatalf("n2 never marked down: %v", err)
	}
	t.Logf("n2 marked down %v after the kill, epoch %d; it owned %d keys", time.Since(killed), top.Epoch, owned)
	r.waitApplied(t, top.Epoch, []*l2.Node{r.nodes[0], r.nodes[2]})
	// The client hears of the epoch through its own watcher callback, which
	// may run just after Wait returns; a read sent on the old ring would go
	// to the dead node and take the degraded path to the origin.
	waitFor(t, "the client at the new epoch", func() bool { return r.client.topo.Load().epoch >= top.Epoch })

	var loads atomic.Int64
	origin := LoaderFunc(func(ctx context.Context, key string) ([]byte, error) {
		loads.Add(1)
		return []byte("origin"), nil
	})
	for i := range keys {
		k := "user:" + strconv.Itoa(i)
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		start := time.Now()
		v, err := r.client.Get(rctx, k, origin)
		rcancel()
		if err != nil || string(v) != "v"+strconv.Itoa(i) {
			t.Fatalf("%s: %q %v", k, v, err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("%s took %v", k, took)
		}
	}
	if n := loads.Load(); n != 0 {
		t.Fatalf("%d keys reloaded from the origin", n)
	}
}

// TestMovedRetriesAtTheOwner: a client whose topology is an epoch behind
// the nodes' (they gave n1 more weight) is redirected for the keys that
// moved, resends once to the owner the node named, and reads back what it
// wrote.
func TestMovedRetriesAtTheOwner(t *testing.T) {
	var nodes []*l2.Node
	var old []Node
	for i := range 3 {
		n := startNode(t, l2.Config{ID: "n" + strconv.Itoa(i+1)})
		nodes = append(nodes, n)
		old = append(old, Node{ID: "n" + strconv.Itoa(i+1), Addr: n.Addr()})
	}
	cur := make([]l2.Peer, 3)
	for i, nd := range old {
		cur[i] = l2.Peer{ID: nd.ID, Addr: nd.Addr, Weight: 1}
	}
	cur[0].Weight = 4
	for _, n := range nodes {
		if err := n.ApplyTopology(2, cur); err != nil {
			t.Fatal(err)
		}
	}
	c, err := New(Config{Nodes: old, L1MaxBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetTopology(Topology{Epoch: 1, Nodes: old}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	origin := LoaderFunc(func(ctx context.Context, key string) ([]byte, error) { return []byte("origin"), nil })
	for i := range 200 {
		k := "user:" + strconv.Itoa(i)
		if _, err := c.Set(ctx, k, []byte("v"+k)); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
		if v, err := c.Get(ctx, k, origin); err != nil || string(v) != "v"+k {
			t.Fatalf("get %s: %q %v", k, v, err)
		}
		if _, err := c.Invalidate(ctx, k); err != nil {
			t.Fatalf("invalidate %s: %v", k, err)
		}
	}
	var moved uint64
	for _, n := range nodes {
		moved += n.Stats().Moved
	}
	if s := c.Stats(); s.Moved == 0 || s.Moved != moved || s.Loads != 0 {
		t.Fatalf("client saw %d redirects, nodes sent %d, %d origin loads", s.Moved, moved, s.Loads)
	}
}
