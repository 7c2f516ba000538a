// Package federated starts a whole multi-region deployment in one process,
// for tests, benchmarks and the demo: every region of a regions profile
// gets k L2 nodes on loopback, one L3 node and a federation endpoint on a
// socket of one simulated WAN, all wired as DESIGN.md describes (an L2
// owner miss asks the global tier, writes are published, the change stream
// lands in each region's L2 owner and L3 node). It is an assembly, not a
// production path: the node binaries wire the same pieces from raftmeta,
// and with Options.ControlPlane so does this package (three in-process
// raftmeta members; membership.go kills, restarts and partitions).
package federated

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/pki"
	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l3"
	"github.com/tiercache/tiercache/raftmeta"
	"github.com/tiercache/tiercache/regions"
)

// ErrUnknownRegion is returned for a region the profile does not have.
var ErrUnknownRegion = errors.New("federated: unknown region")

// Options shape a Deployment. The zero value runs regions.DefaultProfile
// with three L2 nodes per region.
type Options struct {
	// Profile defaults to regions.DefaultProfile.
	Profile *regions.Profile
	// L2Nodes is the number of L2 nodes per region (default 3).
	L2Nodes int
	// Keyspaces go to every L2 node (the stampede scope is read there).
	Keyspaces *keyspace.Table
	// Seed makes the WAN's jitter reproducible (0: random).
	Seed uint64
	// Configure, if set, adjusts each region's federation Config.
	Configure func(region string, cfg *federation.Config)
	// ControlPlane, if set, runs the deployment under raftmeta
	// (controlplane.go); nil wires static peers and a fixed global ring.
	ControlPlane *ControlPlaneOptions
	// Hooks, if set, see components as they are created (hooks.go).
	Hooks Hooks
}

// Region is one running region.
type Region struct {
	Name string
	ID   int
	// L2 are the region's nodes as started. KillNode and RestartNode
	// replace entries; while they may run, use Node and NodeIDs.
	L2       []*l2.Node
	L3       *l3.Node
	Client   *l3.Client
	Endpoint *federation.Endpoint

	d      *Deployment
	global l2.GlobalTier // the region's L2 nodes' way to the global tier

	mu      sync.RWMutex // protects L2, byID, running and members
	ids     []string     // L2 node ids, in start order
	byID    map[string]*l2.Node
	running map[string]bool              // false once killed, until restarted
	members map[string]*l2.ClusterMember // with a control plane: each node's membership
	l3Agent *raftmeta.Agent              // with a control plane: the L3 node's registration
}

// Deployment is every region of a profile, linked to every other.
type Deployment struct {
	WAN     *regions.WAN
	regions []*Region
	opts    Options
	meta    *controlPlane // nil: static peers
	events  eventLog
}

// Start starts every region and links them; it does not wait for the links
// (WaitConnected). Close stops everything.
func Start(opts Options) (*Deployment, error) {
	if opts.Profile == nil {
		p, err := regions.Builtin(regions.DefaultProfile)
		if err != nil {
			return nil, err
		}
		opts.Profile = p
	}
	if opts.L2Nodes == 0 {
		opts.L2Nodes = 3
	}
	wan, err := regions.NewWAN(opts.Profile, regions.WANConfig{Seed: opts.Seed})
	if err != nil {
		return nil, err
	}
	ca, err := pki.NewCA("federated CA", time.Hour)
	if err != nil {
		return nil, err
	}
	d := &Deployment{WAN: wan, opts: opts}
	if opts.ControlPlane != nil {
		var regs []raftmeta.Region
		for _, pr := range opts.Profile.Regions {
			regs = append(regs, raftmeta.Region{Name: pr.Name, ID: pr.ID})
		}
		if d.meta, err = startControlPlane(*opts.ControlPlane, regs, opts.Keyspaces); err != nil {
			return nil, err
		}
	}
	var members []l3.Member
	for _, pr := range opts.Profile.Regions {
		r, err := d.startRegion(pr, opts, ca)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("federated: region %s: %w", pr.Name, err)
		}
		members = append(members, l3.Member{ID: r.L3.ID(), Region: r.Name})
	}
	if d.meta != nil {
		if err := d.joinControlPlane(); err != nil {
			d.Close()
			return nil, err
		}
	} else {
		ring, err := l3.NewRing(1, members)
		if err != nil {
			d.Close()
			return nil, err
		}
		for _, r := range d.regions {
			r.L3.SetRing(ring)
			r.Client.SetRing(ring)
		}
	}
	for _, r := range d.regions {
		for _, peer := range d.regions {
			if peer == r {
				continue
			}
			if _, err := r.Endpoint.Connect(peer.Name, peer.Endpoint.Addr()); err != nil {
				d.Close()
				return nil, err
			}
		}
	}
	return d, nil
}

func (d *Deployment) startRegion(pr regions.Region, opts Options, ca *pki.CA) (*Region, error) {
	r := &Region{Name: pr.Name, ID: pr.ID, d: d, byID: map[string]*l2.Node{}, running: map[string]bool{}, members: map[string]*l2.ClusterMember{}}
	d.regions = append(d.regions, r) // so Close stops what started
	var err error
	if r.L3, err = l3.NewNode(l3.Config{ID: pr.Name + "-l3", Region: pr.Name}); err != nil {
		return nil, err
	}
	var peers []l2.Peer
	for i := range opts.L2Nodes {
		id := fmt.Sprintf("%s-l2-%d", pr.Name, i+1)
		n, err := r.newL2(id, "")
		if err != nil {
			return nil, err
		}
		r.L2 = append(r.L2, n)
		r.ids = append(r.ids, id)
		r.byID[id], r.running[id] = n, true
		peers = append(peers, l2.Peer{ID: id, Addr: n.Addr()})
	}
	for _, n := range r.L2 {
		if d.meta == nil {
			if err := n.SetPeers(peers); err != nil {
				return nil, err
			}
		}
		n.SetKeyspaces(opts.Keyspaces)
	}
	cert, key, err := ca.Issue(pki.IssueOptions{CommonName: pr.Name, Role: pki.RoleServer, DNSNames: []string{pr.Name}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		return nil, err
	}
	conn, err := d.WAN.Listen(pr.Name, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg := federation.Config{
		Region: pr.Name, CAPEM: ca.CertPEM(), CertPEM: cert, KeyPEM: key,
		PacketConn: conn, Replica: fanout{r}, Source: r.L3,
		// Test-friendly timeouts, as federationtest uses: a partition is
		// noticed in 1.5 s and a healed link redials within 0.5 s.
		KeepAlive: 200 * time.Millisecond, IdleTimeout: 1500 * time.Millisecond,
		HandshakeTimeout: 2 * time.Second,
		BackoffMin:       20 * time.Millisecond, BackoffMax: 500 * time.Millisecond,
		StatsInterval: 200 * time.Millisecond,
	}
	if opts.Configure != nil {
		opts.Configure(pr.Name, &cfg)
	}
	if r.Endpoint, err = federation.New(cfg); err != nil {
		_ = conn.Close()
		return nil, err
	}
	l3.Serve(r.Endpoint, r.L3)
	r.Endpoint.Handle(l3.KindStickyRead, serveSticky(r))
	if r.Client, err = l3.NewClient(l3.ClientConfig{Region: pr.Name, Federation: r.Endpoint, Local: []*l3.Node{r.L3}}); err != nil {
		return nil, err
	}
	r.global = l3.NewL2Global(r.Client)
	for _, n := range r.L2 {
		r.wire(n)
	}
	return r, nil
}

// newL2 starts an L2 node of the region (listen "" picks a free port).
func (r *Region) newL2(id, listen string) (*l2.Node, error) {
	n, err := l2.NewNode(l2.Config{ID: id, RegionID: r.ID, Listen: listen, MaxMemory: 64 << 20})
	if err == nil {
		err = n.Start()
	}
	if err != nil {
		if n != nil {
			_ = n.Close()
		}
		return nil, fmt.Errorf("federated: node %s: %w", id, err)
	}
	r.d.opts.Hooks.l2Started(r.Name, id, n)
	return n, nil
}

// wire connects an L2 node to the region's global tier and sticky reads.
func (r *Region) wire(n *l2.Node) {
	n.SetGlobal(r.global)
	n.SetStickyReader(stickyReader{r.Endpoint})
}

// Regions returns the regions in profile order.
func (d *Deployment) Regions() []*Region { return d.regions }

// Region returns the region called name.
func (d *Deployment) Region(name string) (*Region, error) {
	for _, r := range d.regions {
		if r.Name == name {
			return r, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownRegion, name)
}

// WaitConnected waits until every link is up.
func (d *Deployment) WaitConnected(ctx context.Context) error {
	for _, r := range d.regions {
		for _, l := range r.Endpoint.Links() {
			if err := l.WaitConnected(ctx); err != nil {
				return fmt.Errorf("%s→%s: %w", r.Name, l.Region(), err)
			}
		}
	}
	return nil
}

// Close stops every region: node registrations first, then endpoints,
// so no change lands in a closed node, then the nodes and the control
// plane.
func (d *Deployment) Close() {
	for _, r := range d.regions {
		r.leave()
	}
	for _, r := range d.regions {
		if r.Endpoint != nil {
			_ = r.Endpoint.Close()
		}
	}
	for _, r := range d.regions {
		for _, n := range r.L2 {
			_ = n.Close()
		}
		if r.L3 != nil {
			_ = r.L3.Close()
		}
	}
	if d.meta != nil {
		d.meta.close()
	}
}

// Owner returns key's L2 owner in the region, by the ring of a running
// node (with a control plane, the current epoch's). While the owner is
// killed and not yet out of the ring, it returns another running node,
// which holds nothing of the key, so a read there just misses.
func (r *Region) Owner(key []byte) *l2.Node {
	r.mu.RLock()
	defer r.mu.RUnlock()
	o, running := r.ownerLocked(key)
	if running {
		return o
	}
	for _, id := range r.ids {
		if r.running[id] {
			return r.byID[id]
		}
	}
	return o
}

// liveOwner returns key's L2 owner, or nil while the owner is killed.
func (r *Region) liveOwner(key []byte) *l2.Node {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if o, running := r.ownerLocked(key); running {
		return o
	}
	return nil
}

func (r *Region) ownerLocked(key []byte) (*l2.Node, bool) {
	ringOf := r.byID[r.ids[0]]
	for _, id := range r.ids {
		if r.running[id] {
			ringOf = r.byID[id]
			break
		}
	}
	id := ringOf.Ring().Owner(key)
	return r.byID[id], r.running[id]
}

// Node returns the running L2 node with id, or nil (unknown or killed).
func (r *Region) Node(id string) *l2.Node {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if !r.running[id] {
		return nil
	}
	return r.byID[id]
}

// NodeIDs returns the region's L2 node ids in start order.
func (r *Region) NodeIDs() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.ids)
}

// Peers returns the region's L2 nodes as a client's topology names them.
func (r *Region) Peers() []l2.Peer {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]l2.Peer, len(r.ids))
	for i, id := range r.ids {
		out[i] = l2.Peer{ID: id, Addr: r.byID[id].Addr()}
	}
	return out
}

// fanout is a region's federation Replica: every change goes to the L3
// node (which keeps the keys it owns) and to the key's L2 owner.
type fanout struct{ r *Region }

func (f fanout) Apply(from string, changes []federation.Change) error {
	if err := f.r.L3.Apply(from, changes); err != nil {
		return err
	}
	byOwner := map[*l2.Node][]federation.Change{}
	for _, c := range changes {
		// A killed owner's changes are dropped here: the node restarts
		// empty, and the key's L3 owner has them.
		if o := f.r.liveOwner(c.Key); o != nil {
			byOwner[o] = append(byOwner[o], c)
		}
	}
	for n, cs := range byOwner {
		n.ApplyGlobal(l3.ChangesForL2(cs))
	}
	return nil
}

func (f fanout) Digests(d []uint64) { f.r.L3.Digests(d) }
