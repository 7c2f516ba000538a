package demo

import (
	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/internal/dashboard"
)

// breakerRank orders breaker states from best to worst.
var breakerRank = map[string]int{"closed": 0, "half-open": 1, "open": 2}

// regionBreakers returns, by node id, the worst state of the ring-node
// breakers the region's app clients hold toward its nodes.
func regionBreakers(apps ...*app) map[string]string {
	lists := make([][]tiercache.NodeBreaker, len(apps))
	for i, a := range apps {
		lists[i] = a.client.Breakers()
	}
	return worstBreakers(lists...)
}

// worstBreakers merges several clients' breakers into the worst state by
// node (open > half-open > closed). Gutter nodes are left out: they are
// not the region's nodes. A node no client routes to (down in the
// topology, so dropped from the clients' rings) has no entry.
func worstBreakers(lists ...[]tiercache.NodeBreaker) map[string]string {
	out := map[string]string{}
	for _, bs := range lists {
		for _, b := range bs {
			if b.Gutter {
				continue
			}
			if cur, ok := out[b.Node]; !ok || breakerRank[b.State] > breakerRank[cur] {
				out[b.Node] = b.State
			}
		}
	}
	return out
}

// fillBreakers sets the L2 nodes' Breaker from states; L3 nodes have no
// client breaker and keep "".
func fillBreakers(nodes []dashboard.NodeState, states map[string]string) {
	for i := range nodes {
		if nodes[i].Tier == "l2" {
			nodes[i].Breaker = states[nodes[i].ID]
		}
	}
}
