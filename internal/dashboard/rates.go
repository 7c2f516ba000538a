package dashboard

// Rates are what happened between two consecutive snapshots: counters
// turned into per-second rates and shares of requests, plus the gauges
// the later snapshot carried (latency, lag).
type Rates struct {
	TimeMs     int64         `json:"time_ms"`     // the later snapshot's time
	IntervalMs int64         `json:"interval_ms"` // time between the two snapshots
	Total      TierRates     `json:"total"`       // all regions together
	Regions    []RegionRates `json:"regions"`
	Links      []LinkRates   `json:"links"`
}

// TierRates say where the interval's requests were served and what it
// cost the origin. A ratio is the share of the interval's requests (0
// to 1); it is nil (JSON null) when there were no requests, so a chart
// shows a gap rather than a false zero.
type TierRates struct {
	RequestsPerS    float64  `json:"requests_per_s"`
	L1Ratio         *float64 `json:"l1_ratio"`
	L2Ratio         *float64 `json:"l2_ratio"`
	L3Ratio         *float64 `json:"l3_ratio"`
	OriginRatio     *float64 `json:"origin_ratio"`
	OriginLoadsPerS float64  `json:"origin_loads_per_s"`
	StaleReadsPerS  float64  `json:"stale_reads_per_s"`
	ErrorsPerS      float64  `json:"errors_per_s"`
	RYWViolations   uint64   `json:"ryw_violations"` // in the interval
}

// RegionRates are one region's rates and its latency gauges.
type RegionRates struct {
	Name string `json:"name"`
	TierRates
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
}

// LinkRates are one link direction's gauges.
type LinkRates struct {
	From      string  `json:"from"`
	To        string  `json:"to"`
	Connected bool    `json:"connected"`
	LagP50Ms  float64 `json:"lag_p50_ms"`
	LagP99Ms  float64 `json:"lag_p99_ms"`
	Backlog   uint64  `json:"backlog"`
}

// counters are the cumulative counters of one region, or their deltas.
type counters struct {
	requests, l1, l2, l3, origin, stale, errors, rywViolations uint64
}

func countersOf(r RegionState) counters {
	return counters{
		requests: r.Requests, l1: r.L1Hits, l2: r.L2Hits, l3: r.L3Hits,
		origin: r.OriginLoads, stale: r.StaleReads, errors: r.Errors,
		rywViolations: r.RYWViolations,
	}
}

// delta is cur - prev per counter. A counter that went down was reset
// (a restarted process counts from zero again), so, as Prometheus does,
// its whole current value is the increase.
func delta(prev, cur counters) counters {
	d := func(p, c uint64) uint64 {
		if c < p {
			return c
		}
		return c - p
	}
	return counters{
		requests: d(prev.requests, cur.requests), l1: d(prev.l1, cur.l1),
		l2: d(prev.l2, cur.l2), l3: d(prev.l3, cur.l3),
		origin: d(prev.origin, cur.origin), stale: d(prev.stale, cur.stale),
		errors:        d(prev.errors, cur.errors),
		rywViolations: d(prev.rywViolations, cur.rywViolations),
	}
}

func (c counters) add(o counters) counters {
	return counters{
		requests: c.requests + o.requests, l1: c.l1 + o.l1, l2: c.l2 + o.l2,
		l3: c.l3 + o.l3, origin: c.origin + o.origin, stale: c.stale + o.stale,
		errors: c.errors + o.errors, rywViolations: c.rywViolations + o.rywViolations,
	}
}

// tierRates turns an interval's deltas into rates over seconds.
func (c counters) tierRates(seconds float64) TierRates {
	t := TierRates{
		RequestsPerS:    float64(c.requests) / seconds,
		OriginLoadsPerS: float64(c.origin) / seconds,
		StaleReadsPerS:  float64(c.stale) / seconds,
		ErrorsPerS:      float64(c.errors) / seconds,
		RYWViolations:   c.rywViolations,
	}
	if c.requests > 0 {
		ratio := func(n uint64) *float64 {
			r := float64(n) / float64(c.requests)
			return &r
		}
		t.L1Ratio, t.L2Ratio, t.L3Ratio = ratio(c.l1), ratio(c.l2), ratio(c.l3)
		t.OriginRatio = ratio(c.origin)
	}
	return t
}

// deriveRates computes the rates between two snapshots. ok is false when
// the snapshots give no interval to divide by (the later one is not
// later). A region missing from prev (it just appeared) has no rates
// yet, so it is left out, and so is it from the total.
func deriveRates(prev, cur Snapshot) (r Rates, ok bool) {
	intervalMs := cur.TimeMs - prev.TimeMs
	if intervalMs <= 0 {
		return Rates{}, false
	}
	seconds := float64(intervalMs) / 1000
	before := make(map[string]counters, len(prev.Regions))
	for _, reg := range prev.Regions {
		before[reg.Name] = countersOf(reg)
	}
	r = Rates{TimeMs: cur.TimeMs, IntervalMs: intervalMs,
		Regions: make([]RegionRates, 0, len(cur.Regions)),
		Links:   make([]LinkRates, 0, len(cur.Links))}
	var total counters
	for _, reg := range cur.Regions {
		p, seen := before[reg.Name]
		if !seen {
			continue
		}
		d := delta(p, countersOf(reg))
		total = total.add(d)
		r.Regions = append(r.Regions, RegionRates{
			Name: reg.Name, TierRates: d.tierRates(seconds),
			P50Ms: reg.P50Ms, P99Ms: reg.P99Ms,
		})
	}
	r.Total = total.tierRates(seconds)
	for _, l := range cur.Links {
		r.Links = append(r.Links, LinkRates{
			From: l.From, To: l.To, Connected: l.Connected,
			LagP50Ms: l.LagP50Ms, LagP99Ms: l.LagP99Ms, Backlog: l.Backlog,
		})
	}
	return r, true
}
