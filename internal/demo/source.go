package demo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tiercache/tiercache/internal/dashboard"
	"github.com/tiercache/tiercache/raftmeta"
)

var _ dashboard.Source = (*Demo)(nil)

// Snapshot returns the federation's state as of the last sample (taken
// every second) and the topology now.
func (d *Demo) Snapshot() dashboard.Snapshot {
	prev, cur := d.interval()
	snap := dashboard.Snapshot{TimeMs: cur.at.UnixMilli(), Leader: d.dep.Leader(), Links: slices.Clone(cur.links)}
	top := d.dep.Topology()
	if top != nil {
		snap.Epoch = top.Epoch
	}
	for i, a := range d.apps {
		r := cur.regions[i]
		h := r.lat
		if i < len(prev.regions) {
			h = r.lat.since(prev.regions[i].lat)
		}
		rs := dashboard.RegionState{
			Name: a.region.Name, Partitioned: d.dep.Partitioned(a.region.Name),
			Requests: r.reads, L1Hits: r.l1Hits, L3Hits: r.l3Hits, L2Hits: r.nodeHits - min(r.l3Hits, r.nodeHits),
			OriginLoads: r.originLoads, StaleReads: r.stale, RYWChecks: r.rywChecks, RYWViolations: r.rywFails,
			Errors: r.errs, P50Ms: h.quantile(0.5), P99Ms: h.quantile(0.99),
		}
		for _, id := range a.region.NodeIDs() {
			ns := dashboard.NodeState{ID: id, Tier: "l2", State: stateOf(top, id)}
			if n := a.region.Node(id); n != nil {
				ns.Running, ns.Addr = true, n.Addr()
				ns.Keys = n.Stats().Store.Keys
			}
			rs.Nodes = append(rs.Nodes, ns)
		}
		l3 := a.region.L3
		rs.Nodes = append(rs.Nodes, dashboard.NodeState{
			ID: l3.ID(), Tier: "l3", Addr: a.region.Endpoint.Addr().String(), State: stateOf(top, l3.ID()),
			Running: true, Keys: l3.Stats().Store.Keys,
		})
		snap.Regions = append(snap.Regions, rs)
	}
	if key := d.trend.current(); key != "" {
		secs := cur.at.Sub(prev.at).Seconds()
		for i := range cur.regions {
			// The trending key's share of the region's reads last second.
			reads := float64(cur.regions[i].reads)
			if i < len(prev.regions) {
				reads -= float64(prev.regions[i].reads)
			}
			if secs > 0 {
				snap.HotKeys = append(snap.HotKeys, dashboard.HotKey{Key: key, Region: d.apps[i].region.Name, Rate: reads / secs * float64(d.opts.TrendPct) / 100})
			}
		}
	}
	for _, e := range d.dep.Events() {
		snap.Events = append(snap.Events, dashboard.Event{TimeMs: e.Time.UnixMilli(), Text: e.Text})
	}
	return snap
}

func stateOf(t *raftmeta.Topology, id string) string {
	if t == nil {
		return ""
	}
	if n, ok := t.Node(id); ok {
		return string(n.State)
	}
	return ""
}

// Act carries out an operator action on the federation.
func (d *Demo) Act(ctx context.Context, a dashboard.Action) error {
	target := strings.TrimSpace(a.Target)
	switch a.Kind {
	case dashboard.ActionKillNode:
		return d.dep.KillNode(target)
	case dashboard.ActionRestartNode:
		return d.dep.RestartNode(target)
	case dashboard.ActionPartitionRegion:
		return d.dep.PartitionRegion(target)
	case dashboard.ActionHealRegion:
		return d.dep.HealRegion(target)
	case dashboard.ActionExpireHotKey:
		if target == "" {
			target = d.trend.current()
		}
		if target == "" {
			return fmt.Errorf("demo: no key is trending now; name one")
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return d.expire(ctx, target)
	}
	return fmt.Errorf("%w: %q", errUnknownAction, a.Kind)
}
