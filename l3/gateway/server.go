package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l2/ring"
	"github.com/tiercache/tiercache/l3"
	"github.com/tiercache/tiercache/raftmeta"
)

// DefaultDeliverTimeout bounds one delivery of a batch to the region's L2
// owners and one sticky read of an L2 node.
const DefaultDeliverTimeout = 2 * time.Second

// ServerConfig configures a Server. Zero fields but Region and Node mean
// the documented defaults.
type ServerConfig struct {
	// Region is the gateway's region (required); its endpoint's
	// certificate names it.
	Region string
	// Node is the region's L3 node, hosted by this process (required; not
	// closed by the Server).
	Node *l3.Node
	// Password is what the region's L2 nodes require (AUTH) for the
	// gateway's tc.gapply and tc.gread; "" when they require none.
	Password string
	// DeliverTimeout bounds one delivery to an L2 node (default 2 s).
	DeliverTimeout time.Duration
	// MaxValueBytes bounds a value read back from an L2 node (default
	// l2.DefaultMaxValueBytes).
	MaxValueBytes int
	// Logger receives topology and delivery events (default discarded).
	Logger *slog.Logger
}

// Server is a region's gateway: the federation Replica of its endpoint and
// the handler of the gateway kinds. Create it, create the endpoint with
// Replica: the Server and Source: the L3 node, then Start. Until Start,
// changes arriving are refused (and so replayed later).
type Server struct {
	cfg   ServerConfig
	nodes *regionNodes

	ep     atomic.Pointer[federation.Endpoint]
	client atomic.Pointer[l3.Client]
	ring   atomic.Pointer[l3.Ring] // the last global ring, for a Client made after it
	l2ring atomic.Pointer[regionRing]

	mu    sync.Mutex // serialises ApplyTopology and Start's attaching
	peers map[string]string
	last  *raftmeta.Topology // the last topology applied

	own, delivered, deliverErrors, refused atomic.Uint64
}

// regionRing is the region's L2 ring at one epoch, with each node's address.
type regionRing struct {
	epoch uint64
	ring  *ring.Ring // nil: no L2 node up
	addrs map[string]string
}

var _ federation.Replica = (*Server)(nil)

// NewServer returns a Server that is not yet attached to an endpoint.
func NewServer(cfg ServerConfig) (*Server, error) {
	switch {
	case cfg.Region == "":
		return nil, errors.New("gateway: ServerConfig.Region is empty")
	case cfg.Node == nil:
		return nil, errors.New("gateway: ServerConfig.Node is nil")
	case cfg.Node.Region() != cfg.Region:
		return nil, fmt.Errorf("gateway: L3 node %q is in region %q, not %q", cfg.Node.ID(), cfg.Node.Region(), cfg.Region)
	case cfg.DeliverTimeout < 0 || cfg.MaxValueBytes < 0:
		return nil, errors.New("gateway: negative DeliverTimeout or MaxValueBytes")
	}
	if cfg.DeliverTimeout == 0 {
		cfg.DeliverTimeout = DefaultDeliverTimeout
	}
	if cfg.MaxValueBytes == 0 {
		cfg.MaxValueBytes = l2.DefaultMaxValueBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, nodes: newRegionNodes(cfg.Password, cfg.DeliverTimeout, cfg.MaxValueBytes+1024), peers: map[string]string{}}
	s.l2ring.Store(&regionRing{})
	return s, nil
}

// Start attaches the Server to ep (whose region must be the Server's):
// it registers the L3 node's handlers, the gateway kinds and the sticky
// read of other regions, and makes the l3.Client the gateway answers
// with.
func (s *Server) Start(ep *federation.Endpoint) error {
	if ep.Region() != s.cfg.Region {
		return fmt.Errorf("gateway: endpoint is in region %q, not %q", ep.Region(), s.cfg.Region)
	}
	cl, err := l3.NewClient(l3.ClientConfig{Region: s.cfg.Region, Federation: ep, Local: []*l3.Node{s.cfg.Node}})
	if err != nil {
		return err
	}
	s.mu.Lock()
	if r := s.ring.Load(); r != nil {
		cl.SetRing(r)
	}
	s.client.Store(cl)
	s.ep.Store(ep)
	if s.last != nil {
		err = s.connectPeers(s.last) // a topology that arrived before Start
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	l3.Serve(ep, s.cfg.Node)
	global := l3.NewL2Global(cl)
	ep.Handle(KindGet, s.ownRegion(func(ctx context.Context, req []byte) ([]byte, error) {
		key, mode, err := decodeGetRequest(req)
		if err != nil {
			return nil, err
		}
		rep, err := global.Get(ctx, key, mode)
		if err != nil {
			return nil, err
		}
		return appendGetReply(nil, rep, clock.NowMillis(clock.System)), nil
	}))
	ep.Handle(KindFill, s.ownRegion(func(ctx context.Context, req []byte) ([]byte, error) {
		key, token, it, err := decodeFillRequest(req, clock.NowMillis(clock.System))
		if err != nil {
			return nil, err
		}
		return nil, global.Fill(ctx, key, token, it)
	}))
	ep.Handle(KindRelease, s.ownRegion(func(ctx context.Context, req []byte) ([]byte, error) {
		key, token, err := decodeReleaseRequest(req)
		if err != nil {
			return nil, err
		}
		return nil, global.Release(ctx, key, token)
	}))
	ep.Handle(KindSticky, s.ownRegion(s.forwardSticky))
	ep.Handle(l3.KindStickyRead, federation.HandlerFunc(s.serveSticky))
	return nil
}

// Client returns the l3.Client the gateway answers with (nil before Start).
func (s *Server) Client() *l3.Client { return s.client.Load() }

// ownRegion refuses a call from a peer whose certificate names another
// region: the gateway kinds are its own region's nodes' way in.
func (s *Server) ownRegion(h federation.HandlerFunc) federation.Handler {
	return federation.HandlerFunc(func(ctx context.Context, req []byte) ([]byte, error) {
		if peer, _ := federation.Peer(ctx); peer != s.cfg.Region {
			s.refused.Add(1)
			return nil, fmt.Errorf("%w: gateway of %q called by a peer of %q", ErrNotOwnRegion, s.cfg.Region, peer)
		}
		return h(ctx, req)
	})
}

// forwardSticky sends a node's sticky read to the writer's region over the
// gateway's link there and hands back that region's reply as it is.
func (s *Server) forwardSticky(ctx context.Context, req []byte) ([]byte, error) {
	region, inner, err := decodeStickyRequest(req)
	if err != nil {
		return nil, err
	}
	ep := s.ep.Load()
	l, ok := ep.Link(region)
	if !ok || region == s.cfg.Region {
		return nil, fmt.Errorf("%w: %q", ErrUnknownRegion, region)
	}
	return l.Call(ctx, l3.KindStickyRead, inner, true)
}

// serveSticky answers another region's sticky read from the key's L2
// owner in this region.
func (s *Server) serveSticky(ctx context.Context, req []byte) ([]byte, error) {
	key, minVersion, err := l3.DecodeStickyRequest(req)
	if err != nil {
		return nil, err
	}
	addr, err := s.ownerAddr(key)
	if err != nil {
		return nil, err
	}
	rd, err := s.nodes.read(ctx, addr, key, minVersion)
	if err != nil {
		return nil, err
	}
	return l3.AppendStickyReply(nil, rd, clock.NowMillis(clock.System)), nil
}

func (s *Server) ownerAddr(key []byte) (string, error) {
	rr := s.l2ring.Load()
	if rr.ring == nil {
		return "", fmt.Errorf("gateway: region %q has no L2 node up", s.cfg.Region)
	}
	return rr.addrs[rr.ring.Owner(key)], nil
}

// Apply implements federation.Replica: changes are L2 nodes' writes, each
// node publishing to every region's gateway. All go to the L3 node, which
// keeps the keys it owns. Changes from another region then go to each
// key's L2 owner here (its own region's owners wrote them); the batch is
// acknowledged only when every owner has it, so a failed delivery is
// replayed by the sending node and nothing acknowledged is lost.
func (s *Server) Apply(from string, changes []federation.Change) error {
	if s.client.Load() == nil {
		return errors.New("gateway: not started")
	}
	if err := s.cfg.Node.Apply(from, changes); err != nil {
		return err
	}
	if from == s.cfg.Region {
		s.own.Add(uint64(len(changes)))
		return nil
	}
	return s.deliver(changes)
}

// deliver sends changes to their L2 owners in this region, one pipelined
// batch per owner, in parallel.
func (s *Server) deliver(changes []federation.Change) error {
	rr := s.l2ring.Load()
	if rr.ring == nil {
		// No L2 node is up: no cache here holds anything to replace. A
		// node that starts later starts empty.
		return nil
	}
	byOwner := map[string][]l2.GlobalChange{}
	for _, ch := range changes {
		addr := rr.addrs[rr.ring.Owner(ch.Key)]
		byOwner[addr] = append(byOwner[addr], l2.GlobalChange{Key: ch.Key, Value: ch.Value, Version: ch.Version, ExpireAt: ch.ExpireAt, Delete: ch.Delete})
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.DeliverTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(byOwner))
	for addr, batch := range byOwner {
		wg.Go(func() {
			if err := s.nodes.apply(ctx, addr, batch); err != nil {
				errs <- err
				return
			}
			s.delivered.Add(uint64(len(batch)))
		})
	}
	wg.Wait()
	close(errs)
	var first error
	for err := range errs {
		s.deliverErrors.Add(1)
		if first == nil {
			first = err
		}
	}
	return first
}

// Digests implements federation.Replica with the L3 node's digests.
func (s *Server) Digests(d []uint64) { s.cfg.Node.Digests(d) }

// ApplyTopology follows the control plane: the global ring (every up L3
// node) for the L3 node and the Client, the region's L2 ring for
// deliveries, and a link to every other region's gateway not yet linked.
// It returns the first problem; the parts it could apply stay applied.
func (s *Server) ApplyTopology(t *raftmeta.Topology) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	note := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if r, err := l3.RingFromTopology(t); err == nil {
		s.ring.Store(r)
		s.cfg.Node.SetRing(r)
		if cl := s.client.Load(); cl != nil {
			cl.SetRing(r)
		}
	} else {
		note(err)
	}
	if cur := s.l2ring.Load(); t.Epoch >= cur.epoch {
		rr, err := buildRegionRing(t, s.cfg.Region)
		if err == nil {
			s.l2ring.Store(rr)
		}
		note(err)
	}
	s.last = t
	if s.ep.Load() != nil {
		note(s.connectPeers(t))
	}
	return first
}

// connectPeers links to every other region's gateway t lists that is not
// linked yet. Called with s.mu held, after Start.
func (s *Server) connectPeers(t *raftmeta.Topology) error {
	ep := s.ep.Load()
	var first error
	note := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for _, n := range t.Nodes {
		if n.Tier != raftmeta.TierL3 || n.Region == s.cfg.Region || n.FederationAddress == "" || n.State == raftmeta.StateDown {
			continue
		}
		old, linked := s.peers[n.Region]
		if linked && old == n.FederationAddress {
			continue
		}
		ua, err := net.ResolveUDPAddr("udp", n.FederationAddress)
		if err != nil {
			note(fmt.Errorf("gateway: %s's gateway at %q: %w", n.Region, n.FederationAddress, err))
			continue
		}
		if l, ok := ep.Link(n.Region); linked && ok {
			// The peer gateway moved: follow it; the outbox replays.
			l.Redirect(ua)
			s.peers[n.Region] = n.FederationAddress
			s.cfg.Logger.Info("gateway: peer gateway moved", "region", n.Region, "old", old, "new", n.FederationAddress)
			continue
		}
		if _, err := ep.Connect(n.Region, ua); err != nil && !errors.Is(err, federation.ErrDuplicateLink) {
			note(err)
			continue
		}
		s.peers[n.Region] = n.FederationAddress
		s.cfg.Logger.Info("gateway: linked to region", "region", n.Region, "addr", n.FederationAddress)
	}
	return first
}

func buildRegionRing(t *raftmeta.Topology, region string) (*regionRing, error) {
	peers := l2.RegionPeers(t, region)
	rr := &regionRing{epoch: t.Epoch, addrs: make(map[string]string, len(peers))}
	if len(peers) == 0 {
		return rr, nil
	}
	nodes := make([]ring.Node, len(peers))
	for i, p := range peers {
		nodes[i] = ring.Node{ID: p.ID, Weight: p.Weight}
		rr.addrs[p.ID] = p.Addr
	}
	r, err := ring.New(nodes, ring.Options{})
	if err != nil {
		return nil, fmt.Errorf("gateway: region %s ring: %w", region, err)
	}
	rr.ring = r
	return rr, nil
}

// Stats count a gateway's work.
type Stats struct {
	Own           uint64 // own-region writes applied at the L3 node
	Delivered     uint64 // other regions' writes delivered to an L2 owner here
	DeliverErrors uint64 // deliveries that failed (the batch is replayed)
	Refused       uint64 // gateway calls refused from another region's peers
}

// Stats returns the Server's counters.
func (s *Server) Stats() Stats {
	return Stats{Own: s.own.Load(), Delivered: s.delivered.Load(), DeliverErrors: s.deliverErrors.Load(), Refused: s.refused.Load()}
}

// Close drops the connections to the L2 nodes. Close the endpoint first,
// so no Apply is running.
func (s *Server) Close() error {
	s.nodes.close()
	return nil
}
