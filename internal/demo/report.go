package demo

import (
	"fmt"
	"strings"
)

// Line returns the live summary of the last second: reads per second,
// where reads were answered, origin queries per second, latency per
// region, replication lag per link (p99), stale reads and read-your-writes
// violations since the start, and the topology epoch.
func (d *Demo) Line() string {
	prev, cur := d.interval()
	secs := cur.at.Sub(prev.at).Seconds()
	if secs <= 0 {
		secs = 1
	}
	t := tiersOf(prev.regions, cur.regions)
	l1, l2, l3, or := t.ratios()
	var b strings.Builder
	fmt.Fprintf(&b, "t=%3.0fs reads/s %6.0f | hit L1 %4.1f%% L2 %4.1f%% L3 %4.1f%% origin %4.1f%% | origin q/s %5.0f | p50/p99 ms",
		cur.at.Sub(d.began).Seconds(), float64(t.reads)/secs, 100*l1, 100*l2, 100*l3, 100*or,
		float64(cur.originReads-prev.originReads)/secs)
	var stale, staleLong, checks, fails, errs uint64
	for i, r := range cur.regions {
		h := r.lat
		if i < len(prev.regions) {
			h = r.lat.since(prev.regions[i].lat)
		}
		fmt.Fprintf(&b, " %s %.1f/%.1f", short(d.apps[i].region.Name), h.quantile(0.5), h.quantile(0.99))
		stale += r.stale
		staleLong += r.staleLong
		checks += r.rywChecks
		fails += r.rywFails
		errs += r.errs
	}
	b.WriteString(" | lag p99 ms")
	for _, l := range cur.links {
		if !l.Connected {
			fmt.Fprintf(&b, " %s>%s cut", short(l.From), short(l.To))
			continue
		}
		fmt.Fprintf(&b, " %s>%s %.0f", short(l.From), short(l.To), l.LagP99Ms)
	}
	fmt.Fprintf(&b, " | stale %d (>1s %d) | ryw viol %d/%d | errors %d", stale, staleLong, fails, checks, errs)
	if top := d.dep.Topology(); top != nil {
		fmt.Fprintf(&b, " | epoch %d", top.Epoch)
	}
	return b.String()
}

// short abbreviates a region name for the live line: "us-east" → "use".
func short(name string) string {
	parts := strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' })
	if len(parts) < 2 {
		return name
	}
	out := parts[0]
	for _, p := range parts[1:] {
		out += p[:1]
	}
	return out
}

// Report is the demo's final figures (`--report json`).
type Report struct {
	StartupMs float64 `json:"startup_ms"`
	DurationS float64 `json:"duration_s"`
	Epoch     uint64  `json:"epoch"`

	Reads  uint64 `json:"reads"`
	Writes uint64 `json:"writes"`
	Errors uint64 `json:"errors"`

	HitRatioL1     float64 `json:"hit_ratio_l1"`
	HitRatioL2     float64 `json:"hit_ratio_l2"`
	HitRatioL3     float64 `json:"hit_ratio_l3"`
	OriginRatio    float64 `json:"origin_ratio"` // app-side origin loads per read
	OriginQueries  uint64  `json:"origin_queries"`
	OriginPerSec   float64 `json:"origin_queries_per_s"`
	OriginWrites   uint64  `json:"origin_writes"`
	PrimaryReads   uint64  `json:"origin_primary_reads"` // loads hinted to read the primary (sessions inside their window)
	ReplicaOld     uint64  `json:"origin_replica_stale"` // loads a lagging replica answered with an older row (--replica-lag)
	StaleReads     uint64  `json:"stale_reads"`
	StaleOver1s    uint64  `json:"stale_reads_over_1s"` // of those, of a row superseded over a second before
	RYWChecks      uint64  `json:"ryw_checks"`
	RYWCrossRegion uint64  `json:"ryw_cross_region_checks"`
	RYWViolations  uint64  `json:"ryw_violations"`

	TrendingKeys         uint64   `json:"trending_keys"`
	TrendExpiries        uint64   `json:"trend_expiries"`
	TrendOriginLoads     uint64   `json:"trend_origin_loads"`
	OriginLoadsPerExpiry float64  `json:"origin_loads_per_expiry"`
	RYWViolationExamples []string `json:"ryw_violation_examples,omitempty"`
	LastError            string   `json:"last_error,omitempty"`

	Regions []RegionReport `json:"regions"`
	Links   []LinkReport   `json:"links"`
}

// RegionReport is one region's figures over the whole run.
type RegionReport struct {
	Name          string  `json:"name"`
	Reads         uint64  `json:"reads"`
	Writes        uint64  `json:"writes"`
	OriginLoads   uint64  `json:"origin_loads"`
	StaleReads    uint64  `json:"stale_reads"`
	RYWChecks     uint64  `json:"ryw_checks"`
	RYWViolations uint64  `json:"ryw_violations"`
	Errors        uint64  `json:"errors"`
	P50Ms         float64 `json:"p50_ms"`
	P99Ms         float64 `json:"p99_ms"`
}

// LinkReport is one direction of a federation link at the end.
type LinkReport struct {
	From     string  `json:"from"`
	To       string  `json:"to"`
	RTTMs    float64 `json:"rtt_ms"`
	LagP50Ms float64 `json:"lag_p50_ms"`
	LagP99Ms float64 `json:"lag_p99_ms"`
}

// Report returns the figures from the start of the workload to the last
// sample.
func (d *Demo) Report() Report {
	_, cur := d.interval()
	d.mu.Lock()
	first := d.first
	examples := append([]string(nil), d.violations...)
	d.mu.Unlock()
	secs := cur.at.Sub(first.at).Seconds()
	t := tiersOf(first.regions, cur.regions)
	rep := Report{
		StartupMs: ms(d.startup), DurationS: secs,
		OriginQueries: cur.originReads - first.originReads, OriginWrites: cur.originWrites - first.originWrites,
		PrimaryReads: cur.primaryReads - first.primaryReads, ReplicaOld: cur.replicaOld - first.replicaOld,
		TrendingKeys: cur.trends, TrendExpiries: cur.expiries, RYWViolationExamples: examples,
	}
	rep.HitRatioL1, rep.HitRatioL2, rep.HitRatioL3, rep.OriginRatio = t.ratios()
	if secs > 0 {
		rep.OriginPerSec = float64(rep.OriginQueries) / secs
	}
	if top := d.dep.Topology(); top != nil {
		rep.Epoch = top.Epoch
	}
	for i, r := range cur.regions {
		rep.Reads += r.reads
		rep.Writes += r.writes
		rep.Errors += r.errs
		rep.StaleReads += r.stale
		rep.StaleOver1s += r.staleLong
		rep.RYWChecks += r.rywChecks
		rep.RYWViolations += r.rywFails
		rep.RYWCrossRegion += r.crossChecks
		rep.TrendOriginLoads += r.trendLoads
		rep.Regions = append(rep.Regions, RegionReport{
			Name: d.apps[i].region.Name, Reads: r.reads, Writes: r.writes, OriginLoads: r.originLoads,
			StaleReads: r.stale, RYWChecks: r.rywChecks, RYWViolations: r.rywFails, Errors: r.errs,
			P50Ms: r.lat.quantile(0.5), P99Ms: r.lat.quantile(0.99),
		})
	}
	// Each trend's first read is a miss too: it counts as an expiry.
	if n := rep.TrendingKeys + rep.TrendExpiries; n > 0 {
		rep.OriginLoadsPerExpiry = float64(rep.TrendOriginLoads) / float64(n)
	}
	for _, l := range cur.links {
		rep.Links = append(rep.Links, LinkReport{From: l.From, To: l.To, RTTMs: l.RTTMs, LagP50Ms: l.LagP50Ms, LagP99Ms: l.LagP99Ms})
	}
	if err := d.LastError(); err != nil {
		rep.LastError = err.Error()
	}
	return rep
}
