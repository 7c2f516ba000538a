package l3

import (
	"fmt"
	"sync/atomic"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/lease"
	"github.com/tiercache/tiercache/l2/store"
)

// Node is one global-tier node: a store, a lease table and the node's view
// of the global ring. It is safe for concurrent use; every method returns
// quickly (no call blocks on the network or on another caller).
type Node struct {
	cfg    Config
	store  *store.Store
	leases *lease.Table
	ring   atomic.Pointer[Ring] // nil until SetRing: the node owns every key
	closed atomic.Bool

	gets, hits, stale, misses   atomic.Uint64
	invalidations               atomic.Uint64
	applied, notOwned, badApply atomic.Uint64

	obs nodeObs // tracing and per-keyspace counts (node_obs.go)
}

// NewNode returns a node configured by cfg. Close releases it.
func NewNode(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cfg.Store.Hash = federation.KeyHash // Range then serves anti-entropy buckets
	st, err := store.New(cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("%w: store: %w", ErrInvalidConfig, err)
	}
	return &Node{cfg: cfg, store: st, leases: lease.New()}, nil
}

// ID returns the node's id.
func (n *Node) ID() string { return n.cfg.ID }

// Region returns the node's region.
func (n *Node) Region() string { return n.cfg.Region }

// Close stops the node's store; later calls fail with ErrClosed. It is
// safe to call more than once.
func (n *Node) Close() error {
	n.closed.Store(true)
	return n.store.Close()
}

// SetRing installs the global ring. The change stream then keeps only the
// keys this node owns (Apply). Until the first SetRing the node owns every
// key.
func (n *Node) SetRing(r *Ring) { n.ring.Store(r) }

// Owns reports whether key belongs to this node on its current ring.
func (n *Node) Owns(key []byte) bool {
	r := n.ring.Load()
	return r == nil || r.Owner(key).ID == n.cfg.ID
}

func (n *Node) now() int64 { return clock.NowMillis(n.cfg.Clock) }

func (n *Node) check(key []byte) error {
	switch {
	case n.closed.Load():
		return ErrClosed
	case len(key) == 0:
		return fmt.Errorf("%w: empty key", ErrBadRequest)
	case len(key) > n.cfg.MaxKeyBytes:
		return fmt.Errorf("%w: key of %d bytes (limit %d)", ErrBadRequest, len(key), n.cfg.MaxKeyBytes)
	}
	return nil
}

// get is Get without the per-keyspace count (node_obs.go).
func (n *Node) get(req GetRequest) (GetReply, error) {
	if err := n.check(req.Key); err != nil {
		return GetReply{}, err
	}
	n.gets.Add(1)
	now := n.now()
	period := n.cfg.LeasePeriod.Milliseconds()
	shared := req.Mode == ModeTicket
	if it, ok := n.store.Get(req.Key); ok {
		if it.SoftExpireAt == 0 || now < it.SoftExpireAt {
			n.hits.Add(1)
			return GetReply{Status: StatusHit, Item: it}, nil
		}
		n.stale.Add(1)
		rep := GetReply{Status: StatusStale, Item: it}
		if req.Mode != ModeRead {
			// One refresh per lease period: the others keep serving.
			rep.Token, _ = n.leases.Grant(req.Key, now, period, shared, nil)
		}
		return rep, nil
	}
	n.misses.Add(1)
	if req.Mode == ModeRead {
		return GetReply{Status: StatusMiss}, nil
	}
	token, wait := n.leases.Grant(req.Key, now, period, shared, func() bool { return !n.store.Exists(req.Key) })
	switch {
	case token != 0 && shared:
		return GetReply{Status: StatusMiss, Token: token}, nil
	case token != 0:
		return GetReply{Status: StatusLease, Token: token}, nil
	case wait > 0:
		return GetReply{Status: StatusWait, WaitMs: min(wait, n.cfg.LeaseWait.Milliseconds())}, nil
	}
	// Filled between our read and the lease check.
	if it, ok := n.store.Get(req.Key); ok {
		return GetReply{Status: StatusHit, Item: it}, nil
	}
	return GetReply{Status: StatusWait, WaitMs: 1}, nil
}

// Fill stores a loaded value if req.Token is the key's live lease or
// ticket and req.Item.Version is newer than what the node holds. A lease
// is spent by an accepted fill; a ticket is not. Sending an accepted fill
// again (or after the same version arrived on the change stream) reports
// StatusOK, so a caller may retry a fill whose reply it lost.
func (n *Node) Fill(req FillRequest) (WriteReply, error) {
	if err := n.check(req.Key); err != nil {
		return WriteReply{}, err
	}
	if req.Item.Version == 0 {
		return WriteReply{}, fmt.Errorf("%w: fill without a version", ErrBadRequest)
	}
	var (
		stored bool
		err    error
	)
	ok := n.leases.Fill(req.Key, req.Token, n.now(), func() {
		stored, err = n.store.SetIfNewer(req.Key, req.Item)
	})
	if err != nil {
		return WriteReply{}, fmt.Errorf("%w: %d bytes: %w", ErrTooLarge, len(req.Key)+len(req.Item.Value), err)
	}
	held, live := n.held(req.Key)
	switch {
	case stored, live == req.Item.Version:
		return WriteReply{Status: StatusOK, Version: req.Item.Version}, nil
	case !ok:
		return WriteReply{Status: StatusNoLease}, nil
	}
	return WriteReply{Status: StatusOlder, Version: held}, nil
}

// held returns the newest version the node knows for key (its live
// item's or its tombstone's) and the live item's version (0: none).
func (n *Node) held(key []byte) (newest, live uint64) {
	newest, _ = n.store.Tombstone(key)
	if it, ok := n.store.Peek(key); ok {
		live = it.Version
	}
	return max(newest, live), live
}

// Invalidate removes key's value if it is older than version, leaves a
// tombstone so no older fill or change gets back in for the tombstone TTL,
// and drops the key's lease or ticket. It reports StatusOlder when a newer
// value is live (the invalidation has been overtaken), else StatusOK.
func (n *Node) Invalidate(key []byte, version uint64) (WriteReply, error) {
	if err := n.check(key); err != nil {
		return WriteReply{}, err
	}
	if version == 0 {
		return WriteReply{}, fmt.Errorf("%w: invalidation without a version", ErrBadRequest)
	}
	n.invalidations.Add(1)
	n.leases.Invalidate(key, func() { n.store.DeleteVersion(key, version) })
	if it, ok := n.store.Peek(key); ok && it.Version >= version {
		return WriteReply{Status: StatusOlder, Version: it.Version}, nil
	}
	return WriteReply{Status: StatusOK, Version: version}, nil
}

// Release gives back a lease whose load failed, so the next misser can
// load at once instead of waiting out the period. It reports whether token
// held the lease.
func (n *Node) Release(key []byte, token uint64) (bool, error) {
	if err := n.check(key); err != nil {
		return false, err
	}
	return n.leases.Release(key, token), nil
}

// Stats are a node's counters.
type Stats struct {
	Gets, Hits, Stale, Misses uint64
	LeasesGranted             uint64 // exclusive leases handed out (misses and stale refreshes)
	TicketsGranted            uint64 // fill tickets created
	LeasesRefused             uint64 // missers told to wait
	Fills                     uint64 // fills whose token was live
	FillsRefused              uint64 // fills whose token was not
	LeasesDropped             uint64 // leases and tickets dropped by writes and invalidations
	LeasesReleased            uint64
	LeasesHeld                int // leases and tickets in the table now
	Invalidations             uint64
	Applied                   uint64 // changes from the stream applied to owned keys
	NotOwned                  uint64 // changes for keys another node owns
	BadChanges                uint64 // changes without a version, or too large to store
	Store                     store.Stats
}

// Stats returns a snapshot of the node's counters.
func (n *Node) Stats() Stats {
	l := n.leases.Stats()
	st := Stats{
		Gets: n.gets.Load(), Hits: n.hits.Load(), Stale: n.stale.Load(), Misses: n.misses.Load(),
		LeasesGranted: l.Granted, TicketsGranted: l.Tickets, LeasesRefused: l.Refused,
		Fills: l.Filled, FillsRefused: l.Rejected, LeasesDropped: l.Dropped,
		LeasesReleased: l.Released, LeasesHeld: l.Held,
		Invalidations: n.invalidations.Load(),
		Applied:       n.applied.Load(), NotOwned: n.notOwned.Load(), BadChanges: n.badApply.Load(),
	}
	n.store.UpdateStats(&st.Store)
	return st
}
