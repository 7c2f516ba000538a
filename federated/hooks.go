package federated

import (
	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/raftmeta"
)

// Hooks let the embedder instrument components as the deployment creates
// them (the demo gives each L2 node a tracer provider and registers its
// metrics, including the nodes RestartNode starts later).
type Hooks struct {
	// L2Started, if set, is called with every L2 node once it is
	// listening: at Start and on every RestartNode (a new node with the
	// killed one's id). It runs with the region's lock possibly held, so
	// it must not call back into the Deployment.
	L2Started func(region, id string, n *l2.Node)
}

func (h Hooks) l2Started(region, id string, n *l2.Node) {
	if h.L2Started != nil {
		h.L2Started(region, id, n)
	}
}

// MetaMembers returns the control plane's Raft members (nil without a
// control plane). They are the deployment's: do not close them.
func (d *Deployment) MetaMembers() []*raftmeta.Member {
	if d.meta == nil {
		return nil
	}
	return d.meta.members
}
