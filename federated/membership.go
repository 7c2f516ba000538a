package federated

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l3"
	"github.com/tiercache/tiercache/raftmeta"
)

// Membership under a control plane, and the faults the demo and tests
// inject: killing and restarting an L2 node, cutting a region off the WAN.

// Errors of the fault injection.
var (
	// ErrNoControlPlane means the deployment runs static peers, which
	// have no membership to fail over with.
	ErrNoControlPlane = errors.New("federated: no control plane")
	// ErrUnknownNode names no L2 node of the deployment.
	ErrUnknownNode = errors.New("federated: unknown node")
	// ErrNodeState means the node is not in the state the action needs
	// (killing a killed node, restarting a running one).
	ErrNodeState = errors.New("federated: node state")
)

// joinControlPlane registers every L2 node (each follows the topology for
// its ring) and every L3 node, and rebuilds the global ring at each epoch.
func (d *Deployment) joinControlPlane() error {
	cp := d.meta
	cp.remove = cp.watcher.OnChange(func(old, cur *raftmeta.Topology) {
		d.applyGlobalRing(cur)
		d.noteStates(old, cur)
	})
	if cur := cp.watcher.Current(); cur != nil {
		d.applyGlobalRing(cur)
	}
	for _, r := range d.regions {
		for _, id := range r.ids {
			if err := r.join(id, r.byID[id]); err != nil {
				return err
			}
		}
		addr := r.Endpoint.Addr().String()
		a, err := raftmeta.StartAgent(raftmeta.AgentConfig{Client: cp.client, Node: raftmeta.NodeSpec{
			ID: r.L3.ID(), Region: r.Name, Tier: raftmeta.TierL3, Address: addr, FederationAddress: addr,
		}})
		if err != nil {
			return fmt.Errorf("%w: register %s: %w", ErrControlPlane, r.L3.ID(), err)
		}
		r.l3Agent = a
	}
	return nil
}

// applyGlobalRing hands every L3 node and client the ring of t's up L3
// nodes; a topology with none keeps the last ring.
func (d *Deployment) applyGlobalRing(t *raftmeta.Topology) {
	ring, err := l3.RingFromTopology(t)
	if err != nil {
		return
	}
	for _, r := range d.regions {
		r.L3.SetRing(ring)
		r.Client.SetRing(ring)
	}
}

// noteStates logs the nodes whose state changed from old to cur.
func (d *Deployment) noteStates(old, cur *raftmeta.Topology) {
	if old == nil {
		return
	}
	for _, n := range cur.Nodes {
		if was, ok := old.Node(n.ID); ok && was.State != n.State {
			d.events.add("node %s %s (epoch %d)", n.ID, n.State, cur.Epoch)
		}
	}
}

// join registers n with the control plane; its ring follows from then on.
func (r *Region) join(id string, n *l2.Node) error {
	m, err := n.JoinControlPlane(l2.MetaConfig{Client: r.d.meta.client, Region: r.Name})
	if err != nil {
		return fmt.Errorf("%w: join %s: %w", ErrControlPlane, id, err)
	}
	r.mu.Lock()
	r.members[id] = m
	r.mu.Unlock()
	return nil
}

// leave ends the region's registrations (the deployment is closing).
func (r *Region) leave() {
	r.mu.Lock()
	members := r.members
	r.members = map[string]*l2.ClusterMember{}
	a := r.l3Agent
	r.l3Agent = nil
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = m.Close()
		}()
	}
	if a != nil {
		_ = a.Close()
	}
	wg.Wait()
}

// WaitReady waits until the control plane's topology has every L2 and L3
// node up and every running L2 node and the global ring have applied it
// (immediately true without a control plane).
func (d *Deployment) WaitReady(ctx context.Context) error {
	if d.meta == nil {
		return nil
	}
	want := 0
	for _, r := range d.regions {
		want += len(r.NodeIDs()) + 1
	}
	t, err := d.meta.watcher.Wait(ctx, func(t *raftmeta.Topology) bool {
		up := 0
		for _, n := range t.Nodes {
			if n.State == raftmeta.StateUp {
				up++
			}
		}
		return up == want
	})
	if err != nil {
		return fmt.Errorf("%w: waiting for %d nodes up: %w", ErrControlPlane, want, err)
	}
	for _, r := range d.regions {
		for _, id := range r.NodeIDs() {
			for n := r.Node(id); n != nil && n.Epoch() < t.Epoch; {
				select {
				case <-ctx.Done():
					return fmt.Errorf("%w: node %s at epoch %d, want %d: %w", ErrControlPlane, id, n.Epoch(), t.Epoch, ctx.Err())
				case <-time.After(5 * time.Millisecond):
				}
			}
		}
	}
	return nil
}

// Topology returns the control plane's current topology as the deployment
// sees it (nil without a control plane, or before the first arrives).
func (d *Deployment) Topology() *raftmeta.Topology {
	if d.meta == nil {
		return nil
	}
	return d.meta.watcher.Current()
}

// Watcher returns the deployment's topology watcher, for app clients to
// follow (Client.FollowTopology); nil without a control plane. It stays
// owned by the deployment.
func (d *Deployment) Watcher() *raftmeta.Watcher {
	if d.meta == nil {
		return nil
	}
	return d.meta.watcher
}

// Leader returns the control plane leader's id ("" without one).
func (d *Deployment) Leader() string {
	if d.meta == nil {
		return ""
	}
	return d.meta.leader()
}

// MetaAddrs returns the control plane members' API addresses.
func (d *Deployment) MetaAddrs() []string {
	if d.meta == nil {
		return nil
	}
	return d.meta.addrs()
}

// regionOfNode finds the region that has L2 node id.
func (d *Deployment) regionOfNode(id string) (*Region, error) {
	for _, r := range d.regions {
		r.mu.RLock()
		_, ok := r.byID[id]
		r.mu.RUnlock()
		if ok {
			return r, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownNode, id)
}

// Running reports whether L2 node id is running (not killed).
func (d *Deployment) Running(id string) bool {
	r, err := d.regionOfNode(id)
	return err == nil && r.Node(id) != nil
}

// KillNode stops L2 node id abruptly: its connections drop, and it stops
// renewing its lease, so the control plane marks it down after the lease
// timeout and the region's ring leaves it out from that epoch on.
func (d *Deployment) KillNode(id string) error {
	if d.meta == nil {
		return ErrNoControlPlane
	}
	r, err := d.regionOfNode(id)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if !r.running[id] {
		r.mu.Unlock()
		return fmt.Errorf("%w: %s is not running", ErrNodeState, id)
	}
	r.running[id] = false
	n, m := r.byID[id], r.members[id]
	delete(r.members, id)
	r.mu.Unlock()
	_ = n.Close()
	if m != nil {
		_ = m.Close()
	}
	d.events.add("node %s killed", id)
	return nil
}

// RestartNode starts a new, empty L2 node with a killed node's id, on its
// old address if that is free, and registers it again; it rejoins the
// ring once the control plane has seen it renew steadily (UpAfter).
func (d *Deployment) RestartNode(id string) error {
	if d.meta == nil {
		return ErrNoControlPlane
	}
	r, err := d.regionOfNode(id)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running[id] {
		return fmt.Errorf("%w: %s is running", ErrNodeState, id)
	}
	old := r.byID[id]
	n, err := r.newL2(id, old.Addr())
	if err != nil {
		n, err = r.newL2(id, "") // the old port was taken meanwhile
	}
	if err != nil {
		return err
	}
	r.wire(n)
	n.SetKeyspaces(r.d.opts.Keyspaces)
	m, err := n.JoinControlPlane(l2.MetaConfig{Client: r.d.meta.client, Region: r.Name})
	if err != nil {
		_ = n.Close()
		return fmt.Errorf("%w: join %s: %w", ErrControlPlane, id, err)
	}
	r.byID[id], r.running[id], r.members[id] = n, true, m
	for i, x := range r.L2 {
		if x == old {
			r.L2[i] = n
		}
	}
	d.events.add("node %s restarted on %s", id, n.Addr())
	return nil
}

// PartitionRegion cuts every WAN link of region.
func (d *Deployment) PartitionRegion(region string) error {
	if _, err := d.Region(region); err != nil {
		return err
	}
	if err := d.WAN.Isolate(region); err != nil {
		return err
	}
	d.events.add("region %s partitioned", region)
	return nil
}

// HealRegion restores every WAN link of region.
func (d *Deployment) HealRegion(region string) error {
	if _, err := d.Region(region); err != nil {
		return err
	}
	for _, r := range d.regions {
		if r.Name != region {
			if err := d.WAN.Heal(region, r.Name); err != nil {
				return err
			}
		}
	}
	d.events.add("region %s healed", region)
	return nil
}

// Partitioned reports whether every link of region is cut.
func (d *Deployment) Partitioned(region string) bool {
	cut := 0
	for _, r := range d.regions {
		if r.Name != region && d.WAN.Partitioned(region, r.Name) {
			cut++
		}
	}
	return len(d.regions) > 1 && cut == len(d.regions)-1
}
