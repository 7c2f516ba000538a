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

// Snapshot returns the federation's counters and latencies as of the last
// sample (taken every second), and its topology, breakers, hot keys and
// events as they are now.
func (d *Demo) Snapshot() dashboard.Snapshot {
	prev, cur := d.interval()
	now := time.Now()
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
		fillBreakers(rs.Nodes, regionBreakers(a))
		snap.Regions = append(snap.Regions, rs)
		snap.HotKeys = append(snap.HotKeys, d.hot.update(a.region.Name, regionHotKeys(a, hotKeysShown), now, hotKeysShown)...)
	}
	for _, e := range d.events() {
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
		if err := d.expire(ctx, target); err != nil {
			return err
		}
		d.log.add("expired hot key %s in every region (operator)", target)
		return nil
	}
	return fmt.Errorf("%w: %q", errUnknownAction, a.Kind)
}
