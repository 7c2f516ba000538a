package l3

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tiercache/tiercache/internal/telemetry/obs"
)

// RegisterMetrics exports the node's Stats as OpenTelemetry observable
// instruments on m, labelled node and region, read at collection time so
// Get and Fill pay nothing. Lease series share their names with the L2
// node's and carry tier="l3", as do the per-keyspace reads
// (tiercache_keyspace_*; SetKeyspaces names the keyspaces). unregister
// stops the observations.
func (n *Node) RegisterMetrics(m metric.Meter) (unregister func() error, err error) {
	o := obs.NewObservables(m)
	var (
		gets       = o.Counter("tiercache_l3_gets", "reads")
		hits       = o.Counter("tiercache_l3_hits", "reads that found a fresh value")
		stale      = o.Counter("tiercache_l3_stale_hits", "reads that found a value past its soft expiry")
		misses     = o.Counter("tiercache_l3_misses", "reads that found nothing")
		granted    = o.Counter("tiercache_leases_granted", "lease tokens handed out")
		tickets    = o.Counter("tiercache_l3_tickets_granted", "shared fill tickets created")
		refused    = o.Counter("tiercache_leases_refused", "misses told to wait because a lease was live")
		fills      = o.Counter("tiercache_lease_fills", "fills accepted with their token")
		fillRejs   = o.Counter("tiercache_lease_fills_refused", "fills refused: token not live")
		held       = o.Gauge("tiercache_leases_held", "leases and tickets in the table now")
		invals     = o.Counter("tiercache_l3_invalidations", "invalidations")
		applied    = o.Counter("tiercache_l3_changes_applied", "changes from the stream applied to owned keys")
		notOwned   = o.Counter("tiercache_l3_changes_not_owned", "changes for keys another node owns")
		badChanges = o.Counter("tiercache_l3_bad_changes", "changes without a version or too large to store")
		keys       = o.Gauge("tiercache_l3_keys", "live items")
		bytes      = o.Gauge("tiercache_l3_bytes", "bytes charged to the store budget")
		evictions  = o.Counter("tiercache_l3_evictions", "live items evicted for room")
		ksReads    = o.KeyspaceReads()
		base       = []attribute.KeyValue{attribute.String("node", n.cfg.ID), attribute.String("region", n.cfg.Region)}
		all        = obs.Attrs(base)
		tierL3     = obs.Attrs(base, attribute.String("tier", "l3"))
	)
	return o.Register(func(_ context.Context, ob metric.Observer) error {
		s := n.Stats()
		i64 := obs.Int64
		for _, c := range []struct {
			inst metric.Int64Observable
			v    int64
		}{
			{gets, i64(s.Gets)}, {hits, i64(s.Hits)}, {stale, i64(s.Stale)}, {misses, i64(s.Misses)},
			{tickets, i64(s.TicketsGranted)}, {invals, i64(s.Invalidations)}, {applied, i64(s.Applied)},
			{notOwned, i64(s.NotOwned)}, {badChanges, i64(s.BadChanges)},
			{keys, s.Store.Keys}, {bytes, s.Store.Bytes}, {evictions, s.Store.Evictions},
		} {
			ob.ObserveInt64(c.inst, c.v, all)
		}
		ob.ObserveInt64(granted, i64(s.LeasesGranted), tierL3)
		ob.ObserveInt64(refused, i64(s.LeasesRefused), tierL3)
		ob.ObserveInt64(fills, i64(s.Fills), tierL3)
		ob.ObserveInt64(fillRejs, i64(s.FillsRefused), tierL3)
		ob.ObserveInt64(held, int64(s.LeasesHeld), tierL3)
		for _, k := range n.KeyspaceStats() {
			ksReads.Observe(ob, base, "l3", k.Keyspace, k.Hits, k.Stale, k.Misses)
		}
		return nil
	})
}

// RegisterMetrics exports the client's call counters, labelled with its
// region, by route: local (a node of this process) or remote (over
// federation). unregister stops the observations.
func (c *Client) RegisterMetrics(m metric.Meter) (unregister func() error, err error) {
	o := obs.NewObservables(m)
	var (
		calls  = o.Counter("tiercache_l3_client_calls", "calls to the global tier, by route")
		errs   = o.Counter("tiercache_l3_client_errors", "calls to the global tier that failed")
		region = attribute.String("region", c.cfg.Region)
		local  = obs.Attrs([]attribute.KeyValue{region, attribute.String("route", "local")})
		remote = obs.Attrs([]attribute.KeyValue{region, attribute.String("route", "remote")})
		all    = obs.Attrs([]attribute.KeyValue{region})
	)
	return o.Register(func(_ context.Context, ob metric.Observer) error {
		s := c.Stats()
		ob.ObserveInt64(calls, obs.Int64(s.LocalCalls), local)
		ob.ObserveInt64(calls, obs.Int64(s.RemoteCalls), remote)
		ob.ObserveInt64(errs, obs.Int64(s.Errors), all)
		return nil
	})
}
