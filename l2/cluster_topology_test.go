package l2

import (
	"errors"
	"testing"

	"github.com/tiercache/tiercache/l2/ring"
)

// TestApplyTopologySwapsRingAndRunsHooks applies a membership at an
// epoch: routing, epoch and ring move together, hooks see the rings before
// and after, and older epochs or memberships without the node are refused.
func TestApplyTopologySwapsRingAndRunsHooks(t *testing.T) {
	nodes := startRegion(t, 3, nil)
	n := nodes[0]
	peers := make([]Peer, 3)
	for i, x := range nodes {
		peers[i] = Peer{ID: x.cfg.ID, Addr: x.Addr()}
	}
	type call struct {
		old, cur *ring.Ring
		epoch    uint64
	}
	var calls []call
	remove := n.OnTopologyChange(func(old, cur *ring.Ring, epoch uint64) { calls = append(calls, call{old, cur, epoch}) })
	before := n.Ring()
	if before.Len() != 3 || n.Epoch() != 0 {
		t.Fatalf("before: ring of %d, epoch %d", before.Len(), n.Epoch())
	}
	// n3 leaves, and n2 weighs twice n1.
	two := []Peer{{ID: peers[0].ID, Addr: peers[0].Addr}, {ID: peers[1].ID, Addr: peers[1].Addr, Weight: 2}}
	if err := n.ApplyTopology(7, two); err != nil {
		t.Fatal(err)
	}
	if n.Epoch() != 7 || len(calls) != 1 || calls[0].epoch != 7 || calls[0].old != before || calls[0].cur != n.Ring() {
		t.Fatalf("epoch %d, hook calls %+v", n.Epoch(), calls)
	}
	if got := n.Ring().Nodes(); len(got) != 2 || got[1].Weight != 2 {
		t.Fatalf("ring nodes %v", got)
	}
	if rt := n.routing.Load(); rt.ring != n.Ring() || rt.peers["n3"] != nil {
		t.Fatal("routing and ring disagree")
	}
	if err := n.ApplyTopology(6, two); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("older epoch: %v", err)
	}
	if err := n.ApplyTopology(8, peers[1:]); !errors.Is(err, ErrNotMember) {
		t.Fatalf("without self: %v", err)
	}
	// Alone, the node still has a ring for the hooks, owning everything.
	remove()
	if err := n.ApplyTopology(9, peers[:1]); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || n.Ring().Len() != 1 || n.Ring().Owner([]byte("k")) != "n1" {
		t.Fatalf("after remove: %d calls, ring %v", len(calls), n.Ring().Nodes())
	}
}

// TestStaleEpochIsRedirected: a TC.* command for a key the node does not
// own is answered TCMOVED when its epoch is older than the node's, and
// forwarded when it is current or 0 (unknown).
func TestStaleEpochIsRedirected(t *testing.T) {
	nodes := startRegion(t, 3, nil)
	peers := make([]Peer, 3)
	for i, x := range nodes {
		peers[i] = Peer{ID: x.cfg.ID, Addr: x.Addr()}
	}
	for _, n := range nodes {
		if err := n.ApplyTopology(5, peers); err != nil {
			t.Fatal(err)
		}
	}
	key := ownedBy(t, nodes[0], "n2", "user")
	raw := dialRaw(t, nodes[0].Addr())
	raw.send(resp("TC.SET", key, "3", "v", "0", "0"))
	if got, want := raw.reply(), "-TCMOVED 5 n2 "+nodes[1].Addr()+"\r\n"; got != want {
		t.Fatalf("old epoch: %q, want %q", got, want)
	}
	for _, epoch := range []string{"0", "5", "6"} {
		raw.send(resp("TC.SET", key, epoch, "v", "0", "0"))
		if got := raw.reply(); got[0] != '*' {
			t.Fatalf("epoch %s: %q", epoch, got)
		}
	}
	// The owner itself serves an old epoch: the key has not moved.
	raw2 := dialRaw(t, nodes[1].Addr())
	raw2.send(resp("TC.DEL", key, "1"))
	if got := raw2.reply(); got[0] != '*' {
		t.Fatalf("owner with old epoch: %q", got)
	}
	if s := nodes[0].Stats(); s.Moved != 1 {
		t.Fatalf("moved %d", s.Moved)
	}
}
