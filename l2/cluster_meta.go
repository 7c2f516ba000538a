package l2

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tiercache/tiercache/l2/ring"
	"github.com/tiercache/tiercache/raftmeta"
)

// A node in a control-plane deployment registers through a raftmeta Agent
// (which renews its lease; a node whose lease lapses is marked down and a
// new epoch published without it) and follows the topology through a
// Watcher: each new epoch becomes the node's ring, made of its region's up
// L2 nodes. A topology that marks the node draining (or drops it after it
// was a member) is not applied to the ring; instead the node's migrator,
// if given, pushes every range the node holds to its owner among the
// remaining up nodes (Migrator.Drain), so the node can be stopped once
// `tiercache ctl rebalance status` reports the push done.

// MetaConfig says how a node joins the control plane. Zero fields mean
// the documented defaults.
type MetaConfig struct {
	// Client reaches the control plane (required; not closed by the
	// member).
	Client *raftmeta.Client
	// Region is the node's region (required).
	Region string
	// Address is what peers and clients dial (default the node's listen
	// address, Node.Addr).
	Address string
	// Weight is the node's relative share (default raftmeta's).
	Weight int
	// RenewEvery is the lease renewal period (default a third of the
	// control plane's lease timeout).
	RenewEvery time.Duration
	// Logger receives the agent's warnings (default discarded).
	Logger hclog.Logger
	// Migrator, when set, is the node's migrator (NewMigrator on this
	// node): it drains the node when the topology marks it draining or
	// removes it. Without one a drained node keeps its keys, reachable
	// only through the new owners' pull-through while it runs.
	Migrator *Migrator
}

// Validate reports the first bad field, wrapping ErrInvalidConfig.
func (c MetaConfig) Validate() error {
	switch {
	case c.Client == nil:
		return fmt.Errorf("%w: meta config needs a client", ErrInvalidConfig)
	case c.Region == "":
		return fmt.Errorf("%w: meta config needs a region", ErrInvalidConfig)
	case c.Weight < 0 || c.RenewEvery < 0:
		return fmt.Errorf("%w: negative weight or renewal period", ErrInvalidConfig)
	}
	return nil
}

// ClusterMember is a node's membership in the control plane: its agent
// and its topology watcher. Close ends both; the node itself stays open.
type ClusterMember struct {
	node    *Node
	region  string
	mig     *Migrator
	agent   *raftmeta.Agent
	watcher *raftmeta.Watcher
	remove  func()

	// mu serialises apply: the first topology is applied from
	// JoinControlPlane while the watcher may already deliver the next.
	mu sync.Mutex
	// member is set once a topology with the node up was applied, so a
	// later topology without the node means it was removed, not that it
	// has yet to register.
	member bool
	// drained is the epoch of the last drain started (0: none), so a
	// keyspace-only change, which keeps the epoch, does not restart it.
	drained uint64
}

// JoinControlPlane registers n (which must be started) with the control
// plane and applies every topology it publishes from then on. It returns
// at once; registration and the first topology arrive in the background
// (see ClusterMember.WaitApplied).
func (n *Node) JoinControlPlane(cfg MetaConfig) (*ClusterMember, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Migrator != nil && cfg.Migrator.node != n {
		return nil, fmt.Errorf("%w: meta config's migrator belongs to another node", ErrInvalidConfig)
	}
	addr := cfg.Address
	if addr == "" {
		addr = n.Addr()
	}
	if addr == "" {
		return nil, fmt.Errorf("%w: node has no address (not started)", ErrInvalidConfig)
	}
	agent, err := raftmeta.StartAgent(raftmeta.AgentConfig{
		Client: cfg.Client, RenewEvery: cfg.RenewEvery, Logger: cfg.Logger,
		Node: raftmeta.NodeSpec{ID: n.cfg.ID, Region: cfg.Region, Tier: raftmeta.TierL2, Address: addr, Weight: cfg.Weight},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	m := &ClusterMember{node: n, region: cfg.Region, mig: cfg.Migrator, agent: agent, watcher: raftmeta.NewWatcher(cfg.Client)}
	m.remove = m.watcher.OnChange(func(_, cur *raftmeta.Topology) { m.apply(cur) })
	if cur := m.watcher.Current(); cur != nil {
		m.apply(cur)
	}
	return m, nil
}

// apply makes t the node's membership, if the node is up in it. A
// topology that leaves the node out is not applied: the node keeps its
// last ring, and the clients, which follow the same topology, stop
// sending to it. If it is left out because it is draining or was removed,
// the node hands its ranges to the remaining up nodes (leave); if it is
// down or not registered yet, it just waits for a topology with it up.
func (m *ClusterMember) apply(t *raftmeta.Topology) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.node
	n.SetKeyspaces(&t.Keyspaces)
	peers := RegionPeers(t, m.region)
	err := n.ApplyTopology(t.Epoch, peers)
	switch {
	case err == nil:
		m.member = true
	case errors.Is(err, ErrNotMember):
		m.leave(t, peers)
	case errors.Is(err, ErrStaleEpoch), errors.Is(err, ErrClosed):
	default:
		n.cfg.Logger.Warn("l2: topology not applied", "epoch", t.Epoch, "err", err)
	}
}

// leave starts draining the node to remaining (the region's up nodes at
// t) when t marks it draining or no longer lists it. The other nodes
// apply the same topology, so their rings already exclude this node and
// their misses on its former ranges pull through from it until its push
// says done. Called with m.mu held.
func (m *ClusterMember) leave(t *raftmeta.Topology, remaining []Peer) {
	n := m.node
	self, listed := t.Node(n.cfg.ID)
	switch {
	case listed && self.State == raftmeta.StateDraining:
	case !listed && m.member:
		// Removed while running. The agent may register it again, and
		// then a topology with it up cancels this push (RingChanged).
	default:
		return // down (transient: a lapsed lease) or not registered yet
	}
	if m.mig == nil || t.Epoch <= m.drained {
		return
	}
	if len(remaining) == 0 {
		n.cfg.Logger.Warn("l2: draining node has no up node to hand its ranges to", "epoch", t.Epoch, "region", m.region)
		return
	}
	m.drained = t.Epoch
	// A later epoch drains again to the then remaining nodes: Drain
	// replaces the running push, so each key goes to its current owner.
	if err := m.mig.Drain(t.Epoch, remaining); err != nil && !errors.Is(err, ErrClosed) {
		n.cfg.Logger.Warn("l2: drain not started", "epoch", t.Epoch, "err", err)
	}
}

// RegionPeers returns the up L2 nodes of region in t as peers, weights
// reduced by their common divisor (ring.ReduceWeights) as every router of
// the region does.
func RegionPeers(t *raftmeta.Topology, region string) []Peer {
	var rn []ring.Node
	var addrs []string
	for _, nd := range t.NodesIn(region, raftmeta.TierL2) {
		if nd.State == raftmeta.StateUp {
			rn = append(rn, ring.Node{ID: nd.ID, Weight: nd.Weight})
			addrs = append(addrs, nd.Address)
		}
	}
	rn = ring.ReduceWeights(rn)
	peers := make([]Peer, len(rn))
	for i, nd := range rn {
		peers[i] = Peer{ID: nd.ID, Addr: addrs[i], Weight: nd.Weight}
	}
	return peers
}

// Watcher returns the member's topology watcher, for callers that want
// the same view (it stays owned by the member).
func (m *ClusterMember) Watcher() *raftmeta.Watcher { return m.watcher }

// Agent returns the member's agent (owned by the member).
func (m *ClusterMember) Agent() *raftmeta.Agent { return m.agent }

// Close stops renewing the node's lease (so the control plane marks it
// down after the lease timeout) and stops following the topology.
func (m *ClusterMember) Close() error {
	m.remove()
	m.watcher.Close()
	return m.agent.Close()
}
