package l2

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2/ring"
)

// Membership from the control plane. ApplyTopology swaps the node's
// routing to the region's up nodes of one epoch and records the epoch;
// OnTopologyChange hooks (the rebalancer's) see every swap with the old
// and new rings. The epoch is what routed TC.* commands are checked
// against: a sender with an older epoch asking for a key this node no
// longer owns is redirected with TCMOVED.

// TopologyHook is called after each applied topology with the rings
// before and after and the new epoch. Rings are never nil (a single-node
// region has a one-node ring) and must not be modified. Hooks run one at
// a time, in registration order, on the goroutine that called
// ApplyTopology (the control-plane watcher's): they must return quickly
// and must not call ApplyTopology or OnTopologyChange. A topology applied
// again at the same epoch (a keyspace-only change) runs the hooks too,
// with equal rings: a hook must treat that as no change.
type TopologyHook func(oldRing, newRing *ring.Ring, epoch uint64)

// clusterState is a node's view of the control plane.
type clusterState struct {
	epoch     atomic.Uint64
	ring      atomic.Pointer[ring.Ring] // the ring of epoch, never nil once applied
	keyspaces atomic.Pointer[keyspace.Table]
	moved     atomic.Uint64 // TCMOVED redirects sent

	mu     sync.Mutex // serialises ApplyTopology; protects hooks and nextID
	hooks  map[int]TopologyHook
	nextID int

	repl replicator
}

func newClusterState() *clusterState {
	return &clusterState{hooks: map[int]TopologyHook{}, repl: replicator{capacity: DefaultReplicaQueue}}
}

// cluster returns n's cluster state.
func (n *Node) cluster() *clusterState { return n.tier.cluster }

// Epoch returns the topology epoch the node last applied (0: none, the
// node runs on its static Config.Peers).
func (n *Node) Epoch() uint64 { return n.cluster().epoch.Load() }

// Ring returns the ring of the applied topology (or of Config.Peers), a
// one-node ring for a single node.
func (n *Node) Ring() *ring.Ring {
	cs := n.cluster()
	if r := cs.ring.Load(); r != nil {
		return r
	}
	r, err := n.ringOf(n.routing.Load())
	if err != nil { // Config.Peers were validated, so this cannot happen
		panic(err)
	}
	cs.ring.CompareAndSwap(nil, r)
	return cs.ring.Load()
}

// ringOf returns rt's ring, or a one-node ring of self when rt has none.
func (n *Node) ringOf(rt *routing) (*ring.Ring, error) {
	if rt.ring != nil {
		return rt.ring, nil
	}
	return ring.New([]ring.Node{{ID: rt.self}}, ring.Options{Partitions: 1})
}

// OnTopologyChange registers fn to run after every applied topology and
// returns a func that unregisters it.
func (n *Node) OnTopologyChange(fn TopologyHook) (remove func()) {
	cs := n.cluster()
	cs.mu.Lock()
	id := cs.nextID
	cs.nextID++
	cs.hooks[id] = fn
	cs.mu.Unlock()
	return func() {
		cs.mu.Lock()
		delete(cs.hooks, id)
		cs.mu.Unlock()
	}
}

// ApplyTopology makes peers (the region's up L2 nodes at epoch, this node
// included, weights honoured) the node's membership: the routing is
// swapped whole, then the epoch recorded, then the hooks run. An epoch
// older than the applied one is refused with ErrStaleEpoch; the same
// epoch again is applied (a keyspace-only change keeps the epoch).
func (n *Node) ApplyTopology(epoch uint64, peers []Peer) error {
	cs := n.cluster()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cur := cs.epoch.Load(); epoch < cur {
		return fmt.Errorf("%w: %d < %d", ErrStaleEpoch, epoch, cur)
	}
	present := false
	for _, p := range peers {
		present = present || p.ID == n.cfg.ID
	}
	if !present {
		return fmt.Errorf("%w: %s at epoch %d", ErrNotMember, n.cfg.ID, epoch)
	}
	oldRing := n.Ring()
	if err := n.SetPeers(peers); err != nil {
		return err
	}
	newRing, err := n.ringOf(n.routing.Load())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	cs.ring.Store(newRing)
	cs.epoch.Store(epoch)
	hooks := make([]TopologyHook, 0, len(cs.hooks))
	for id := 0; id < cs.nextID; id++ {
		if h, ok := cs.hooks[id]; ok {
			hooks = append(hooks, h)
		}
	}
	for _, h := range hooks {
		h(oldRing, newRing, epoch)
	}
	return nil
}

// SetKeyspaces gives the node the keyspace settings it needs for
// replication (how many copies of each key); nil means the defaults (one
// copy, no replicas).
func (n *Node) SetKeyspaces(t *keyspace.Table) { n.cluster().keyspaces.Store(t) }
