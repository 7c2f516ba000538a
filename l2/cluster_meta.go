package l2

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tiercache/tiercache/l2/ring"
	"github.com/tiercache/tiercache/raftmeta"
)

// A node in a control-plane deployment registers through a raftmeta Agent
// (which renews its lease; a node whose lease lapses is marked down and a
// new epoch published without it) and follows the topology through a
// Watcher: each new epoch becomes the node's ring, made of its region's up
// L2 nodes.

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
	agent   *raftmeta.Agent
	watcher *raftmeta.Watcher
	remove  func()
}

// JoinControlPlane registers n (which must be started) with the control
// plane and applies every topology it publishes from then on. It returns
// at once; registration and the first topology arrive in the background
// (see ClusterMember.WaitApplied).
func (n *Node) JoinControlPlane(cfg MetaConfig) (*ClusterMember, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
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
	m := &ClusterMember{node: n, region: cfg.Region, agent: agent, watcher: raftmeta.NewWatcher(cfg.Client)}
	m.remove = m.watcher.OnChange(func(_, cur *raftmeta.Topology) { m.apply(cur) })
	if cur := m.watcher.Current(); cur != nil {
		m.apply(cur)
	}
	return m, nil
}

// apply makes t the node's membership, if the node is up in it. A
// topology that leaves the node out (it is down, draining or not yet
// registered) is not applied: the node keeps its last ring, and the
// clients, which follow the same topology, stop sending to it.
func (m *ClusterMember) apply(t *raftmeta.Topology) {
	n := m.node
	n.SetKeyspaces(&t.Keyspaces)
	peers := RegionPeers(t, m.region)
	err := n.ApplyTopology(t.Epoch, peers)
	switch {
	case err == nil:
	case errors.Is(err, ErrStaleEpoch), errors.Is(err, ErrNotMember), errors.Is(err, ErrClosed):
	default:
		n.cfg.Logger.Warn("l2: topology not applied", "epoch", t.Epoch, "err", err)
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
