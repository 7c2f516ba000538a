package l2

import (
	"context"

	"github.com/tiercache/tiercache/internal/tcproto"
	"github.com/tiercache/tiercache/l2/store"
)

// TC.GET's owner miss with a global tier attached (global.go).

// readGlobal answers a miss of a reader without a loader from the global
// tier: a value found there fills this node and is returned. It reports
// whether it wrote the reply.
func (c *conn) readGlobal(ctx context.Context, g *globalState, key []byte, flags tcproto.Flags) bool {
	rep, err := c.askGlobal(ctx, g, key, GlobalRead)
	if err != nil || (rep.Status != GlobalHit && rep.Status != GlobalStale) {
		return false
	}
	it, ok := c.node.fillFromGlobal(key, rep.Item, func(write func()) bool { write(); return true })
	if !ok {
		return false
	}
	c.writeGlobalItem(it, flags, 0)
	return true
}

// leaseGlobal answers a miss whose caller was just granted the region's
// lease token: the global tier's value if it has one, else the lease, tied
// to the global tier's own token so the fill reaches it too. While another
// region holds the global lease the region's lease is given back and the
// caller waits, so the next misser asks again and finds the fill.
func (c *conn) leaseGlobal(ctx context.Context, g *globalState, key []byte, token uint64, flags tcproto.Flags, now int64) {
	n, ts := c.node, c.tierOf().ts
	o := ts.opts.Load()
	expires := now + o.LeasePeriod.Milliseconds()
	version := n.versions.Now() // before the load can begin: see fillVersion
	rep, err := c.askGlobal(ctx, g, key, n.scopeMode(key))
	switch {
	case err != nil:
		// The global tier is unreachable: the region's holder loads from
		// the origin, as a region without one would.
	case rep.Status == GlobalHit || rep.Status == GlobalStale:
		it, ok := n.fillFromGlobal(key, rep.Item, func(write func()) bool {
			return ts.leases.fill(key, token, n.nowMillis(), write)
		})
		if !ok {
			c.writeGetReply(tcproto.StatusWait, store.Item{}, now, flags, 0, 1)
			return
		}
		var refresh uint64
		if rep.Status == GlobalStale && rep.Token != 0 {
			// The global refresh token goes with a fresh regional one,
			// so the one reader that refreshes fills both tiers.
			if refresh, _ = ts.leases.grant(key, now, o.LeasePeriod.Milliseconds(), nil); refresh != 0 {
				g.remember(key, refresh, rep.Token, n.versions.Now(), expires, now)
			}
		}
		c.writeGlobalItem(it, flags, refresh)
		return
	case rep.Status == GlobalWait:
		ts.leases.release(key, token)
		c.writeGetReply(tcproto.StatusWait, store.Item{}, now, flags, 0, max(1, min(rep.WaitMs, o.LeaseWait.Milliseconds())))
		return
	default:
		g.remember(key, token, rep.Token, version, expires, now)
	}
	c.writeGetReply(tcproto.StatusLease, store.Item{}, now, flags, token, 0)
}

// fillFromGlobal stores it, read from the global tier, through guard (the
// lease check) if it is newer than what the node holds, and returns what
// the node holds for key afterwards.
func (n *Node) fillFromGlobal(key []byte, it store.Item, guard func(write func()) bool) (store.Item, bool) {
	n.versions.Observe(it.Version)
	stored := false
	guard(func() { stored, _ = n.store.SetIfNewer(key, it) })
	if stored {
		n.replicate(key)
	}
	return n.store.Get(key)
}

// writeGlobalItem replies with a held item: a hit, or stale past its soft expiry.
func (c *conn) writeGlobalItem(it store.Item, flags tcproto.Flags, token uint64) {
	now := c.node.nowMillis()
	st := tcproto.StatusHit
	if it.SoftExpireAt != 0 && now >= it.SoftExpireAt {
		st = tcproto.StatusStale
	}
	c.writeGetReply(st, it, now, flags, token, 0)
}
