package l2

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
)

// The tier protocol's per-node state: leases, the hot-key detector, the
// set of keys clients may hold in L1 and the subscribers to their
// invalidations, and the control-plane view (epoch, replication).

// Tier protocol defaults.
const (
	DefaultLeasePeriod = 10 * time.Second
	DefaultLeaseWait   = 5 * time.Millisecond
	DefaultTrackWindow = time.Minute
	DefaultPushQueue   = 4096
)

// TierOptions tune the tier protocol (TC.* commands) of a node. The zero
// value means the documented defaults.
type TierOptions struct {
	// LeasePeriod is how long a lease token stays valid, and so the
	// longest an origin load may take before its fill is refused (default
	// 10 s, Meta's figure). It should not exceed the store's tombstone TTL.
	LeasePeriod time.Duration
	// LeaseWait is the retry hint a WAIT reply carries at most (default
	// 5 ms); the reply carries less when the lease ends sooner.
	LeaseWait time.Duration
	// TrackWindow is how long after flagging a key hot (or serving it to a
	// TRACK reader) the node pushes the key's invalidations to
	// subscribers. Clients must keep such keys in L1 no longer than this
	// (default 1 min).
	TrackWindow time.Duration
	// PushQueue is the number of invalidations buffered per subscriber;
	// a subscriber that falls further behind is disconnected, so it knows
	// it missed some (default 4096).
	PushQueue int
}

// Validate reports the first bad field, wrapping ErrInvalidConfig.
func (o TierOptions) Validate() error {
	for _, f := range []struct {
		name string
		v    int64
	}{{"lease_period", int64(o.LeasePeriod)}, {"lease_wait", int64(o.LeaseWait)}, {"track_window", int64(o.TrackWindow)}, {"push_queue", int64(o.PushQueue)}} {
		if f.v < 0 {
			return fmt.Errorf("%w: tier option %s is negative (%d)", ErrInvalidConfig, f.name, f.v)
		}
	}
	return nil
}

func (o TierOptions) withDefaults() TierOptions {
	if o.LeasePeriod == 0 {
		o.LeasePeriod = DefaultLeasePeriod
	}
	if o.LeaseWait == 0 {
		o.LeaseWait = DefaultLeaseWait
	}
	if o.TrackWindow == 0 {
		o.TrackWindow = DefaultTrackWindow
	}
	if o.PushQueue == 0 {
		o.PushQueue = DefaultPushQueue
	}
	return o
}

// tierState is one node's tier-protocol state, held in Node.tier.
type tierState struct {
	opts    atomic.Pointer[TierOptions]
	leases  *leaseTable
	hot     *hotTracker
	tracked *trackedSet
	hub     *trackHub
	cluster *clusterState               // membership, epoch and replication (cluster_*.go, replica*.go)
	global  atomic.Pointer[globalState] // nil: no global tier (global.go)
	sticky  atomic.Pointer[stickyState] // nil: sticky reads never leave the region (global_sticky.go)
	stickyN stickyCounters
	obs     tierObs // tracing and per-keyspace counts (tier_obs.go)
}

func newTierState(clk clock.Clock) *tierState {
	ts := &tierState{
		leases:  newLeaseTable(),
		hot:     newHotTracker(clk),
		tracked: newTrackedSet(),
		hub:     newTrackHub(),
		cluster: newClusterState(),
	}
	o := TierOptions{}.withDefaults()
	ts.opts.Store(&o)
	return ts
}

// SetTierOptions replaces the node's tier-protocol options; leases already
// granted keep their expiry.
func (n *Node) SetTierOptions(o TierOptions) error {
	if err := o.Validate(); err != nil {
		return err
	}
	o = o.withDefaults()
	n.tier.opts.Store(&o)
	return nil
}

// TierStats are counters of the tier protocol on one node.
type TierStats struct {
	LeasesGranted  uint64 // tokens handed out (misses, stale reads, refreshes)
	LeasesRefused  uint64 // misses told to wait because a lease was live
	LeaseFills     uint64 // fills accepted with their token
	LeaseRejects   uint64 // fills refused: token invalidated, expired or unknown
	LeasesDropped  uint64 // leases dropped by a write or invalidation
	LeasesHeld     int    // leases in the table now
	Pushes         uint64 // invalidation messages queued to subscribers
	Subscribers    int    // TC.TRACK connections now
	SubscriberDrop uint64 // subscribers cut for falling behind
	TrackedKeys    int    // keys whose invalidations are pushed
}

// TierStats returns the node's tier-protocol counters.
func (n *Node) TierStats() TierStats {
	ts := n.tier
	l := ts.leases.stats()
	pushes, subs, drops := ts.hub.stats()
	return TierStats{
		LeasesGranted: l.Granted, LeasesRefused: l.Refused,
		LeaseFills: l.Filled, LeaseRejects: l.Rejected,
		LeasesDropped: l.Dropped, LeasesHeld: l.Held,
		Pushes: pushes, Subscribers: subs, SubscriberDrop: drops,
		TrackedKeys: ts.tracked.len(),
	}
}

// tierConn is a connection's cached view of its node's tier state.
type tierConn struct {
	ts  *tierState
	sub *subscriber // set once the connection sent TC.TRACK
}

// tierOf returns c's tier view, caching it in c.ext.
func (c *conn) tierOf() *tierConn {
	if tc, ok := c.ext.(*tierConn); ok {
		return tc
	}
	tc := &tierConn{ts: c.node.tier}
	c.ext = tc
	return tc
}
