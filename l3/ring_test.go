package l3

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tiercache/tiercache/raftmeta"
)

func TestRingIsIndependentOfMemberOrderAndWeightScale(t *testing.T) {
	a, err := NewRing(3, []Member{{ID: "a", Region: "r1", Weight: 100}, {ID: "b", Region: "r2", Weight: 100}, {ID: "c", Region: "r3", Weight: 200}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewRing(3, []Member{{ID: "c", Region: "r3", Weight: 2}, {ID: "a", Region: "r1", Weight: 1}, {ID: "b", Region: "r2"}})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for i := range 20000 {
		k := []byte(fmt.Sprint("user:", i))
		oa, ob := a.Owner(k), b.Owner(k)
		if oa.ID != ob.ID || oa.Region != ob.Region {
			t.Fatalf("key %s: %v vs %v", k, oa, ob)
		}
		counts[oa.ID]++
	}
	// c has twice the weight: about half the keys.
	if c := counts["c"]; c < 9000 || c > 11000 {
		t.Fatalf("owner counts %v", counts)
	}
	if a.Epoch() != 3 || len(a.Members()) != 3 || a.Members()[2].Weight != 200 {
		t.Fatalf("members %+v", a.Members())
	}
}

func TestRingRejectsBadMembers(t *testing.T) {
	for _, ms := range [][]Member{
		nil,
		{{ID: "a"}},
		{{ID: "", Region: "r"}},
		{{ID: "a", Region: "r"}, {ID: "a", Region: "r2"}},
		{{ID: "a", Region: "r", Weight: -1}},
	} {
		if _, err := NewRing(1, ms); !errors.Is(err, ErrInvalidRing) {
			t.Errorf("%+v: %v, want ErrInvalidRing", ms, err)
		}
	}
}

func TestRingFromTopologyTakesUpL3NodesOnly(t *testing.T) {
	topo := &raftmeta.Topology{Epoch: 7, Nodes: []raftmeta.Node{
		{ID: "a-l2", Region: "a", Tier: raftmeta.TierL2, State: raftmeta.StateUp, Weight: 100},
		{ID: "a-l3", Region: "a", Tier: raftmeta.TierL3, State: raftmeta.StateUp, Weight: 100},
		{ID: "b-l3", Region: "b", Tier: raftmeta.TierL3, State: raftmeta.StateUp, Weight: 100},
		{ID: "c-l3", Region: "c", Tier: raftmeta.TierL3, State: raftmeta.StateDown, Weight: 100},
		{ID: "d-l3", Region: "d", Tier: raftmeta.TierL3, State: raftmeta.StateDraining, Weight: 100},
	}}
	r, err := RingFromTopology(topo)
	if err != nil {
		t.Fatal(err)
	}
	ms := r.Members()
	if r.Epoch() != 7 || len(ms) != 2 || ms[0].ID != "a-l3" || ms[1].Region != "b" {
		t.Fatalf("ring of %+v at %d", ms, r.Epoch())
	}
	if _, err := RingFromTopology(&raftmeta.Topology{}); !errors.Is(err, ErrInvalidRing) {
		t.Fatalf("empty topology: %v", err)
	}
}
