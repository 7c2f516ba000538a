package tiercache

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/tiercache/tiercache/internal/breaker"
	"github.com/tiercache/tiercache/internal/singleflight"
	"github.com/tiercache/tiercache/l1"
	"github.com/tiercache/tiercache/l2/ring"
	"github.com/tiercache/tiercache/sticky"
)

// Client is the tier client. Its methods are safe for concurrent use.
type Client struct {
	cfg Config
	l1  *l1.Cache // nil when L1 is off

	topo   atomic.Pointer[topology]
	follow atomic.Pointer[follower] // the control-plane watcher followed, if any

	flights   singleflight.Group[[]byte]   // per-key miss resolution
	refreshes singleflight.Group[struct{}] // per-key background refreshes

	// spaces holds each keyspace of Config.Keyspaces (keyspace_stats.go);
	// otherSpace is every other key's.
	spaces     map[string]*space
	otherSpace space

	// prewarmByHand stops the background pre-warm loop from acting: tests
	// on a fake clock call prewarmOnce themselves, and the loop's wall-clock
	// ticks would otherwise race them.
	prewarmByHand atomic.Bool

	degradedSem chan struct{} // origin loads of keys whose node is down
	gutter      *gutterPool   // nil without GutterNodes or with DegradedLoader
	refreshSem  chan struct{} // background refreshes
	hot         hotRegistry
	stats       counters
	sessions    *sticky.Sessions // nil without Config.Region (session.go)

	// losePushes makes the subscriptions read and drop every push, as a
	// network that loses them would; tests set it.
	losePushes atomic.Bool
	// fillsInFlight counts background fills, for tests that wait for
	// quiescence.
	fillsInFlight atomic.Int64

	ctx    context.Context // ends at Close
	cancel context.CancelFunc

	mu     sync.Mutex // protects closed and orders wg.Add before Close's Wait
	closed bool
	wg     sync.WaitGroup // every goroutine the client starts
}

// topology is one immutable routing view: the ring of an epoch and a
// handle per node. SetTopology swaps it whole.
type topology struct {
	epoch uint64
	ring  *ring.Ring
	nodes map[string]*nodeClient
}

func (t *topology) owner(key []byte) *nodeClient { return t.nodes[t.ring.Owner(key)] }

// New validates cfg, connects nothing yet (connections are dialled on
// first use) and starts the client's background work: an invalidation
// subscription per node when L1 is on, and the hot-key pre-warmer.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Client{
		cfg:         cfg,
		degradedSem: make(chan struct{}, cfg.DegradedLoads),
		refreshSem:  make(chan struct{}, cfg.MaxRefreshes),
	}
	c.joinSpaces()
	if cfg.L1MaxBytes >= 0 {
		cache, err := l1.New(l1.Config{MaxBytes: cfg.L1MaxBytes, Clock: cfg.Clock})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		c.l1 = cache
	}
	gutter, err := newGutter(cfg)
	if err != nil {
		return nil, err
	}
	c.gutter = gutter
	if c.sessions, err = newSessions(cfg); err != nil {
		if c.gutter != nil {
			c.gutter.close()
		}
		return nil, err
	}
	c.hot.init()
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if err := c.SetTopology(Topology{Nodes: cfg.Nodes}); err != nil {
		c.cancel()
		if c.gutter != nil {
			c.gutter.close()
		}
		return nil, err
	}
	if c.l1 != nil && cfg.PrewarmInterval > 0 {
		c.spawn(c.runPrewarm)
	}
	return c, nil
}

// SetTopology swaps in a new membership (from the control plane). Handles
// of nodes that kept their ID and address are reused; the others are
// closed once the swap is done, which fails their calls in progress.
func (c *Client) SetTopology(t Topology) error {
	if len(t.Nodes) == 0 {
		return ErrNoNodes
	}
	if err := validateNodes(t.Nodes); err != nil {
		return err
	}
	rn := make([]ring.Node, len(t.Nodes))
	for i, n := range t.Nodes {
		rn[i] = ring.Node{ID: n.ID, Weight: n.Weight}
	}
	r, err := ring.New(rn, ring.Options{})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	old := c.topo.Load()
	nt := &topology{epoch: t.Epoch, ring: r, nodes: make(map[string]*nodeClient, len(t.Nodes))}
	for _, n := range t.Nodes {
		if old != nil {
			if prev := old.nodes[n.ID]; prev != nil && prev.addr == n.Addr {
				nt.nodes[n.ID] = prev
				continue
			}
		}
		nc, err := c.newNodeClient(n)
		if err != nil {
			return err
		}
		nt.nodes[n.ID] = nc
	}
	c.topo.Store(nt)
	if old != nil {
		for id, n := range old.nodes {
			if nt.nodes[id] != n {
				c.closeNode(n)
			}
		}
	}
	return nil
}

// newNodeClient builds a node handle and starts its subscription. c.mu
// is held.
func (c *Client) newNodeClient(n Node) (*nodeClient, error) {
	br, err := breaker.New(c.cfg.Breaker.internal(c.cfg.Clock))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	nc := &nodeClient{
		id: n.ID, addr: n.Addr, br: br, stats: &c.stats, opTimeout: c.cfg.OpTimeout,
		pool: newPool(n.Addr, c.cfg.Password, c.cfg.PoolSize, c.cfg.DialTimeout),
	}
	if c.l1 != nil {
		ctx, cancel := context.WithCancel(c.ctx)
		nc.stopTrack = cancel
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.runTracking(ctx, nc)
		}()
	}
	return nc, nil
}

func (c *Client) closeNode(n *nodeClient) {
	if n.stopTrack != nil {
		n.stopTrack()
	}
	n.pool.close()
}

// Close stops the client's goroutines, closes every connection and waits.
// Calls in progress fail with ErrUnavailable or ErrClosed. It is safe to
// call more than once.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	for _, n := range c.topo.Load().nodes {
		c.closeNode(n)
	}
	if c.gutter != nil {
		c.gutter.close()
	}
	c.wg.Wait()
	if c.l1 != nil {
		c.l1.Close()
	}
	return nil
}

// spawn runs f on a goroutine that Close waits for, unless closed.
func (c *Client) spawn(f func(ctx context.Context)) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f(c.ctx)
	}()
	return true
}

// spawnRefresh runs f in the background unless a refresh of key is
// already running in this process or MaxRefreshes are, and reports
// whether it started. f gets a context bounded by LoadTimeout.
func (c *Client) spawnRefresh(key string, f func(ctx context.Context)) bool {
	select {
	case c.refreshSem <- struct{}{}:
	default:
		c.stats.refreshSkipped.Add(1)
		return false
	}
	fl := c.refreshes.Start(key)
	if fl == nil {
		<-c.refreshSem
		return false
	}
	started := c.spawn(func(ctx context.Context) {
		defer func() {
			fl.Finish(struct{}{}, nil)
			<-c.refreshSem
		}()
		ctx, cancel := context.WithTimeout(ctx, c.cfg.LoadTimeout)
		defer cancel()
		c.stats.refreshes.Add(1)
		f(ctx)
	})
	if !started {
		fl.Finish(struct{}{}, nil)
		<-c.refreshSem
	}
	return started
}

// deadline is the latest a call to a node may end: the caller's deadline,
// or OpTimeout from now when the caller has none. Waiting for a pooled
// connection may use all of it; the exchange with the node itself is
// further capped at OpTimeout (nodeClient.begin).
func (c *Client) deadline(ctx context.Context) time.Time {
	if cd, ok := ctx.Deadline(); ok {
		return cd
	}
	return time.Now().Add(c.cfg.OpTimeout)
}

// bytesOf views s as bytes without copying; the result must not be
// modified.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
