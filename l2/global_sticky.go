package l2

import (
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/internal/tcproto"
	"github.com/tiercache/tiercache/l2/store"
)

// Sticky reads (DESIGN.md, "A write" 3; docs/protocol.md, MINVER): a
// session that wrote a key asks TC.GET ... MINVER v FROM region. The owner
// serves its copy when it is at v or newer. When it is not (replication
// has not caught up) it asks the writer's region, over the federation
// link, for the key at v or newer, keeps what it gets as if the change had
// arrived early, and serves it; if that region has nothing at v either, or
// cannot be reached in time, it answers BEHIND and the client loads from
// the primary with a hint. Like the remote markers of Meta's memcache, the
// lagging region never serves the old value to the writer.

// DefaultStickyTimeout bounds the remote read of a sticky TC.GET: below the
// tier client's default OpTimeout (500 ms), so a caller hears BEHIND and
// falls back to the origin rather than timing out.
const DefaultStickyTimeout = 400 * time.Millisecond

// StickyReader reads a key in another region for a sticky read this
// region cannot serve yet. It must be safe for concurrent use.
type StickyReader interface {
	ReadSticky(ctx context.Context, region string, key []byte, minVersion uint64) (StickyRead, error)
}

// StickyRead is what a region's owner of a key holds at or past a version.
type StickyRead struct {
	// Found: Item is the key's value at the version asked or newer.
	Found bool
	Item  store.Item
	// Tombstone, when not Found, is the version (at or past the one
	// asked) of the invalidation the key's owner keeps; 0 if none.
	Tombstone uint64
}

// StickyStats count a node's sticky reads.
type StickyStats struct {
	Local   uint64 // served from this node's copy, already at the version
	Remote  uint64 // served from the writer's region
	Behind  uint64 // answered BEHIND: the caller loads from the primary
	Errors  uint64 // remote reads that failed (link down, timeout)
	Served  uint64 // ReadSticky calls this node answered for other regions
	Missing uint64 // of those, with nothing at the version asked
}

type stickyState struct {
	reader  StickyReader
	timeout time.Duration
}

type stickyCounters struct {
	local, remote, behind, errs, served, missing atomic.Uint64
}

// SetStickyReader lets the node read lagging sticky reads from the writer's
// region (nil: it answers BEHIND instead). Call it before Start.
func (n *Node) SetStickyReader(r StickyReader) {
	if r == nil {
		n.tier.sticky.Store(nil)
		return
	}
	n.tier.sticky.Store(&stickyState{reader: r, timeout: DefaultStickyTimeout})
}

// StickyStats returns the node's sticky read counters.
func (n *Node) StickyStats() StickyStats {
	c := &n.tier.stickyN
	return StickyStats{Local: c.local.Load(), Remote: c.remote.Load(), Behind: c.behind.Load(),
		Errors: c.errs.Load(), Served: c.served.Load(), Missing: c.missing.Load()}
}

// ReadSticky answers another region's sticky read of key from this node's
// store: the value at minVersion or newer, else the tombstone at or past
// it, else nothing.
func (n *Node) ReadSticky(key []byte, minVersion uint64) StickyRead {
	n.tier.stickyN.served.Add(1)
	if it, ok := n.store.Get(key); ok && it.Version >= minVersion {
		return StickyRead{Found: true, Item: it}
	}
	if tv, ok := n.store.Tombstone(key); ok && tv >= minVersion {
		return StickyRead{Tombstone: tv}
	}
	n.tier.stickyN.missing.Add(1)
	return StickyRead{}
}

// serveSticky handles a TC.GET with MINVER whose held copy (it, when held)
// is older than required. It reports whether it wrote the reply; false
// means the read goes on as a plain miss, because the node now knows of
// an invalidation at the version asked (a fill after it is at least as
// new).
func (c *conn) serveSticky(req *tcproto.GetRequest, it store.Item, held bool, flags tcproto.Flags, now int64) bool {
	n, ts := c.node, c.tierOf().ts
	if tv, ok := n.store.Tombstone(req.Key); ok && tv >= req.MinVer {
		return false
	}
	st := ts.sticky.Load()
	if st != nil && len(req.From) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), st.timeout)
		rd, err := st.reader.ReadSticky(ctx, string(req.From), req.Key, req.MinVer)
		cancel()
		switch {
		case err != nil:
			ts.stickyN.errs.Add(1)
		case rd.Found && rd.Item.Version >= req.MinVer:
			ts.stickyN.remote.Add(1)
			cur := n.applySticky(req.Key, rd.Item, false)
			if cur.Version < rd.Item.Version {
				cur = rd.Item // not kept (over budget): serve it anyway
			}
			c.writeGlobalItem(cur, flags|tcproto.FlagRemote, 0)
			return true
		case rd.Tombstone >= req.MinVer && rd.Tombstone != 0:
			n.applySticky(req.Key, store.Item{Version: rd.Tombstone}, true)
			return false
		}
	}
	ts.stickyN.behind.Add(1)
	var token uint64
	if !req.NoLease {
		// The caller loads from the primary; with the key's lease its
		// fill replaces the old copy, at a version past MinVer since the
		// node's clock has observed it.
		token, _ = ts.leases.grant(req.Key, now, ts.opts.Load().LeasePeriod.Milliseconds(), nil)
	}
	if !held {
		it = store.Item{}
	}
	c.writeGetReply(tcproto.StatusBehind, store.Item{Version: it.Version}, now, flags, token, 0)
	return true
}

// applySticky keeps what the writer's region returned for a sticky read:
// the change it will also deliver on the stream, arriving early. Like
// ApplyGlobal it ends the key's lease (a load that read a lagging origin
// replica must not fill over it), pushes the invalidation to L1 holders
// and replicates. It returns what the node holds afterwards.
func (n *Node) applySticky(key []byte, it store.Item, del bool) store.Item {
	ts := n.tier
	n.versions.Observe(it.Version)
	key = slices.Clone(key)
	ts.leases.invalidate(key, func() {
		if del {
			n.store.DeleteVersion(key, it.Version)
			return
		}
		_, _ = n.store.SetIfNewer(key, it)
	})
	ts.pushIfTracked(key, it.Version, n.nowMillis())
	n.replicate(key)
	cur, _ := n.store.Get(key)
	return cur
}
