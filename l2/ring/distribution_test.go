package ring

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// The tests here measure how the ring spreads and moves a million keys, and
// log the figures so a regression shows as a number, not just a failure.

const sampleKeys = 1_000_000

// forEachKey calls fn with a million distinct keys, reusing one buffer.
func forEachKey(fn func(key []byte)) {
	buf := make([]byte, 0, 32)
	for i := range sampleKeys {
		buf = strconv.AppendInt(append(buf[:0], "user:"...), int64(i), 10)
		fn(buf)
	}
}

func TestJoinMovesOnlyTheNewNodesShare(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			five, six := mustNew(t, nodeIDs(5), p.opts), mustNew(t, nodeIDs(6), p.opts)
			newID := nodeIDs(6)[5].ID
			moved, movedModN, movedElsewhere := 0, 0, 0
			forEachKey(func(key []byte) {
				before, after := five.Owner(key), six.Owner(key)
				if before != after {
					moved++
					if after != newID {
						movedElsewhere++
					}
				}
				if h := xxhash.Sum64(key); h%5 != h%6 {
					movedModN++
				}
			})
			ideal := 1.0 / 6
			share, shareModN := float64(moved)/sampleKeys, float64(movedModN)/sampleKeys
			t.Logf("5→6 nodes: ring moved %.4f of keys (%.3f× the ideal 1/6), hash%%N moved %.4f (%.2f× ideal)",
				share, share/ideal, shareModN, shareModN/ideal)
			if share > 1.1*ideal || share < 0.9*ideal {
				t.Errorf("ring moved %.4f of keys, want within 10%% of %.4f", share, ideal)
			}
			if shareModN < 0.8 {
				t.Errorf("hash%%N moved only %.4f; the baseline is miscomputed", shareModN)
			}
			if movedElsewhere != 0 {
				t.Errorf("%d keys moved between old nodes instead of to %s", movedElsewhere, newID)
			}
		})
	}
}

// spread returns the max/mean ratio of keys per node and each node's share.
func spread(r *Ring) (maxOverMean float64, share map[string]float64) {
	counts := map[string]int{}
	forEachKey(func(key []byte) { counts[r.Owner(key)]++ })
	share = map[string]float64{}
	most := 0
	for _, n := range r.Nodes() {
		c := counts[n.ID]
		most = max(most, c)
		share[n.ID] = float64(c) / sampleKeys
	}
	return float64(most) / (float64(sampleKeys) / float64(r.Len())), share
}

func TestLoadSpreadOverTenNodes(t *testing.T) {
	r := mustNew(t, nodeIDs(10), Options{})
	got, _ := spread(r)
	t.Logf("10 nodes, rendezvous partitions: max/mean = %.4f", got)
	if got > 1.10 {
		t.Errorf("max/mean = %.4f, want ≤ 1.10", got)
	}
	// Classic hashed vnodes, for comparison: their error is about
	// 1/sqrt(VNodes), which is why they are not the default.
	for _, v := range []int{128, 1024} {
		hashed := mustNew(t, nodeIDs(10), Options{Placement: PlacementHashed, VNodes: v})
		got, _ := spread(hashed)
		t.Logf("10 nodes, hashed %d vnodes:       max/mean = %.4f", v, got)
	}
}

func TestWeightsAreHonoured(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			nodes := []Node{{ID: "w1", Weight: 1}, {ID: "w2", Weight: 2}, {ID: "w3", Weight: 3}, {ID: "w4", Weight: 4}, {ID: "w0"}}
			r := mustNew(t, nodes, p.opts)
			_, share := spread(r)
			total := 11.0 // w0 counts as 1
			worst := 0.0
			for _, n := range r.Nodes() {
				want := float64(n.Weight) / total
				relErr := share[n.ID]/want - 1
				worst = max(worst, relErr, -relErr)
				t.Logf("%s weight %d: share %.4f, want %.4f (%+.2f%%)", n.ID, n.Weight, share[n.ID], want, 100*relErr)
			}
			// Hashed vnodes give weight w only w×128 points, so their error
			// is wider; the bound is for the default placement.
			limit := 0.05
			if p.opts.Placement == PlacementHashed {
				limit = 0.25
			}
			t.Logf("worst weight error %.2f%%", 100*worst)
			if worst > limit {
				t.Errorf("worst weight error %.2f%%, want ≤ %.0f%%", 100*worst, 100*limit)
			}
		})
	}
}

func TestSwappedHashIsUsed(t *testing.T) {
	// A hash that maps every key to one position sends every key to one node.
	constant := func([]byte) uint64 { return 42 }
	r := mustNew(t, nodeIDs(4), Options{Hash: constant})
	if r.Hash([]byte("a")) != 42 {
		t.Fatal("Hash ignores Options.Hash")
	}
	want := r.OwnerOfHash(42)
	for i := range 100 {
		if got := r.Owner([]byte(fmt.Sprint(i))); got != want {
			t.Fatalf("Owner = %s, want %s for every key", got, want)
		}
	}
}
