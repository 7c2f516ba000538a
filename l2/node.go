package l2

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/internal/hlc"
	"github.com/tiercache/tiercache/l2/ring"
	"github.com/tiercache/tiercache/l2/store"
)

// Node is one L2 node. Create it with NewNode, serve with Start, stop with
// Close. Its methods are safe for concurrent use.
type Node struct {
	cfg      Config
	store    *store.Store
	versions *hlc.Clock
	rlim     readLimits
	routing  atomic.Pointer[routing]
	tier     *tierState // tier protocol and control-plane state (tier_*.go, cluster_*.go)

	inflight atomic.Int64
	nextID   atomic.Uint64
	clients  atomic.Int64
	stats    counters
	retired  *activity // counts of closed connections
	started  time.Time

	mu      sync.Mutex // protects the fields below and orders wg.Add before Close's Wait
	ln      net.Listener
	conns   map[*conn]struct{}
	running bool
	closed  bool
	wg      sync.WaitGroup // every goroutine the node starts
}

// routing is one immutable view of the region, swapped whole by SetPeers.
type routing struct {
	ring  *ring.Ring // nil for a single node
	self  string
	peers map[string]*peer // every node but self
}

// NewNode validates cfg and builds a node. Nothing listens until Start.
func NewNode(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	versions, err := hlc.New(cfg.RegionID, cfg.Clock)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	st, err := store.New(cfg.storeConfig())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	n := &Node{
		cfg:      cfg,
		store:    st,
		versions: versions,
		rlim:     newReadLimits(cfg.Limits),
		retired:  newActivity(),
		conns:    make(map[*conn]struct{}),
		started:  cfg.Clock.Now(),
		tier:     newTierState(cfg.Clock),
	}
	rt, err := n.buildRouting(cfg.Peers, nil)
	if err != nil {
		st.Close()
		return nil, err
	}
	n.routing.Store(rt)
	return n, nil
}

// buildRouting makes a routing for peers, reusing the links of old whose
// peer kept its address.
func (n *Node) buildRouting(peers []Peer, old *routing) (*routing, error) {
	rt := &routing{self: n.cfg.ID, peers: map[string]*peer{}}
	if len(peers) == 0 {
		return rt, nil
	}
	if err := validatePeers(n.cfg.ID, peers); err != nil {
		return nil, err
	}
	r, err := peersRing(peers)
	if err != nil {
		return nil, err
	}
	if len(peers) > 1 {
		rt.ring = r
	}
	for _, p := range peers {
		if p.ID == n.cfg.ID {
			continue
		}
		if old != nil {
			if prev := old.peers[p.ID]; prev != nil && prev.addr == p.Addr {
				rt.peers[p.ID] = prev
				continue
			}
		}
		rt.peers[p.ID] = newPeer(n, p.ID, p.Addr)
	}
	return rt, nil
}

// SetPeers replaces the region's membership and ring, for the control
// plane. Commands already routed finish on the old view; links to peers
// that left (or moved) are closed.
func (n *Node) SetPeers(peers []Peer) error {
	stale, err := n.swapPeers(peers)
	// The replaced links are closed after n.mu is released: a link that is
	// dialling holds its own lock and then takes n.mu (spawn) for its
	// reader, so closing it under n.mu would deadlock the two.
	for _, p := range stale {
		p.close()
	}
	return err
}

// swapPeers installs the routing for peers and returns the links it no
// longer uses.
func (n *Node) swapPeers(peers []Peer) ([]*peer, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	old := n.routing.Load()
	rt, err := n.buildRouting(peers, old)
	if err != nil {
		return nil, err
	}
	n.routing.Store(rt)
	var stale []*peer
	for id, p := range old.peers {
		if rt.peers[id] != p {
			stale = append(stale, p)
		}
	}
	return stale, nil
}

// Start binds the listen address and serves in the background.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.closed:
		return ErrClosed
	case n.running:
		return ErrStarted
	}
	ln, err := net.Listen("tcp", n.cfg.Listen)
	if err != nil {
		return err
	}
	n.ln, n.running = ln, true
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.acceptLoop(ln)
	}()
	return nil
}

// Addr returns the address the node listens on, or "" before Start.
func (n *Node) Addr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ln == nil {
		return ""
	}
	return n.ln.Addr().String()
}

// Close stops listening, closes every client and peer connection, waits
// for the node's goroutines and stops the store. It is safe to call more
// than once.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	var err error
	if n.ln != nil {
		err = n.ln.Close()
	}
	for c := range n.conns {
		c.nc.Close()
	}
	rt := n.routing.Load()
	n.mu.Unlock()
	for _, p := range rt.peers {
		p.close()
	}
	n.wg.Wait()
	n.store.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// spawn runs f in a goroutine counted by Close, unless the node is closed.
func (n *Node) spawn(f func()) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
	return true
}

func (n *Node) acceptLoop(ln net.Listener) {
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait a little, as
			// net/http does, rather than spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			n.cfg.Logger.Warn("l2: accept failed", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		n.stats.accepted.Add(1)
		if n.clients.Load() >= int64(n.cfg.Limits.MaxClients) {
			n.stats.rejected.Add(1)
			nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			nc.Write([]byte("-" + errMaxClients + "\r\n"))
			nc.Close()
			continue
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		c := newConn(n, nc, n.nextID.Add(1))
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			nc.Close()
			return
		}
		n.conns[c] = struct{}{}
		n.clients.Add(1)
		n.wg.Add(1)
		n.mu.Unlock()
		go func() {
			defer n.wg.Done()
			defer n.dropConn(c)
			c.serve()
		}()
	}
}

func (n *Node) dropConn(c *conn) {
	c.nc.Close()
	for _, hook := range connCloseHooks {
		hook(c)
	}
	n.mu.Lock()
	c.act.addTo(n.retired)
	delete(n.conns, c)
	n.mu.Unlock()
	n.clients.Add(-1)
}

// connCloseHooks run when a client connection ends, on its goroutine.
// Extension commands register them in init to drop per-connection state.
var connCloseHooks []func(*conn)
