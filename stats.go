package tiercache

import (
	"sync/atomic"

	"github.com/tiercache/tiercache/internal/breaker"
)

// Stats are a client's counters since New.
type Stats struct {
	L1Hits          uint64 // reads answered fresh from L1
	L1Stale         uint64 // reads answered from L1 past its soft expiry (refresh started)
	L2Hits          uint64 // reads answered fresh by the node
	L2Stale         uint64 // reads answered with a node's stale value
	Leases          uint64 // leases this client was granted on a miss
	Waits           uint64 // WAIT replies (another client held the lease)
	Loads           uint64 // Loader calls, background and degraded ones included
	Fills           uint64 // values the node accepted after a load
	Refused         uint64 // fills the node refused (lease invalidated, older version)
	Shared          uint64 // reads that took another goroutine's result (singleflight)
	Refreshes       uint64 // background refreshes started
	RefreshSkipped  uint64 // background refreshes not started: at MaxRefreshes
	Prewarms        uint64 // refreshes started by the pre-warmer
	Degraded        uint64 // reads whose node was unavailable
	DegradedLoads   uint64 // of those, loaded from the origin under the cap
	DegradedRefused uint64 // of those, failed fast: the cap was full
	Busy            uint64 // BUSY replies
	Timeouts        uint64 // calls that hit their deadline
	BreakerFastFail uint64 // calls refused by an open breaker
	BreakersOpen    int    // nodes whose breaker is open or half-open now
	Pushes          uint64 // invalidations pushed by nodes
	TrackDrops      uint64 // subscriptions lost (their nodes' keys left L1)
	L1Admits        uint64 // values put in L1
	L1Drops         uint64 // L1 entries dropped because their key cooled
	Moved           uint64 // TCMOVED redirects (the client's epoch was old)

	// Read-your-writes (session.go).
	StickyReads     uint64 // Session reads inside a write marker's window
	StickyL1Skips   uint64 // of those, L1 entries passed over as older than the write
	StickyRemote    uint64 // of those, served from the writer's region
	StickyLoads     uint64 // of those, loaded from the origin with Hints.MinVersion (BEHIND)
	TokensRestored  uint64 // session tokens accepted
	TokensRejected  uint64 // session tokens refused (the session is then not sticky)
	TokensExpired   uint64 // of those, past their expiry
	TokensForged    uint64 // of those, with a bad signature (forged, altered, retired key)
	TokensMalformed uint64 // of those, undecodable or over the size bound
}

type counters struct {
	l1Hits, l1Stale, l2Hits, l2Stale, leases, waits, loads, fills, refused, shared atomic.Uint64
	refreshes, refreshSkipped, prewarms, degraded, degradedLoads, degradedRefused  atomic.Uint64
	busy, timeouts, breakerFastFails, pushes, trackDrops, l1Admits, l1Drops, moved atomic.Uint64

	stickyReads, stickyL1Skips, stickyRemote, stickyLoads                        atomic.Uint64
	tokensRestored, tokensRejected, tokensExpired, tokensForged, tokensMalformed atomic.Uint64

	ks keyspaceCounters // per keyspace (keyspace_stats.go)
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	s := &c.stats
	st := Stats{
		L1Hits: s.l1Hits.Load(), L1Stale: s.l1Stale.Load(), L2Hits: s.l2Hits.Load(), L2Stale: s.l2Stale.Load(),
		Leases: s.leases.Load(), Waits: s.waits.Load(), Loads: s.loads.Load(), Fills: s.fills.Load(),
		Refused: s.refused.Load(), Shared: s.shared.Load(), Refreshes: s.refreshes.Load(),
		RefreshSkipped: s.refreshSkipped.Load(), Prewarms: s.prewarms.Load(), Degraded: s.degraded.Load(),
		DegradedLoads: s.degradedLoads.Load(), DegradedRefused: s.degradedRefused.Load(),
		Busy: s.busy.Load(), Timeouts: s.timeouts.Load(), BreakerFastFail: s.breakerFastFails.Load(),
		Pushes: s.pushes.Load(), TrackDrops: s.trackDrops.Load(), L1Admits: s.l1Admits.Load(), L1Drops: s.l1Drops.Load(),
		Moved:       s.moved.Load(),
		StickyReads: s.stickyReads.Load(), StickyL1Skips: s.stickyL1Skips.Load(),
		StickyRemote: s.stickyRemote.Load(), StickyLoads: s.stickyLoads.Load(),
		TokensRestored: s.tokensRestored.Load(), TokensRejected: s.tokensRejected.Load(),
		TokensExpired: s.tokensExpired.Load(), TokensForged: s.tokensForged.Load(),
		TokensMalformed: s.tokensMalformed.Load(),
	}
	for _, n := range c.topo.Load().nodes {
		if n.br.State() != breaker.Closed {
			st.BreakersOpen++
		}
	}
	return st
}
