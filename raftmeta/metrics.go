package raftmeta

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tiercache/tiercache/internal/telemetry/obs"
)

// RegisterMetrics exports the member's view of the control plane as
// OpenTelemetry observable instruments on m, labelled member=<id>: the
// applied topology's epoch and keyspace version, Raft term and indexes,
// leadership, held long polls, and the nodes by region, tier and state.
// Everything is read at collection time from the published view and
// Raft's own counters (not Status, which asks Raft for its configuration
// through the main loop: a scrape must not queue behind a busy leader).
// unregister stops the observations; call it before Close.
func (m *Member) RegisterMetrics(meter metric.Meter) (unregister func() error, err error) {
	o := obs.NewObservables(meter)
	var (
		epoch     = o.Gauge("tiercache_topology_epoch", "epoch of the topology this member has applied")
		ksVersion = o.Gauge("tiercache_keyspace_version", "version of the keyspace settings this member has applied")
		term      = o.Gauge("tiercache_meta_raft_term", "Raft term")
		commit    = o.Gauge("tiercache_meta_commit_index", "Raft commit index")
		applied   = o.Gauge("tiercache_meta_applied_index", "Raft index applied to the state machine")
		leader    = o.Gauge("tiercache_meta_leader", "1 while this member leads and serves writes")
		polls     = o.Gauge("tiercache_meta_held_polls", "topology long polls held open")
		nodes     = o.Gauge("tiercache_meta_nodes", "registered cache nodes by region, tier and state")
		members   = o.Gauge("tiercache_meta_members", "control-plane members known to this member")
		rebalance = o.Gauge("tiercache_meta_rebalance_ranges_done", "ranges moved by the current or last rebalance")
		rebTotal  = o.Gauge("tiercache_meta_rebalance_ranges", "ranges the current or last rebalance moves")
		base      = []attribute.KeyValue{attribute.String("member", m.cfg.ID)}
		all       = obs.Attrs(base)
	)
	type nodeKey struct{ region, tier, state string }
	return o.Register(func(_ context.Context, ob metric.Observer) error {
		v := m.fsm.current()
		ob.ObserveInt64(epoch, obs.Int64(v.topo.Epoch), all)
		ob.ObserveInt64(ksVersion, obs.Int64(v.topo.KeyspaceVersion), all)
		ob.ObserveInt64(term, obs.Int64(m.raft.CurrentTerm()), all)
		ob.ObserveInt64(commit, obs.Int64(m.raft.CommitIndex()), all)
		ob.ObserveInt64(applied, obs.Int64(m.raft.AppliedIndex()), all)
		ob.ObserveInt64(leader, obs.Bool(m.IsLeader()), all)
		ob.ObserveInt64(polls, m.heldPolls.Load(), all)
		ob.ObserveInt64(members, int64(len(v.members)), all)
		if r := v.rebalance; r != nil {
			ob.ObserveInt64(rebalance, int64(r.RangesDone), all)
			ob.ObserveInt64(rebTotal, int64(r.RangesTotal), all)
		}
		// Every state of each region and tier that has nodes is observed,
		// zeros included, so a node going down moves a series from 1 to 0
		// instead of making it vanish.
		counts := map[nodeKey]int64{}
		for _, n := range v.topo.Nodes {
			for _, st := range []NodeState{StateUp, StateDown, StateDraining} {
				counts[nodeKey{n.Region, string(n.Tier), string(st)}] += 0
			}
			counts[nodeKey{n.Region, string(n.Tier), string(n.State)}]++
		}
		for k, c := range counts {
			ob.ObserveInt64(nodes, c, obs.Attrs(base, attribute.String("region", k.region),
				attribute.String("tier", k.tier), attribute.String("state", k.state)))
		}
		return nil
	})
}
