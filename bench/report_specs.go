package bench

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// scenarioSpec is how one scenario's figures read in the report: rows of
// figures beside their peers, and the charts drawn from figures and series.
type scenarioSpec struct {
	Peer  string // who the scenario measures against, in words
	Rows  []row
	Bars  []namedBar
	Lines []namedLine
}

type namedBar struct {
	File  string // plot file name without extension
	Chart BarChart
}

type namedLine struct {
	File  string
	Chart LineChart
}

// specs maps each scenario to its spec builder; a scenario missing here
// gets genericSpec (every figure, no peer), so a new scenario still shows.
var specs = map[string]func(r *Result) scenarioSpec{
	"resp":            respSpec,
	"clientget":       clientgetSpec,
	"stampede":        stampedeSpec,
	"stampede-global": stampedeGlobalSpec,
	"hotkey":          hotkeySpec,
	"failover":        failoverSpec,
	"rebalance":       rebalanceSpec,
	"degraded":        degradedSpec,
	"lag":             lagSpec,
	"partition":       partitionSpec,
	"federation":      federationSpec,
	"ryw":             rywSpec,
}

// specFor builds the spec of a result (nil result: a failed scenario).
func specFor(name string, r *Result) scenarioSpec {
	if f, ok := specs[name]; ok {
		return f(r)
	}
	return genericSpec(r)
}

// specRows is the rows of a result's spec.
func specRows(r *Result) []row {
	if r == nil {
		return nil
	}
	return specFor(r.Scenario, r).Rows
}

func genericSpec(r *Result) scenarioSpec {
	s := scenarioSpec{Peer: "—"}
	if r == nil {
		return s
	}
	names := make([]string, 0, len(r.Figures))
	for k := range r.Figures {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		s.Rows = append(s.Rows, alone(r, k, k, nil))
	}
	return s
}

// barOf draws rows that have both sides as grouped bars, ours vs peer.
func barOf(file, title, ylabel, ours, peer string, log bool, rows ...row) namedBar {
	c := BarChart{Title: title, YLabel: ylabel, Series: []string{ours, peer}, Log: log}
	for _, rw := range rows {
		c.Groups = append(c.Groups, BarGroup{Label: rw.Label, Values: []float64{rw.Ours, rw.Peer}})
	}
	return namedBar{File: file, Chart: c}
}

// percentileLine is a latency curve from a series measured at the
// percentiles in Series["latency_percentiles"], at evenly spaced x
// positions named by percentileTicks.
func percentileLine(r *Result, label, key string) PlotLine {
	y := seriesOf(r, key)
	x := make([]float64, len(y))
	for i := range x {
		x[i] = float64(i)
	}
	return PlotLine{Label: label, X: x, Y: y}
}

// percentileTicks names the x positions of percentile curves: p50, p99.9...
func percentileTicks(r *Result) []string {
	var out []string
	for _, p := range seriesOf(r, "latency_percentiles") {
		out = append(out, "p"+strconv.FormatFloat(p, 'f', -1, 64))
	}
	return out
}

func seriesOf(r *Result, key string) []float64 {
	if r == nil {
		return nil
	}
	return r.Series[key]
}

// hasSeries says whether every named series exists and is non-empty.
func hasSeries(r *Result, keys ...string) bool {
	for _, k := range keys {
		if len(seriesOf(r, k)) == 0 {
			return false
		}
	}
	return true
}

func redisPeer(r *Result, how string) string {
	v := ""
	if r != nil {
		v = shortVersion(r.Notes["peer"])
	}
	return strings.TrimSpace("redis-server " + v + " " + how)
}

func respSpec(r *Result) scenarioSpec {
	peer := redisPeer(r, "(redis-benchmark)")
	s := scenarioSpec{Peer: peer + ", same flags, alternating who goes first"}
	var rps, p99 []row
	for _, c := range []struct {
		test string
		p    int
		t    *target
	}{{"get", 1, ratioAtLeast(0.9)}, {"set", 1, ratioAtLeast(0.9)}, {"get", 16, ratioAtLeast(1)}, {"set", 16, ratioAtLeast(1)}} {
		name := fmt.Sprintf("%s_p%d", c.test, c.p)
		label := fmt.Sprintf("%s P%d", strings.ToUpper(c.test), c.p)
		rps = append(rps, pair(r, label, "tiercache_"+name+"_rps", "redis_"+name+"_rps", peer, name+"_ratio", c.t))
		var lt *target
		if name == "get_p16" {
			lt = ratioAtMost(1.2) // the latency figure
		}
		p99 = append(p99, pair(r, label, "tiercache_"+name+"_p99_ms", "redis_"+name+"_p99_ms", peer, name+"_p99_ratio", lt))
	}
	for i := range rps {
		rps[i].Label += " throughput (req/s)"
	}
	for i := range p99 {
		p99[i].Label += " p99 (ms)"
	}
	s.Rows = append(rps, p99...)
	s.Bars = []namedBar{
		barOf("resp-throughput", "RESP throughput: tiercache L2 node vs redis-server (redis-benchmark -c 50 -d 64)", "requests/s", "tiercache", "redis-server", false, trimLabels(rps, " throughput (req/s)")...),
		barOf("resp-p99", "RESP p99 latency: tiercache L2 node vs redis-server", "p99 (ms)", "tiercache", "redis-server", false, trimLabels(p99, " p99 (ms)")...),
	}
	return s
}

// trimLabels shortens row labels for chart groups.
func trimLabels(rows []row, suffix string) []row {
	out := make([]row, len(rows))
	for i, rw := range rows {
		rw.Label = strings.TrimSuffix(rw.Label, suffix)
		out[i] = rw
	}
	return out
}

func clientgetSpec(r *Result) scenarioSpec {
	peer := "go-redis v9 GET on " + redisPeer(r, "")
	s := scenarioSpec{Peer: peer + ", alternating blocks of 1,000 reads"}
	p50 := pair(r, "GET p50 (µs)", "get_p50_us_tiercache", "get_p50_us_redis", peer, "get_p50_ratio", ratioAtMost(1.2))
	p99 := pair(r, "GET p99 (µs)", "get_p99_us_tiercache", "get_p99_us_redis", peer, "get_p99_ratio", ratioAtMost(1.2))
	s.Rows = []row{p50, p99}
	p50.Label, p99.Label = "p50", "p99"
	s.Bars = []namedBar{barOf("clientget-latency", "Client Get over an L2 hit vs go-redis GET on redis-server", "latency (µs)", "tiercache client", "go-redis + redis-server", false, p50, p99)}
	if hasSeries(r, "latency_percentiles", "get_latency_us_tiercache") {
		c := LineChart{Title: "Client Get latency by percentile", XLabel: "percentile", YLabel: "latency (µs)", XTicks: percentileTicks(r),
			Lines: []PlotLine{percentileLine(r, "tiercache client", "get_latency_us_tiercache")}}
		if hasSeries(r, "get_latency_us_redis") {
			c.Lines = append(c.Lines, percentileLine(r, "go-redis + redis-server", "get_latency_us_redis"))
		}
		s.Lines = append(s.Lines, namedLine{"clientget-percentiles", c})
	}
	return s
}

func stampedeSpec(r *Result) scenarioSpec {
	s := scenarioSpec{Peer: "plain cache-aside (naive) and per-process singleflight, same region, rotating order"}
	naive := pair(r, "origin loads per expiry vs no protection", "origin_loads_per_expiry_tiercache", "origin_loads_per_expiry_naive", "naive cache-aside", "", atMost(1))
	sf := pair(r, "origin loads per expiry vs singleflight", "origin_loads_per_expiry_tiercache", "origin_loads_per_expiry_singleflight", "singleflight only", "", atMost(1))
	s.Rows = []row{naive, sf,
		alone(r, "tiercache read p50 (ms)", "read_p50_ms_tiercache", nil),
		alone(r, "tiercache read p99 (ms)", "read_p99_ms_tiercache", nil)}
	c := BarChart{Title: "Origin loads per expiry of one hot key (log scale)", YLabel: "origin loads", Log: true,
		Series: []string{"tiercache", "singleflight only", "naive"},
		Groups: []BarGroup{{Label: "origin loads per expiry", Values: []float64{naive.Ours, sf.Peer, naive.Peer}}}}
	s.Bars = []namedBar{{"stampede-loads", c}}
	if hasSeries(r, "latency_percentiles", "read_latency_ms_tiercache") {
		s.Lines = []namedLine{{"stampede-latency", LineChart{Title: "tiercache read latency during the stampede, by percentile", XLabel: "percentile", YLabel: "latency (ms)", XTicks: percentileTicks(r),
			Lines: []PlotLine{percentileLine(r, "tiercache", "read_latency_ms_tiercache")}}}}
	}
	return s
}

func stampedeGlobalSpec(r *Result) scenarioSpec {
	s := scenarioSpec{Peer: "stampede scope region (one lease per region), same deployment, alternating"}
	g := pair(r, "origin loads per expiry, 3 regions", "origin_loads_per_expiry_global", "origin_loads_per_expiry_region", "scope region", "", atMost(1))
	s.Rows = []row{g}
	g.Label = "origin loads per expiry"
	s.Bars = []namedBar{barOf("stampede-global-loads", "One key missed in three regions at once: origin loads per expiry", "origin loads", "scope global", "scope region", false, g)}
	return s
}

func hotkeySpec(r *Result) scenarioSpec {
	s := scenarioSpec{Peer: "the same clients with hot-key L1 off, alternating"}
	m := pair(r, "max/mean node load, Zipf(1.1)", "max_mean_load_l1_on", "max_mean_load_l1_off", "hot-key L1 off", "", atMost(1.25))
	s.Rows = []row{m}
	m.Label = "max/mean node load"
	s.Bars = []namedBar{barOf("hotkey-load", "Busiest node over mean under Zipf(1.1), 3 nodes", "max/mean load", "hot-key L1 on", "hot-key L1 off", false, m)}
	return s
}

func failoverSpec(r *Result) scenarioSpec {
	s := scenarioSpec{Peer: "no peer: held to the lease timeout + 1 s"}
	tgt := figureOf(r, "recovery_target_ms")
	if math.IsNaN(tgt) {
		tgt = 2000
	}
	p50 := pair(r, "recovery p50 (ms)", "recovery_p50_ms", "recovery_target_ms", "lease + 1 s", "", atMost(tgt))
	p99 := pair(r, "recovery p99 (ms)", "recovery_p99_ms", "recovery_target_ms", "lease + 1 s", "", atMost(tgt))
	s.Rows = []row{p50, p99,
		alone(r, "client error share after the kill", "client_error_share", nil),
		alone(r, "acknowledged writes lost", "acked_writes_lost", nil),
		alone(r, "requests hung past deadline + 1 s", "hung_requests", exactly(0)),
		alone(r, "lease timeout (ms)", "lease_timeout_ms", nil)}
	p50.Label, p99.Label = "p50", "p99"
	s.Bars = []namedBar{barOf("failover-recovery", "Recovery after killing an L2 primary vs the target (lease + 1 s)", "ms from the kill", "recovery", "target", false, p50, p99)}
	if hasSeries(r, "timeline_s", "hit_ratio") {
		s.Lines = []namedLine{{"failover-timeline", LineChart{Title: "Reads served from the cache around the kill (first run, 100 ms buckets)", XLabel: "seconds from the kill", YLabel: "share of reads",
			Lines: []PlotLine{{Label: "cache hit ratio", X: seriesOf(r, "timeline_s"), Y: seriesOf(r, "hit_ratio")},
				{Label: "error share", X: seriesOf(r, "timeline_s"), Y: seriesOf(r, "error_share")}},
			Marks: []PlotMark{{X: 0, Label: "kill"}}}}}
	}
	return s
}

func rebalanceSpec(r *Result) scenarioSpec {
	s := scenarioSpec{Peer: "naive switch-over (new ring, no migration), a fresh region each, alternating"}
	peak := pair(r, "origin peak over steady (1 s buckets)", "origin_peak_over_steady_tiercache", "origin_peak_over_steady_naive", "naive switch-over", "", atMost(1.2))
	fine := pair(r, "origin peak over steady (100 ms buckets)", "origin_peak_100ms_over_steady_tiercache", "origin_peak_100ms_over_steady_naive", "naive switch-over", "", nil)
	s.Rows = []row{
		pair(r, "keys moved over the ideal 1/6", "keys_moved_over_ideal", "", "", "", atMost(1.1)),
		peak, fine,
		alone(r, "migration time (ms)", "migration_ms_tiercache", nil),
		alone(r, "pull-through hits", "pull_through_hits_tiercache", nil)}
	peak.Label, fine.Label = "1 s buckets", "100 ms buckets"
	s.Bars = []namedBar{barOf("rebalance-peak", "Origin load peak over steady when a 6th node joins", "peak / steady", "tiercache", "naive switch-over", false, peak, fine)}
	if hasSeries(r, "origin_t_s", "origin_per_100ms_tiercache", "origin_per_100ms_naive") {
		t := seriesOf(r, "origin_t_s")
		s.Lines = []namedLine{{"rebalance-origin", LineChart{Title: "Origin loads per 100 ms around the join (first run of each)", XLabel: "seconds from the ring change", YLabel: "origin loads / 100 ms",
			Lines: []PlotLine{{Label: "tiercache", X: t, Y: seriesOf(r, "origin_per_100ms_tiercache")}, {Label: "naive switch-over", X: t, Y: seriesOf(r, "origin_per_100ms_naive")}},
			Marks: []PlotMark{{X: 0, Label: "6th node joins"}}}}}
	}
	return s
}

func degradedSpec(r *Result) scenarioSpec {
	s := scenarioSpec{Peer: "the capped loader (DegradedLoader), a fresh region each, alternating"}
	const peer = "capped loader"
	loads := pair(r, "origin loads/s during the outage", "origin_loads_per_s_gutter", "origin_loads_per_s_loader", peer, "", ratioAtMost(1))
	errs := pair(r, "read error share", "error_share_gutter", "error_share_loader", peer, "", nil)
	p99 := pair(r, "read p99 (ms)", "read_p99_ms_gutter", "read_p99_ms_loader", peer, "", nil)
	// No target: the issue asks which mode is better, and stale reads
	// are one of the ways to judge it.
	stale := pair(r, "stale reads", "stale_reads_gutter", "stale_reads_loader", peer, "", nil)
	surv := pair(r, "survivors' load change", "survivor_load_change_gutter", "survivor_load_change_loader", peer, "", atMost(1.5))
	s.Rows = []row{loads, errs, p99, stale, surv,
		pair(r, "origin loads/s before the kill", "origin_loads_per_s_before_gutter", "origin_loads_per_s_before_loader", peer, "", nil),
		alone(r, "gutter hit share of the dead node's reads", "gutter_hit_share", nil)}
	s.Bars = []namedBar{
		barOf("degraded-origin", "One of 3 nodes down: origin loads/s, gutter node vs capped loader", "origin loads/s", "gutter", "capped loader", false,
			pair(r, "before the kill", "origin_loads_per_s_before_gutter", "origin_loads_per_s_before_loader", peer, "", nil),
			pair(r, "during the outage", "origin_loads_per_s_gutter", "origin_loads_per_s_loader", peer, "", nil)),
		barOf("degraded-latency", "One of 3 nodes down: read latency", "ms", "gutter", "capped loader", false,
			pair(r, "p50", "read_p50_ms_gutter", "read_p50_ms_loader", peer, "", nil), pair(r, "p99", "read_p99_ms_gutter", "read_p99_ms_loader", peer, "", nil)),
	}
	if hasSeries(r, "timeline_s", "origin_per_s_gutter", "origin_per_s_loader") {
		t := seriesOf(r, "timeline_s")
		s.Lines = []namedLine{{"degraded-origin-timeline", LineChart{Title: "Origin loads/s around the kill (first run of each mode, 250 ms buckets)", XLabel: "seconds from the kill", YLabel: "origin loads/s",
			Lines: []PlotLine{{Label: "gutter", X: t, Y: seriesOf(r, "origin_per_s_gutter")}, {Label: "capped loader", X: t, Y: seriesOf(r, "origin_per_s_loader")}},
			Marks: []PlotMark{{X: 0, Label: "node killed"}}}}}
	}
	return s
}

// links lists the "<from>_to_<to>" names that carry a figure with prefix.
func links(r *Result, prefix string) []string {
	var out []string
	if r == nil {
		return nil
	}
	for k := range r.Figures {
		if l, ok := strings.CutPrefix(k, prefix); ok {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

func lagSpec(r *Result) scenarioSpec {
	s := scenarioSpec{Peer: "each link's one-way delay in the simulated WAN (local-3)"}
	s.Rows = []row{
		pair(r, "worst link lag p99 (ms)", "lag_p99_ms", "one_way_delay_ms", "one-way delay", "", peerPlusAtMost(20)),
		pair(r, "worst link lag p50 (ms)", "lag_p50_ms", "one_way_delay_ms", "one-way delay", "", nil),
		alone(r, "worst link lag max (ms)", "lag_max_ms", nil),
	}
	var perLink []row
	for _, l := range links(r, "lag_p99_ms_") {
		rw := pair(r, strings.ReplaceAll(l, "_to_", "→"), "lag_p99_ms_"+l, "one_way_ms_"+l, "one-way delay", "", peerPlusAtMost(20))
		perLink = append(perLink, rw)
		x := rw
		x.Label = "lag p99 " + rw.Label + " (ms)"
		s.Rows = append(s.Rows, x)
	}
	if len(perLink) > 0 {
		s.Bars = []namedBar{barOf("lag-links", "Replication lag p99 per link vs its one-way delay", "ms", "lag p99", "one-way delay", false, perLink...)}
	} else {
		s.Bars = []namedBar{barOf("lag-links", "Replication lag on the worst link vs its one-way delay", "ms", "lag", "one-way delay", false,
			pair(r, "p50", "lag_p50_ms", "one_way_delay_ms", "", "", nil), pair(r, "p99", "lag_p99_ms", "one_way_delay_ms", "", "", nil))}
	}
	if t := seriesOf(r, "timeline_s"); len(t) > 0 {
		c := LineChart{Title: "Replication lag p99 per link over the run (rolling over the link's recent changes)", XLabel: "seconds from the first write", YLabel: "lag p99 (ms)"}
		for _, l := range links(r, "lag_p99_ms_") {
			if y := seriesOf(r, "lag_p99_ms_over_time_"+l); len(y) == len(t) {
				c.Lines = append(c.Lines, PlotLine{Label: strings.ReplaceAll(l, "_to_", "→"), X: t, Y: y})
			}
		}
		if len(c.Lines) > 0 {
			s.Lines = []namedLine{{"lag-timeline", c}}
		}
	}
	return s
}

func partitionSpec(r *Result) scenarioSpec {
	s := scenarioSpec{Peer: "no peer: targets of 0 wrong keys after the heal"}
	conv := pair(r, "time to converge after the heal (s)", "converge_s", "partition_s", "partition length", "", nil)
	s.Rows = []row{conv,
		alone(r, "stale keys after converging", "stale_keys_after_converge", exactly(0)),
		alone(r, "invalidations lost", "invalidations_lost", exactly(0))}
	conv.Label = "seconds"
	s.Bars = []namedBar{barOf("partition-converge", "One region cut off under writes: convergence after the heal", "seconds", "time to converge after the heal", "partition length", false, conv)}
	return s
}

func federationSpec(r *Result) scenarioSpec {
	s := scenarioSpec{Peer: "the simulated RTT (fetch), one TCP+TLS 1.3 connection with the same certificates (throughput, loss)"}
	s.Rows = []row{
		alone(r, "L3 fetch p50 over RTT, worst link", "l3_fetch_over_rtt", atMost(1.1)),
		pair(r, "link throughput (ops/s), 256 in flight", "quic_ops_per_s", "tcp_ops_per_s", "TCP+TLS", "quic_over_tcp_throughput", nil),
		pair(r, "p99 with 1% loss (ms)", "loss_p99_ms_quic", "loss_p99_ms_tcp", "TCP+TLS", "loss_p99_quic_over_tcp", nil),
		pair(r, "share slower than 1.5 RTT with 1% loss", "loss_slow_share_quic", "loss_slow_share_tcp", "TCP+TLS", "", nil),
		alone(r, "QUIC connections per link", "quic_connects_per_link", exactly(1)),
		alone(r, "QUIC redials during the run", "quic_redials_during_run", exactly(0)),
	}
	var fetch []row
	for _, l := range links(r, "rtt_ms_") {
		rw := pair(r, strings.ReplaceAll(l, "_to_", "→"), "l3_fetch_p50_ms_"+l, "rtt_ms_"+l, "RTT", "", nil)
		rw.Target = ratioAtMost(1.1)
		fetch = append(fetch, rw)
		x := rw
		x.Label = "L3 fetch p50 " + rw.Label + " (ms)"
		s.Rows = append(s.Rows, x)
	}
	s.Bars = []namedBar{
		barOf("federation-fetch", "Cross-region L3 fetch p50 vs the link's RTT", "ms", "L3 fetch p50", "RTT", false, fetch...),
		barOf("federation-throughput", "QUIC link vs TCP+TLS over a 70 ms link", "ops/s", "QUIC", "TCP+TLS", false,
			pair(r, "throughput", "quic_ops_per_s", "tcp_ops_per_s", "", "", nil)),
		barOf("federation-loss", "Requests with 1% loss: p99", "ms", "QUIC", "TCP+TLS", false,
			pair(r, "p99 with 1% loss", "loss_p99_ms_quic", "loss_p99_ms_tcp", "", "", nil)),
	}
	return s
}

func rywSpec(r *Result) scenarioSpec {
	s := scenarioSpec{Peer: "the same trials read without the session token (plain reads), alternating"}
	viol := pair(r, "reads missing the user's write (share)", "violation_rate_sticky", "stale_rate_no_sticky", "no token", "", exactly(0))
	if math.IsNaN(viol.Ours) { // older results: the count only
		viol.Ours = figureOf(r, "violations_sticky") / figureOf(r, "trials")
	}
	p50 := pair(r, "read p50 (ms)", "sticky_read_p50_ms", "plain_read_p50_ms", "no token", "", nil)
	p99 := pair(r, "read p99 (ms)", "sticky_read_p99_ms", "plain_read_p99_ms", "no token", "", nil)
	s.Rows = []row{
		alone(r, "trials", "trials", nil),
		alone(r, "violations with the token", "violations_sticky", exactly(0)),
		viol, p50, p99,
		alone(r, "extra latency of the token, p50 (ms)", "sticky_extra_p50_ms", nil),
		alone(r, "extra latency of the token, p99 (ms)", "sticky_extra_p99_ms", nil),
		alone(r, "writes retried after the node refused them", "write_retries", nil),
	}
	v := viol
	v.Label = "missed writes"
	s.Bars = []namedBar{
		barOf("ryw-violations", "Write in one region, read at once in another: reads missing the write", "share of reads", "with token", "without token", false, v),
		barOf("ryw-latency", "Read latency with and without the session token", "ms", "with token", "without token", false, trimLabels([]row{p50, p99}, " (ms)")...),
	}
	if hasSeries(r, "latency_percentiles", "read_latency_ms_sticky", "read_latency_ms_plain") {
		s.Lines = []namedLine{{"ryw-percentiles", LineChart{Title: "Cross-region read after write, latency by percentile", XLabel: "percentile", YLabel: "latency (ms)", XTicks: percentileTicks(r),
			Lines: []PlotLine{percentileLine(r, "with token", "read_latency_ms_sticky"), percentileLine(r, "without token", "read_latency_ms_plain")}}}}
	}
	return s
}
