package tiercache

import (
	"context"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tiercache/tiercache/internal/breaker"
	"github.com/tiercache/tiercache/internal/telemetry/obs"
)

// NodeBreaker is one node's circuit breaker as this client sees it.
type NodeBreaker struct {
	Node   string
	Addr   string
	Gutter bool   // a gutter node rather than a ring node
	State  string // "closed", "open" or "half-open"
}

// Open reports whether calls to the node fail fast (open or half-open),
// the same test as Stats.BreakersOpen.
func (b NodeBreaker) Open() bool { return b.State != breaker.Closed.String() }

// Breakers returns the breaker of every ring node of the current topology,
// then of every gutter node, each sorted by node id. It only reads the
// breakers' atomics, so dashboards may call it often.
func (c *Client) Breakers() []NodeBreaker {
	var out []NodeBreaker
	add := func(nodes map[string]*nodeClient, gutter bool) {
		start := len(out)
		for _, n := range nodes {
			out = append(out, NodeBreaker{Node: n.id, Addr: n.addr, Gutter: gutter, State: n.br.State().String()})
		}
		slices.SortFunc(out[start:], func(a, b NodeBreaker) int { return strings.Compare(a.Node, b.Node) })
	}
	add(c.topo.Load().nodes, false)
	if c.gutter != nil {
		add(c.gutter.nodes, true)
	}
	return out
}

// RegisterMetrics exports the client's Stats, GutterStats and breakers as
// OpenTelemetry observable instruments on m, read at collection time so
// reads pay nothing. attrs label every series (an application or region
// name: a client has no id of its own). Hits are split by tier (l1, l2,
// gutter); a stale hit is counted apart from a fresh one. L1 reads, origin
// loads, leases and lease waits are also counted per keyspace (the
// tiercache_keyspace_* series, tier="l1"; see KeyspaceStats). unregister
// stops the observations.
func (c *Client) RegisterMetrics(m metric.Meter, attrs ...attribute.KeyValue) (unregister func() error, err error) {
	o := obs.NewObservables(m)
	var (
		hits       = o.Counter("tiercache_client_hits", "reads answered fresh, by tier")
		staleHits  = o.Counter("tiercache_client_stale_hits", "reads answered past the soft expiry, by tier")
		loads      = o.Counter("tiercache_origin_loads", "Loader calls, background and degraded ones included")
		leases     = o.Counter("tiercache_client_leases", "leases this client was granted on a miss")
		waits      = o.Counter("tiercache_client_lease_waits", "misses told to wait for another client's fill")
		fills      = o.Counter("tiercache_client_fills", "values the node accepted after a load")
		refused    = o.Counter("tiercache_client_fills_refused", "fills the node refused (lease invalidated, older version)")
		shared     = o.Counter("tiercache_client_shared", "reads that took another goroutine's result")
		refreshes  = o.Counter("tiercache_client_refreshes", "background refreshes started")
		refSkipped = o.Counter("tiercache_client_refreshes_skipped", "background refreshes not started: at MaxRefreshes")
		prewarms   = o.Counter("tiercache_client_prewarms", "refreshes started by the pre-warmer")
		degraded   = o.Counter("tiercache_client_degraded", "reads whose node was unavailable")
		degLoads   = o.Counter("tiercache_client_degraded_loads", "degraded reads loaded from the origin under the cap")
		degRefused = o.Counter("tiercache_client_degraded_refused", "degraded reads failed fast: the cap was full")
		busy       = o.Counter("tiercache_client_busy", "BUSY replies")
		timeouts   = o.Counter("tiercache_client_timeouts", "calls that hit their deadline")
		fastFails  = o.Counter("tiercache_client_breaker_fast_fails", "calls refused by an open breaker")
		pushes     = o.Counter("tiercache_client_invalidation_pushes", "invalidations pushed by nodes")
		trackDrops = o.Counter("tiercache_client_track_drops", "invalidation subscriptions lost")
		l1Admits   = o.Counter("tiercache_client_l1_admits", "values put in L1")
		l1Drops    = o.Counter("tiercache_client_l1_drops", "L1 entries dropped because their key cooled")
		moved      = o.Counter("tiercache_client_moved", "TCMOVED redirects (the client's epoch was old)")
		gFills     = o.Counter("tiercache_client_gutter_fills", "values put in a gutter node")
		gFallbacks = o.Counter("tiercache_client_gutter_fallbacks", "degraded reads the gutter could not serve")
		open       = o.Gauge("tiercache_breaker_open", "1 while the client's breaker for the node is open or half-open")
		epoch      = o.Gauge("tiercache_client_topology_epoch", "topology epoch the client routes by")
		ksReads    = o.KeyspaceReads()
		ksLoads    = o.Counter("tiercache_keyspace_origin_loads", "Loader calls, by keyspace")
		ksLeases   = o.Counter("tiercache_client_keyspace_leases", "leases this client was granted, by keyspace")
		ksWaits    = o.Counter("tiercache_client_keyspace_lease_waits", "misses told to wait for another client's fill, by keyspace")
		base       = slices.Clone(attrs)
		all        = obs.Attrs(base)
		tier       = func(t string) metric.ObserveOption { return obs.Attrs(base, attribute.String("tier", t)) }
		l1, l2, gt = tier("l1"), tier("l2"), tier("gutter")
	)
	return o.Register(func(_ context.Context, ob metric.Observer) error {
		s, g := c.Stats(), c.GutterStats()
		i64 := obs.Int64
		ob.ObserveInt64(hits, i64(s.L1Hits), l1)
		ob.ObserveInt64(hits, i64(s.L2Hits), l2)
		ob.ObserveInt64(hits, i64(g.Hits), gt)
		ob.ObserveInt64(staleHits, i64(s.L1Stale), l1)
		ob.ObserveInt64(staleHits, i64(s.L2Stale), l2)
		for _, v := range []struct {
			inst metric.Int64Observable
			v    uint64
		}{
			{loads, s.Loads}, {leases, s.Leases}, {waits, s.Waits}, {fills, s.Fills}, {refused, s.Refused},
			{shared, s.Shared}, {refreshes, s.Refreshes}, {refSkipped, s.RefreshSkipped}, {prewarms, s.Prewarms},
			{degraded, s.Degraded}, {degLoads, s.DegradedLoads}, {degRefused, s.DegradedRefused},
			{busy, s.Busy}, {timeouts, s.Timeouts}, {fastFails, s.BreakerFastFail}, {pushes, s.Pushes},
			{trackDrops, s.TrackDrops}, {l1Admits, s.L1Admits}, {l1Drops, s.L1Drops}, {moved, s.Moved},
			{gFills, g.Fills}, {gFallbacks, g.Fallbacks}, {epoch, c.topo.Load().epoch},
		} {
			ob.ObserveInt64(v.inst, i64(v.v), all)
		}
		for _, k := range c.KeyspaceStats() {
			ob.ObserveInt64(ksLoads, i64(k.Loads), obs.Attrs(base, attribute.String("keyspace", k.Keyspace)))
			ob.ObserveInt64(ksLeases, i64(k.Leases), obs.Attrs(base, attribute.String("keyspace", k.Keyspace)))
			ob.ObserveInt64(ksWaits, i64(k.Waits), obs.Attrs(base, attribute.String("keyspace", k.Keyspace)))
			ksReads.Observe(ob, base, "l1", k.Keyspace, k.L1Hits, k.L1Stale, k.L1Misses)
		}
		for _, b := range c.Breakers() {
			pool := "ring"
			if b.Gutter {
				pool = "gutter"
			}
			ob.ObserveInt64(open, obs.Bool(b.Open()),
				obs.Attrs(base, attribute.String("node", b.Node), attribute.String("pool", pool)))
		}
		return nil
	})
}
