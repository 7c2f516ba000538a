package tiercache

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/tcproto"
	"github.com/tiercache/tiercache/l1"
)

// load calls rq's Loader with hints, timing it for XFetch.
func (c *Client) load(ctx context.Context, rq *readReq, h Hints) ([]byte, error) {
	if rq.loader == nil {
		return nil, ErrNoLoader
	}
	h.Background, h.Prewarm = h.Background || rq.bg, h.Prewarm || rq.warm
	if rq.minVer != 0 {
		h.MinVersion, h.PreferPrimary = max(h.MinVersion, rq.minVer), true
	}
	start := time.Now()
	c.stats.loads.Add(1)
	c.stats.ks.loads.Add(rq.slot)
	var v []byte
	var err error
	if tr := c.cfg.tracer; tr != nil {
		v, err = c.loadTraced(ctx, tr, rq, h)
	} else {
		v, err = rq.loader.Load(withHints(ctx, h), rq.key)
	}
	if err == nil {
		rq.delta.Observe(time.Since(start))
	}
	return v, err
}

// loadAndFill loads rq's key and has it written to node n, with the lease
// token if it holds one. The value is returned at once: the fill runs in
// the background, so the reader waits for the origin but not for the
// cache, and a reader's short deadline cannot cut a fill short and leave
// the region waiting out the lease.
func (c *Client) loadAndFill(ctx context.Context, rq *readReq, n *nodeClient, epoch, te, token uint64, flags tcproto.Flags) ([]byte, error) {
	v, err := c.load(ctx, rq, Hints{Leased: token != 0})
	if err != nil || len(v) > rq.ks.MaxValue() {
		if token != 0 {
			c.giveBackLease(n, rq.kb, epoch, token)
		}
		return v, err
	}
	fill := *rq
	c.fillsInFlight.Add(1)
	if !c.spawn(func(ctx context.Context) {
		defer c.fillsInFlight.Add(-1)
		c.fill(ctx, &fill, n, epoch, te, token, flags, v)
	}) {
		c.fillsInFlight.Add(-1)
	}
	return v, nil
}

// fill writes a loaded value to its node and, if the node accepted it and
// the key may live in L1, admits it there.
func (c *Client) fill(ctx context.Context, rq *readReq, n *nodeClient, epoch, te, token uint64, flags tcproto.Flags, v []byte) {
	soft, hard := ttls(rq.ks)
	// Waiting for a pooled connection may take as long as other readers
	// would wait for this fill; the exchange itself is still capped at
	// OpTimeout.
	ctx, cancel := context.WithTimeout(ctx, max(c.cfg.OpTimeout, c.cfg.MaxLeaseWait))
	defer cancel()
	req := tcproto.SetRequest{Key: rq.kb, Epoch: epoch, Value: v, SoftTTLMs: soft, HardTTLMs: hard, Lease: token}
	st, ver, err := n.set(ctx, c.deadline(ctx), req)
	switch {
	case err != nil:
	case st == tcproto.StatusOK:
		c.stats.fills.Add(1)
		if c.l1 != nil && flags&tcproto.FlagTracked != 0 {
			if mode := rq.ks.L1Mode(); mode == keyspace.L1All || (mode == keyspace.L1Hot && flags&tcproto.FlagHot != 0) {
				c.admitL1(rq, n, te, v, ver, soft, hard)
			}
		}
	default:
		c.stats.refused.Add(1)
	}
}

// giveBackLease releases a lease whose load failed, in the background, so
// the region's next misser loads at once instead of waiting it out.
func (c *Client) giveBackLease(n *nodeClient, key []byte, epoch, token uint64) {
	k := string(key)
	c.spawn(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
		defer cancel()
		n.unlease(ctx, c.deadline(ctx), []byte(k), epoch, token)
	})
}

// ttls returns the soft and hard lifetimes of a new entry in ms, with the
// keyspace's jitter added to both so entries written together do not
// expire together.
func ttls(ks keyspace.Settings) (softMs, hardMs int64) {
	soft, hard := ks.Soft(), ks.Hard()
	if ks.TTLJitter > 0 {
		j := time.Duration(rand.Int64N(int64(ks.TTLJitter) + 1))
		soft, hard = soft+j, hard+j
	}
	return soft.Milliseconds(), hard.Milliseconds()
}

// admitL1 keeps a value in L1 for the keyspace's hot TTL (or the value's
// remaining life at the node, if shorter), provided the node's invalidation
// subscription has been up since before the read. The entry turns stale at
// four fifths of its L1 life, so a busy key is renewed from the node in the
// background before it leaves L1.
func (c *Client) admitL1(rq *readReq, n *nodeClient, te uint64, value []byte, version uint64, softMs, hardMs int64) {
	if !n.trackingUp(te) {
		return
	}
	now := clock.NowMillis(c.cfg.Clock)
	life := rq.ks.HotTTL().Milliseconds()
	if hardMs >= 0 {
		life = min(life, hardMs)
	}
	fresh := life * 4 / 5
	if softMs >= 0 {
		fresh = min(fresh, softMs)
	}
	if life <= 0 || fresh <= 0 {
		return
	}
	meta := l1.Meta{Version: version, SoftExpireAt: now + fresh, HardExpireAt: now + life}
	ok, err := c.l1.SetIfNewer(rq.kb, value, meta)
	if err != nil || !ok {
		return
	}
	c.stats.l1Admits.Add(1)
	l2Soft := int64(0)
	if softMs >= 0 {
		l2Soft = now + softMs
	}
	c.hot.upsert(rq, n.id, version, l2Soft, now)
	// A push that raced with this read and the store above is caught by
	// L1's tombstone; a subscription that broke meanwhile is caught here.
	if !n.trackingUp(te) {
		c.l1.Delete(rq.kb)
	}
}

// refreshLeased loads and fills with a refresh lease the node granted with
// a stale value: in the background, or right here when this read already
// is a background refresh of the key (one per key per process).
func (c *Client) refreshLeased(ctx context.Context, rq *readReq, n *nodeClient, epoch, te, token uint64, flags tcproto.Flags) {
	if rq.bg {
		c.loadAndFill(ctx, rq, n, epoch, te, token, flags)
		return
	}
	bg := *rq
	bg.bg = true
	if !c.spawnRefresh(rq.key, func(ctx context.Context) {
		c.loadAndFill(ctx, &bg, n, epoch, te, token, flags)
	}) {
		// Someone in this process is already refreshing the key, or
		// there is no room: hand the lease back for the next reader.
		c.giveBackLease(n, rq.kb, epoch, token)
	}
}

// refreshEarly refreshes a value before it expires (XFetch, pre-warm): it
// asks the node for the key's refresh lease of the version seen and, if
// granted, loads and fills. The lease keeps it to one load per region. It
// runs in the background, or right here when rq already is a background
// read of the key; it reports whether it started.
func (c *Client) refreshEarly(ctx context.Context, rq *readReq, version uint64, warm bool) bool {
	if rq.loader == nil || rq.def.NoLeases {
		return false
	}
	bg := *rq
	bg.bg, bg.warm = true, warm
	if rq.bg {
		c.refreshNow(ctx, &bg, version)
		return true
	}
	return c.spawnRefresh(rq.key, func(ctx context.Context) { c.refreshNow(ctx, &bg, version) })
}

func (c *Client) refreshNow(ctx context.Context, rq *readReq, version uint64) {
	topo := c.topo.Load()
	n := topo.owner(rq.kb)
	te := n.trackEpoch.Load()
	req := tcproto.GetRequest{Key: rq.kb, Epoch: topo.epoch, Refresh: true, RefreshOf: version}
	rep, _, err := c.nodeGet(ctx, n, c.deadline(ctx), req, nil)
	if err != nil || rep.token == 0 {
		return // another client refreshes it, or the node is down
	}
	if rq.warm {
		c.stats.prewarms.Add(1)
	}
	c.loadAndFill(ctx, rq, n, topo.epoch, te, rep.token, rep.flags)
}
