package tiercache

import (
	"context"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/xfetch"
	"github.com/tiercache/tiercache/l1"
)

// readReq is one read's fixed facts, shared by the steps that resolve it.
type readReq struct {
	key    string
	kb     []byte // key's bytes, aliasing key: never modified
	ks     keyspace.Settings
	slot   int           // ks's counter slot (keyspace_stats.go)
	delta  *xfetch.Delta // ks's origin load time
	def    Defences
	loader Loader
	bg     bool // no caller waits: a background refresh
	warm   bool // started by the pre-warmer
	// leading is set inside the function of the key's flight, whose
	// nested steps must not wait on the flight they are part of.
	leading bool
	// minVer is a Session's sticky requirement (session.go): no value
	// older than it; from is the writer's region to ask when the local
	// one lags ("" when it is this region).
	minVer uint64
	from   string
}

// newReadReq returns the facts of a read of key, whose keyspace is sp.
func (c *Client) newReadReq(key string, kb []byte, sp *space, loader Loader) *readReq {
	return &readReq{key: key, kb: kb, ks: sp.settings, slot: sp.slot, delta: sp.delta, def: c.defencesFor(kb), loader: loader}
}

// Get returns key's value: from L1, else from the key's L2 node, else from
// loader under the region's lease for key, filling the cache. The result
// is a new slice the caller owns. loader may be nil for a read that must
// not touch the origin; a miss then returns ErrNoLoader.
//
// A fresh L1 hit costs one allocation, the returned copy; GetAppend with a
// reused buffer costs none.
func (c *Client) Get(ctx context.Context, key string, loader Loader) ([]byte, error) {
	return c.GetAppend(ctx, nil, key, loader)
}

// GetAppend is Get appending the value to dst. With l1.TrailerSize spare
// bytes beyond the value in dst's capacity an L1 hit allocates nothing:
// buf, err = c.GetAppend(ctx, buf[:0], key, loader) gets there after the
// first call.
func (c *Client) GetAppend(ctx context.Context, dst []byte, key string, loader Loader) ([]byte, error) {
	kb := bytesOf(key)
	sp := c.keyspaceOf(kb)
	if c.l1 != nil && sp.settings.L1Mode() != keyspace.L1Off {
		v, _, st := c.l1.Get(dst, kb)
		switch st {
		case l1.Hit:
			c.stats.l1Hits.Add(1)
			c.stats.ks.l1Hits.Add(sp.slot)
			c.hot.countHit(kb)
			return v, nil
		case l1.Stale:
			// Serve what we hold; one background read of the node
			// renews it (or drops it if the key cooled).
			c.stats.l1Stale.Add(1)
			c.stats.ks.l1Stale.Add(sp.slot)
			c.hot.countHit(kb)
			rq := c.newReadReq(key, kb, sp, loader)
			rq.bg = true
			c.refreshL1(rq)
			return v, nil
		}
		c.stats.ks.l1Misses.Add(sp.slot)
	}
	if ctx.Err() != nil {
		return dst, ctx.Err()
	}
	rq := c.newReadReq(key, kb, sp, loader)
	if c.cfg.tracer != nil {
		return c.getTraced(ctx, dst, rq)
	}
	return c.getMiss(ctx, dst, rq)
}

// getMiss resolves a read that L1 could not answer.
func (c *Client) getMiss(ctx context.Context, dst []byte, rq *readReq) ([]byte, error) {
	if rq.def.NoSingleflight {
		return c.fetch(ctx, dst, rq)
	}
	// One request to the node per key at a time per process: concurrent
	// readers of a key share its fetch, and whatever resolving a miss
	// takes (a lease wait, a load). In a stampede this keeps the node to
	// a handful of requests per process; on a hot key it saves round
	// trips. Like any singleflight, a read that joins a fetch already in
	// flight gets what that fetch found.
	inner := *rq
	inner.leading = true
	return c.shared(ctx, dst, rq, func() ([]byte, error) {
		return c.fetch(ctx, nil, &inner)
	})
}

// refreshL1 re-reads a stale L1 entry's key from its node in the
// background.
func (c *Client) refreshL1(rq *readReq) {
	if c.refreshes.InFlight(rq.key) {
		return
	}
	c.spawnRefresh(rq.key, func(ctx context.Context) {
		c.fetch(ctx, nil, rq)
	})
}
