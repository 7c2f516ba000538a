package tiercache

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/internal/breaker"
	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/tcproto"
	"github.com/tiercache/tiercache/l2/ring"
)

// DegradedMode says where a read goes while its key's node is unavailable
// (Config.Degraded; degraded.go has the whole story).
//
// DegradedGutter is the default (the zero value) because it measured
// better where it matters in an outage: bench/degraded.go (3 ring nodes +
// 1 gutter node on loopback, 4 clients, 4000 Zipf reads/s over 20,000
// preloaded keys, 100 invalidating writes/s, 5 ms origin loads, one ring
// node killed for 12 s, 2 runs) saw the outage take the origin from ~79 to
// ~1250 loads/s with the loader but only to ~290 with the gutter (0.23x);
// 0.15% of reads refused at the loader's DegradedLoads cap against none
// (2.2% against 0.01% with 20 ms loads); and 89 stale reads against none:
// the loader's uncached loads are coalesced per process, so a read that
// joins a load begun before a commit gets the old row, while the gutter
// is deleted with the invalidation and fills only through its leases.
// Neither mode moved load onto the survivors. What the gutter costs: a
// spare node per region; read p99 (12 ms against 6.5 ms there), because a
// gutter miss that another client holds the lease for waits for its fill
// by polling with the node's wait hint, as a ring-node miss does; and
// entries that can be stale for up to GutterTTL in the cases
// Client.gutterForget lists. With no Config.GutterNodes there is no gutter
// and the mode is the loader's.
type DegradedMode uint8

// The degraded modes.
const (
	// DegradedGutter reads and fills Config.GutterNodes, entries living
	// GutterTTL, with the capped loader behind them and as the fallback
	// when the gutter is down too; without GutterNodes it is
	// DegradedLoader.
	DegradedGutter DegradedMode = iota
	// DegradedLoader loads from the origin under the DegradedLoads cap,
	// uncached, even when GutterNodes are configured.
	DegradedLoader
)

// DefaultGutterTTL is a gutter entry's lifetime: short, since nothing
// pushes a gutter entry's invalidations to other clients (Meta's gutter
// used about 10 s too).
const DefaultGutterTTL = 10 * time.Second

func (m DegradedMode) String() string {
	switch m {
	case DegradedLoader:
		return "loader"
	case DegradedGutter:
		return "gutter"
	}
	return fmt.Sprintf("DegradedMode(%d)", m)
}

// gutterPool is the client's handle on the gutter nodes: a ring of its
// own (a key's gutter node does not depend on the region's membership)
// and, per ring node, until when its keys may have gutter entries.
type gutterPool struct {
	ring  *ring.Ring
	nodes map[string]*nodeClient
	ttl   time.Duration
	// slack covers the gap between the client stamping a fill and the
	// node starting the entry's TTL: at most the fill's own time budget.
	slack time.Duration
	until sync.Map // ring node ID → *atomic.Int64, unix ms

	hits, fills, fallbacks, dels, delFailures atomic.Uint64
}

// GutterStats are a client's gutter counters since New (all zero without
// a gutter).
type GutterStats struct {
	Hits        uint64 // degraded reads answered by a gutter node
	Fills       uint64 // values a gutter node accepted
	Fallbacks   uint64 // degraded reads that found the gutter node down too
	Deletes     uint64 // writes that also deleted the key from the gutter
	DelFailures uint64 // of those, the gutter delete failed (entry lives out its TTL)
}

// GutterStats returns the client's gutter counters.
func (c *Client) GutterStats() GutterStats {
	g := c.gutter
	if g == nil {
		return GutterStats{}
	}
	return GutterStats{Hits: g.hits.Load(), Fills: g.fills.Load(), Fallbacks: g.fallbacks.Load(),
		Deletes: g.dels.Load(), DelFailures: g.delFailures.Load()}
}

// newGutter builds the gutter handles of cfg (nil in loader mode or
// without gutter nodes). Their breakers are their own, so a dead gutter
// fails fast to the loader.
func newGutter(cfg Config) (*gutterPool, error) {
	if cfg.Degraded != DegradedGutter || len(cfg.GutterNodes) == 0 {
		return nil, nil
	}
	rn := make([]ring.Node, len(cfg.GutterNodes))
	for i, n := range cfg.GutterNodes {
		rn[i] = ring.Node{ID: n.ID, Weight: n.Weight}
	}
	r, err := ring.New(rn, ring.Options{})
	if err != nil {
		return nil, fmt.Errorf("%w: gutter: %w", ErrInvalidConfig, err)
	}
	g := &gutterPool{ring: r, nodes: map[string]*nodeClient{}, ttl: cfg.GutterTTL,
		slack: max(cfg.OpTimeout, cfg.MaxLeaseWait) + time.Second}
	for _, n := range cfg.GutterNodes {
		br, err := breaker.New(cfg.Breaker.internal(cfg.Clock))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		g.nodes[n.ID] = &nodeClient{id: n.ID, addr: n.Addr, br: br, opTimeout: cfg.OpTimeout,
			stats: new(counters), // the gutter's calls stay out of the ring's figures
			pool:  newPool(n.Addr, cfg.Password, cfg.PoolSize, cfg.DialTimeout)}
	}
	return g, nil
}

func (g *gutterPool) pick(key []byte) *nodeClient { return g.nodes[g.ring.Owner(key)] }

func (g *gutterPool) close() {
	for _, n := range g.nodes {
		n.pool.close()
	}
}

// touch records that owner's keys may have gutter entries until a TTL
// from now; writes to them delete from the gutter until then.
func (g *gutterPool) touch(owner string, now int64) {
	v, _ := g.until.LoadOrStore(owner, new(atomic.Int64))
	u := v.(*atomic.Int64)
	end := now + (g.ttl + g.slack).Milliseconds()
	for old := u.Load(); old < end && !u.CompareAndSwap(old, end); old = u.Load() {
	}
}

func (g *gutterPool) recent(owner string, now int64) bool {
	v, ok := g.until.Load(owner)
	return ok && now < v.(*atomic.Int64).Load()
}

// entryTTL is a gutter entry's life in ms: GutterTTL, or the keyspace's
// own if shorter. One lifetime, no stale phase: a gutter entry is
// already a stand-in.
func (c *Client) gutterEntryTTL(rq *readReq) int64 {
	return min(c.gutter.ttl, rq.ks.Hard()).Milliseconds()
}

// viaGutter answers a degraded read from the key's gutter node: a hit is
// served; a miss takes the gutter's lease (one load per key across the
// region's clients, as on a ring node), loads under the DegradedLoads cap
// and fills the gutter; a WAIT polls until the holder's fill lands or
// MaxLeaseWait passes. A gutter node that fails sends the read to the
// capped loader, as if there were no gutter.
func (c *Client) viaGutter(ctx context.Context, rq *readReq, cause error) ([]byte, error) {
	g := c.gutter.pick(rq.kb)
	c.gutter.touch(c.topo.Load().owner(rq.kb).id, clock.NowMillis(c.cfg.Clock))
	// Epoch 0: a gutter node is outside every ring and routes nothing.
	req := tcproto.GetRequest{Key: rq.kb, NoLease: rq.def.NoLeases || rq.loader == nil}
	deadline := c.deadline(ctx)
	giveUp := time.Now().Add(c.cfg.MaxLeaseWait)
	wait := time.Millisecond
	for {
		rep, v, err := g.get(ctx, deadline, req, nil)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			c.gutter.fallbacks.Add(1)
			return c.capLoad(ctx, rq, cause)
		}
		switch rep.status {
		case tcproto.StatusHit, tcproto.StatusStale:
			c.gutter.hits.Add(1)
			return v, nil
		case tcproto.StatusLease, tcproto.StatusMiss:
			if rq.loader == nil {
				return nil, cause
			}
			v, err := c.capLoad(ctx, rq, cause)
			c.gutterFill(g, rq, v, err, rep.token)
			return v, err
		case tcproto.StatusWait:
			if time.Now().After(giveUp) {
				return c.capLoad(ctx, rq, cause)
			}
			wait = min(max(wait, time.Duration(rep.waitMs)*time.Millisecond), maxWaitPoll)
			if !sleepCtx(ctx, jitter(wait)) {
				return nil, ctx.Err()
			}
			wait = wait*3/2 + time.Millisecond
		default:
			return nil, fmt.Errorf("%w: gutter TC.GET status %v", ErrProtocol, rep.status)
		}
	}
}

// gutterFill writes a degraded load's value to the gutter in the
// background (the reader does not wait for the cache), or hands the lease
// back if the load failed so the region's next misser loads at once.
func (c *Client) gutterFill(g *nodeClient, rq *readReq, v []byte, loadErr error, token uint64) {
	if loadErr != nil || len(v) > rq.ks.MaxValue() {
		if token != 0 {
			key := rq.kb
			c.spawn(func(ctx context.Context) {
				ctx, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
				defer cancel()
				g.unlease(ctx, c.deadline(ctx), key, 0, token)
			})
		}
		return
	}
	ttl := c.gutterEntryTTL(rq)
	req := tcproto.SetRequest{Key: rq.kb, Value: v, SoftTTLMs: ttl, HardTTLMs: ttl, Lease: token}
	c.fillsInFlight.Add(1)
	if !c.spawn(func(ctx context.Context) {
		defer c.fillsInFlight.Add(-1)
		ctx, cancel := context.WithTimeout(ctx, max(c.cfg.OpTimeout, c.cfg.MaxLeaseWait))
		defer cancel()
		if st, _, err := g.set(ctx, c.deadline(ctx), req); err == nil && st == tcproto.StatusOK {
			c.gutter.fills.Add(1)
		}
	}) {
		c.fillsInFlight.Add(-1)
	}
}

// gutterForget deletes key from its gutter node after a write to its
// owner, when the gutter may hold it: the owner's write failed, or its
// breaker is not closed, or this client has read the owner's keys through
// the gutter within a gutter TTL (plus slack). The delete is synchronous,
// so once Set or Invalidate returns no gutter entry older than the write
// is left for readers; like a ring node's TC.DEL it also ends the key's
// gutter lease and leaves a tombstone, so a degraded load that read the
// origin before the commit cannot fill the gutter after it.
//
// The staleness that remains, each bounded by the entry's TTL (GutterTTL
// or the keyspace's, if shorter): a gutter delete that fails (the gutter
// node down or the caller's deadline spent; counted in DelFailures); and
// a write from a client that saw none of the owner's trouble (its write
// reached the owner and it never used the gutter for that owner) while
// another client still reads the owner's keys through the gutter: a
// partition between that client and the owner, or the owner's first
// seconds back before that client's breaker closes. Readers that see the
// owner up read the owner, never the gutter.
func (c *Client) gutterForget(ctx context.Context, owner *nodeClient, key []byte, ownerErr error) {
	if c.gutter == nil {
		return
	}
	if ownerErr == nil && owner.br.State() == breaker.Closed && !c.gutter.recent(owner.id, clock.NowMillis(c.cfg.Clock)) {
		return
	}
	if _, err := c.gutter.pick(key).del(ctx, c.deadline(ctx), key, 0); err != nil {
		c.gutter.delFailures.Add(1)
		return
	}
	c.gutter.dels.Add(1)
}

// validateGutter checks the gutter settings: a known mode, and gutter
// nodes that are well formed and outside the ring (a ring node as its own
// gutter would put a dead node's keys back on the dead node).
func (c Config) validateGutter() error {
	if c.Degraded != DegradedGutter && c.Degraded != DegradedLoader {
		return fmt.Errorf("%w: unknown degraded mode %v", ErrInvalidConfig, c.Degraded)
	}
	if err := validateNodes(c.GutterNodes); err != nil {
		return err
	}
	for _, g := range c.GutterNodes {
		for _, n := range c.Nodes {
			if g.ID == n.ID || g.Addr == n.Addr {
				return fmt.Errorf("%w: gutter node %q is a ring node", ErrInvalidConfig, g.ID)
			}
		}
	}
	return nil
}
