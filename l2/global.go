package l2

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2/store"
)

// The global tier seam (DESIGN.md, "A read" 4-5 and "A write" 2). A node
// given a GlobalTier (SetGlobal) asks it on an owner miss before sending
// its caller to the origin, fills it after a leased load, and publishes
// every write it owns; the changes other regions publish come back through
// ApplyGlobal. Without one the node behaves exactly as a plain regional
// node. l2 defines only what it needs; the implementation over l3.Client
// lives outside (l3.L2Global), so l2 does not depend on the global tier.
//
// The region's L2 lease still coalesces its missers: only the lease holder
// asks the global tier, the others are told to wait as before, so a hot
// miss costs one WAN round trip per region, not one per reader.

// DefaultGlobalTimeout bounds one call to the global tier.
const DefaultGlobalTimeout = 2 * time.Second

// GlobalMode is what a global Get may grant on a miss.
type GlobalMode uint8

// The modes, as l3.Mode.
const (
	// GlobalRead grants nothing (a reader without a loader).
	GlobalRead GlobalMode = iota
	// GlobalTicket is stampede scope region: the region's L2 lease
	// coalesces, the global tier hands a shared fill ticket.
	GlobalTicket
	// GlobalLease is stampede scope global: one lease per key worldwide.
	GlobalLease
)

// GlobalStatus is the outcome of a global Get.
type GlobalStatus uint8

// The statuses.
const (
	GlobalMiss   GlobalStatus = iota // a miss; Token, if set, is a fill ticket
	GlobalHit                        // a fresh value
	GlobalStale                      // a value past its soft expiry; Token may be a refresh token
	GlobalLeased                     // a miss whose caller holds the global lease (Token)
	GlobalWait                       // another region holds the global lease: retry after WaitMs
)

// GlobalReply answers a global Get. Item carries the value with its
// version and absolute expiries for GlobalHit and GlobalStale.
type GlobalReply struct {
	Status GlobalStatus
	Item   store.Item
	Token  uint64
	WaitMs int64
}

// GlobalChange is one write travelling between regions: a value or, with
// Delete set, a tombstone at Version.
type GlobalChange struct {
	Key, Value []byte
	Version    uint64
	ExpireAt   int64
	Delete     bool
}

// GlobalTier is what a node needs of the global tier. Its methods must be
// safe for concurrent use; Get, Fill and Release may block on the WAN for
// as long as ctx allows, Publish must not block.
type GlobalTier interface {
	Get(ctx context.Context, key []byte, mode GlobalMode) (GlobalReply, error)
	// Fill stores a value the region loaded under token at the version
	// the L2 owner gave it.
	Fill(ctx context.Context, key []byte, token uint64, it store.Item) error
	// Release gives back a global lease whose load failed.
	Release(ctx context.Context, key []byte, token uint64) error
	// Publish hands a write of this region to every other region and to
	// the key's global owner.
	Publish(c GlobalChange) error
}

// GlobalStats count a node's use of the global tier.
type GlobalStats struct {
	Asks, Hits, Leases, Waits, Errors uint64 // owner misses sent to the global tier and their outcomes
	Fills, FillErrors                 uint64
	Published, PublishErrors          uint64
	Applied                           uint64 // changes from other regions applied
}

type pendingToken struct {
	l2, global uint64 // global 0: the global tier granted nothing
	version    uint64 // taken when the L2 lease was granted: the fill's version
	expires    int64  // unix ms
	refresh    bool   // a refresh of a value the region held: published when filled (global_refresh.go)
}

// globalState is a node's link to the global tier, in tierState.global.
type globalState struct {
	tier    GlobalTier
	timeout time.Duration

	mu      sync.Mutex // protects pending
	pending map[string]pendingToken

	asks, hits, leases, waits, errs, fills, fillErrs, published, pubErrs, applied atomic.Uint64
}

// SetGlobal attaches the node to the global tier (nil detaches it). Call
// it before Start: commands already running keep the tier they started
// with.
func (n *Node) SetGlobal(g GlobalTier) {
	if g == nil {
		n.tier.global.Store(nil)
		return
	}
	n.tier.global.Store(&globalState{tier: g, timeout: DefaultGlobalTimeout, pending: map[string]pendingToken{}})
}

// GlobalStats returns the node's global-tier counters (zero when detached).
func (n *Node) GlobalStats() GlobalStats {
	g := n.tier.global.Load()
	if g == nil {
		return GlobalStats{}
	}
	return GlobalStats{
		Asks: g.asks.Load(), Hits: g.hits.Load(), Leases: g.leases.Load(), Waits: g.waits.Load(), Errors: g.errs.Load(),
		Fills: g.fills.Load(), FillErrors: g.fillErrs.Load(),
		Published: g.published.Load(), PublishErrors: g.pubErrs.Load(), Applied: g.applied.Load(),
	}
}

// get asks the global tier; parent carries the request's span, if traced.
func (g *globalState) get(parent context.Context, key []byte, mode GlobalMode) (GlobalReply, error) {
	g.asks.Add(1)
	ctx, cancel := context.WithTimeout(parent, g.timeout)
	defer cancel()
	rep, err := g.tier.Get(ctx, key, mode)
	switch {
	case err != nil:
		g.errs.Add(1)
	case rep.Status == GlobalHit || rep.Status == GlobalStale:
		g.hits.Add(1)
	case rep.Status == GlobalWait:
		g.waits.Add(1)
	case rep.Token != 0:
		g.leases.Add(1)
	}
	return rep, err
}

// remember ties the global token and the grant's version to the L2 lease
// handed to the caller, so its fill (TC.SET ... LEASE) can fill the global
// tier too, at that version.
func (g *globalState) remember(key []byte, l2, global, version uint64, expires, now int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) >= 1024 {
		// Holders that never filled nor released: drop what has expired.
		for k, p := range g.pending {
			if p.expires <= now {
				delete(g.pending, k)
			}
		}
	}
	g.pending[string(key)] = pendingToken{l2: l2, global: global, version: version, expires: expires}
}

// fillVersion is the version a fill of key under the L2 lease token gets:
// with a global tier, the version taken when the lease was granted, so
// that a write committed in another region after the load began (and so
// after the grant) outranks the fill wherever both land, even when the
// write arrives after the fill. A load reads the origin after its grant,
// so it saw every write with an older version. Without a global tier, or
// for a lease the global tier never saw, the fill's own time.
func (n *Node) fillVersion(key []byte, token uint64) uint64 {
	if g := n.tier.global.Load(); g != nil && token != 0 {
		g.mu.Lock()
		p, ok := g.pending[string(key)]
		g.mu.Unlock()
		if ok && p.l2 == token && p.version != 0 {
			return p.version
		}
	}
	return n.versions.Now()
}

// take returns and forgets the global token tied to key's L2 lease l2.
func (g *globalState) take(key []byte, l2 uint64) (uint64, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p, ok := g.pending[string(key)]
	if !ok || p.l2 != l2 {
		return 0, false
	}
	delete(g.pending, string(key))
	return p.global, true
}

// scopeMode is the global mode of key's keyspace.
func (n *Node) scopeMode(key []byte) GlobalMode {
	if n.cluster().keyspaces.Load().For(key).Scope() == keyspace.ScopeGlobal {
		return GlobalLease
	}
	return GlobalTicket
}

// ownsKey reports whether this node is key's primary in its region.
func (n *Node) ownsKey(key []byte) bool {
	rt := n.routing.Load()
	return rt.ring == nil || rt.ring.Owner(key) == rt.self
}

// afterGlobalFill fills the global tier after the L2 lease token of key
// filled it at it.Version, in the background: the caller's reply does not
// wait for the WAN.
func (n *Node) afterGlobalFill(key []byte, token uint64, version uint64) {
	g := n.tier.global.Load()
	if g == nil {
		return
	}
	p, ok := g.takePending(key, token)
	if !ok {
		return
	}
	if p.refresh {
		n.publishRefresh(key, version) // global_refresh.go
		return
	}
	gt := p.global
	if gt == 0 {
		return
	}
	it, ok := n.store.Peek(key)
	if !ok || it.Version != version {
		return // overtaken by a write, which is published
	}
	key = slices.Clone(key)
	n.spawn(func() {
		ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
		defer cancel()
		if err := g.tier.Fill(ctx, key, gt, it); err != nil {
			g.fillErrs.Add(1)
			return
		}
		g.fills.Add(1)
	})
}

// afterUnlease gives back the global lease tied to key's released L2 lease.
func (n *Node) afterUnlease(key []byte, token uint64) {
	g := n.tier.global.Load()
	if g == nil {
		return
	}
	gt, ok := g.take(key, token)
	if !ok || gt == 0 {
		return
	}
	key = slices.Clone(key)
	n.spawn(func() {
		ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
		defer cancel()
		_ = g.tier.Release(ctx, key, gt) // a lost release only makes others wait out the period
	})
}

// publishGlobal hands key's write at version to the global tier if this
// node is the key's primary: its current value when that is the write,
// else a tombstone at version.
func (n *Node) publishGlobal(key []byte, version uint64) {
	g := n.tier.global.Load()
	if g == nil || version == 0 || !n.ownsKey(key) {
		return
	}
	ch := GlobalChange{Key: slices.Clone(key), Version: version, Delete: true}
	if it, ok := n.store.Peek(key); ok && it.Version == version {
		ch = GlobalChange{Key: ch.Key, Value: it.Value, Version: version, ExpireAt: it.ExpireAt}
	}
	if err := g.tier.Publish(ch); err != nil {
		g.pubErrs.Add(1)
		return
	}
	g.published.Add(1)
}

// ApplyGlobal applies writes made in other regions, last writer by version
// winning. Each is a write after a commit: it ends the key's lease (so a
// load that read the origin before it cannot fill over it), pushes the
// key's invalidation to L1 holders and replicates, like a local write,
// but is not published again. The HLC observes every version, so a later
// local write orders after it.
func (n *Node) ApplyGlobal(changes []GlobalChange) {
	ts := n.tier
	g := ts.global.Load()
	for i := range changes {
		ch := &changes[i]
		if ch.Version == 0 || len(ch.Key) == 0 {
			continue
		}
		n.versions.Observe(ch.Version)
		ts.leases.invalidate(ch.Key, func() {
			if ch.Delete {
				n.store.DeleteVersion(ch.Key, ch.Version)
				return
			}
			_, _ = n.store.SetIfNewer(ch.Key, store.Item{Value: ch.Value, Version: ch.Version, ExpireAt: ch.ExpireAt})
		})
		ts.pushIfTracked(ch.Key, ch.Version, n.nowMillis())
		n.replicate(ch.Key)
		if g != nil {
			g.applied.Add(1)
		}
	}
}
