package ring

import (
	"slices"
	"strconv"
	"testing"
)

// TestOwnersFirstReplicaTakesOver checks the property failover relies on:
// under the default placement, when any node leaves, each key's new
// Owners list is its old one with that node removed, so the first replica
// of a key whose primary left is exactly its new owner and the replicas
// keep their data.
func TestOwnersFirstReplicaTakesOver(t *testing.T) {
	nodes := []Node{{ID: "a", Weight: 1}, {ID: "b", Weight: 3}, {ID: "c", Weight: 2}, {ID: "d"}, {ID: "e", Weight: 100}}
	full := mustNew(t, nodes, Options{Partitions: 1 << 12})
	for gone := range nodes {
		rest := slices.Delete(slices.Clone(nodes), gone, gone+1)
		r := mustNew(t, rest, Options{Partitions: 1 << 12})
		for i := range 5000 {
			key := []byte("user:" + strconv.Itoa(i))
			before := full.Owners(key, len(nodes), nil)
			after := r.Owners(key, len(rest), nil)
			want := slices.DeleteFunc(slices.Clone(before), func(id string) bool { return id == nodes[gone].ID })
			if !slices.Equal(after, want) {
				t.Fatalf("key %s: owners %v, without %s %v (want %v)", key, before, nodes[gone].ID, after, want)
			}
			if before[0] == nodes[gone].ID && r.Owner(key) != before[1] {
				t.Fatalf("key %s: primary %s left, new owner %s, first replica was %s", key, before[0], r.Owner(key), before[1])
			}
		}
	}
}

func TestReduceWeights(t *testing.T) {
	got := ReduceWeights([]Node{{ID: "a", Weight: 100}, {ID: "b", Weight: 300}, {ID: "c", Weight: 200}})
	if want := []Node{{ID: "a", Weight: 1}, {ID: "b", Weight: 3}, {ID: "c", Weight: 2}}; !slices.Equal(got, want) {
		t.Fatalf("ReduceWeights = %v", got)
	}
	got = ReduceWeights([]Node{{ID: "a", Weight: 0}, {ID: "b", Weight: 100}})
	if want := []Node{{ID: "a", Weight: 1}, {ID: "b", Weight: 100}}; !slices.Equal(got, want) {
		t.Fatalf("ReduceWeights with a zero = %v", got)
	}
}
