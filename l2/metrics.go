package l2

import (
	"context"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tiercache/tiercache/internal/telemetry/obs"
)

// RegisterMetrics exports the node's Stats, TierStats, ReplicaStats and
// epoch as OpenTelemetry observable instruments on m (and TC.GET outcomes
// per keyspace as tiercache_keyspace_*{tier="l2"}), labelled with the
// node id and region (RegionID unless region is given: a control-plane node
// knows its region by name). They are read once per collection, so the
// command path pays nothing. Several nodes may share one meter; each
// observes its own series. unregister stops the observations (call it
// before or after Close; both are fine).
func (n *Node) RegisterMetrics(m metric.Meter, region string) (unregister func() error, err error) {
	if region == "" {
		region = strconv.Itoa(n.cfg.RegionID)
	}
	o := obs.NewObservables(m)
	var (
		commands     = o.Counter("tiercache_l2_commands", "commands run or routed by the node, forwarded-in ones included")
		perCommand   = o.Counter("tiercache_l2_command_calls", "calls by command name")
		forwarded    = o.Counter("tiercache_l2_forwarded", "commands (or parts) sent to their owner node")
		forwardedIn  = o.Counter("tiercache_l2_forwarded_in", "commands peers sent here to run")
		forwardErrs  = o.Counter("tiercache_l2_forward_errors", "forwards that failed")
		busy         = o.Counter("tiercache_l2_busy", "commands refused with BUSY by load shedding")
		protoErrs    = o.Counter("tiercache_l2_protocol_errors", "connections closed for a malformed or oversized request")
		accepted     = o.Counter("tiercache_l2_connections_accepted", "connections accepted")
		rejected     = o.Counter("tiercache_l2_connections_rejected", "connections refused at maxclients")
		clients      = o.Gauge("tiercache_l2_connected_clients", "open connections, peer links included")
		inFlight     = o.Gauge("tiercache_l2_in_flight", "commands being run or awaiting a peer")
		moved        = o.Counter("tiercache_l2_moved", "TC commands redirected with TCMOVED")
		hits         = o.Counter("tiercache_l2_hits", "store reads that found a live item")
		misses       = o.Counter("tiercache_l2_misses", "store reads that did not")
		sets         = o.Counter("tiercache_l2_sets", "items stored")
		deletes      = o.Counter("tiercache_l2_deletes", "live items deleted")
		evictions    = o.Counter("tiercache_l2_evictions", "live items evicted for room")
		expired      = o.Counter("tiercache_l2_expired", "items removed after their hard expiry")
		keys         = o.Gauge("tiercache_l2_keys", "live items")
		bytes        = o.Gauge("tiercache_l2_bytes", "bytes charged to the store budget")
		maxBytes     = o.Gauge("tiercache_l2_max_bytes", "the store budget")
		granted      = o.Counter("tiercache_leases_granted", "lease tokens handed out")
		refused      = o.Counter("tiercache_leases_refused", "misses told to wait because a lease was live")
		fills        = o.Counter("tiercache_lease_fills", "fills accepted with their token")
		fillRejects  = o.Counter("tiercache_lease_fills_refused", "fills refused: token invalidated, expired or unknown")
		leasesHeld   = o.Gauge("tiercache_leases_held", "leases in the table now")
		pushes       = o.Counter("tiercache_l2_invalidation_pushes", "invalidations queued to TC.TRACK subscribers")
		subscribers  = o.Gauge("tiercache_l2_subscribers", "TC.TRACK connections now")
		subDrops     = o.Counter("tiercache_l2_subscriber_drops", "subscribers cut for falling behind")
		replQueued   = o.Gauge("tiercache_replication_queued", "changes waiting for replicas")
		replApplied  = o.Counter("tiercache_replication_applied", "changes replicas acknowledged")
		replDropped  = o.Counter("tiercache_replication_dropped", "changes dropped on a full replica queue")
		replFailed   = o.Counter("tiercache_replication_failed", "changes lost to an unreachable or refusing replica")
		replLag      = o.Seconds("tiercache_replication_lag", "enqueue-to-ack time of recent changes, by quantile (max: since start)")
		epoch        = o.Gauge("tiercache_topology_epoch", "topology epoch the node has applied")
		ksReads      = o.KeyspaceReads()
		base         = []attribute.KeyValue{attribute.String("node", n.cfg.ID), attribute.String("region", region)}
		all          = obs.Attrs(base)
		tierL2       = obs.Attrs(base, attribute.String("tier", "l2"))
		lagQuantiles = [3]metric.ObserveOption{}
	)
	for i, q := range []string{"0.5", "0.99", "max"} {
		lagQuantiles[i] = obs.Attrs(base, attribute.String("quantile", q))
	}
	return o.Register(func(_ context.Context, ob metric.Observer) error {
		s, ts, rs := n.Stats(), n.TierStats(), n.ReplicaStats()
		i64 := obs.Int64
		for _, c := range []struct {
			inst metric.Int64Observable
			v    int64
		}{
			{commands, i64(s.Commands)}, {forwarded, i64(s.Forwarded)}, {forwardedIn, i64(s.ForwardedIn)},
			{forwardErrs, i64(s.ForwardErrors)}, {busy, i64(s.Busy)}, {protoErrs, i64(s.ProtocolErrors)},
			{accepted, i64(s.ConnectionsAccepted)}, {rejected, i64(s.ConnectionsRejected)},
			{clients, s.ConnectedClients}, {inFlight, s.InFlight}, {moved, i64(s.Moved)},
			{hits, s.Store.Hits}, {misses, s.Store.Misses}, {sets, s.Store.Sets}, {deletes, s.Store.Deletes},
			{evictions, s.Store.Evictions}, {expired, s.Store.Expired},
			{keys, s.Store.Keys}, {bytes, s.Store.Bytes}, {maxBytes, s.Store.MaxBytes},
			{pushes, i64(ts.Pushes)}, {subscribers, int64(ts.Subscribers)}, {subDrops, i64(ts.SubscriberDrop)},
			{replQueued, int64(rs.Queued)}, {replApplied, i64(rs.Applied)}, {replDropped, i64(rs.Dropped)},
			{replFailed, i64(rs.Failed)}, {epoch, i64(n.Epoch())},
		} {
			ob.ObserveInt64(c.inst, c.v, all)
		}
		// Lease series carry tier="l2" so the L3 node's share their names.
		ob.ObserveInt64(granted, i64(ts.LeasesGranted), tierL2)
		ob.ObserveInt64(refused, i64(ts.LeasesRefused), tierL2)
		ob.ObserveInt64(fills, i64(ts.LeaseFills), tierL2)
		ob.ObserveInt64(fillRejects, i64(ts.LeaseRejects), tierL2)
		ob.ObserveInt64(leasesHeld, int64(ts.LeasesHeld), tierL2)
		for i, d := range [3]float64{obs.Secs(rs.LagP50), obs.Secs(rs.LagP99), obs.Secs(rs.LagMax)} {
			ob.ObserveFloat64(replLag, d, lagQuantiles[i])
		}
		for _, k := range n.KeyspaceStats() {
			ksReads.Observe(ob, base, "l2", k.Keyspace, k.Hits, k.Stale, k.Misses)
		}
		for name, v := range s.PerCommand {
			ob.ObserveInt64(perCommand, i64(v), obs.Attrs(base, attribute.String("command", name)))
		}
		return nil
	})
}
