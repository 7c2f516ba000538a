package dashboard

import (
	"math"
	"strconv"
)

// ring keeps the most recent Rates, oldest overwritten first. It has no
// lock of its own: the Server's mutex guards it.
type ring struct {
	buf  []Rates
	next int // where the next sample goes
	full bool
}

func newRing(capacity int) *ring { return &ring{buf: make([]Rates, capacity)} }

func (r *ring) add(s Rates) {
	r.buf[r.next] = s
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

// since returns the samples at or after minTimeMs, oldest first, in a
// new slice (the Rates share their inner slices with the ring, which
// never modifies a stored sample).
func (r *ring) since(minTimeMs int64) []Rates {
	var out []Rates
	visit := func(s Rates) {
		if s.TimeMs >= minTimeMs {
			out = append(out, s)
		}
	}
	if r.full {
		for _, s := range r.buf[r.next:] {
			visit(s)
		}
	}
	for _, s := range r.buf[:r.next] {
		visit(s)
	}
	return out
}

// Series is one value per sample, aligned with History.TimeMs. A sample
// that has no value (a region or link absent then, a ratio with no
// requests) is NaN, encoded as JSON null.
type Series []float64

// MarshalJSON writes NaN and infinities as null, which encoding/json
// would refuse.
func (s Series) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(s)*8)
	b = append(b, '[')
	for i, v := range s {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, v, 'g', 6, 64)
	}
	return append(b, ']'), nil
}

func newSeries(n int) Series {
	s := make(Series, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

// History is the time series the page's charts draw, column by column.
type History struct {
	IntervalMs int64          `json:"interval_ms"` // the sampling interval
	TimeMs     []int64        `json:"time_ms"`
	Total      TierSeries     `json:"total"`
	Regions    []RegionSeries `json:"regions"` // in order of first appearance
	Links      []LinkSeries   `json:"links"`   // in order of first appearance
}

// TierSeries are TierRates over time.
type TierSeries struct {
	RequestsPerS    Series `json:"requests_per_s"`
	L1Ratio         Series `json:"l1_ratio"`
	L2Ratio         Series `json:"l2_ratio"`
	L3Ratio         Series `json:"l3_ratio"`
	OriginRatio     Series `json:"origin_ratio"`
	OriginLoadsPerS Series `json:"origin_loads_per_s"`
	StaleReadsPerS  Series `json:"stale_reads_per_s"`
	ErrorsPerS      Series `json:"errors_per_s"`
}

// RegionSeries are one region's rates and latency over time.
type RegionSeries struct {
	Name string `json:"name"`
	TierSeries
	P50Ms Series `json:"p50_ms"`
	P99Ms Series `json:"p99_ms"`
}

// LinkSeries are one link direction's lag and backlog over time.
type LinkSeries struct {
	From     string `json:"from"`
	To       string `json:"to"`
	LagP50Ms Series `json:"lag_p50_ms"`
	LagP99Ms Series `json:"lag_p99_ms"`
	Backlog  Series `json:"backlog"`
}

func newTierSeries(n int) TierSeries {
	return TierSeries{
		RequestsPerS: newSeries(n), L1Ratio: newSeries(n), L2Ratio: newSeries(n),
		L3Ratio: newSeries(n), OriginRatio: newSeries(n), OriginLoadsPerS: newSeries(n),
		StaleReadsPerS: newSeries(n), ErrorsPerS: newSeries(n),
	}
}

func (ts TierSeries) set(i int, t TierRates) {
	orNaN := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	ts.RequestsPerS[i] = t.RequestsPerS
	ts.L1Ratio[i] = orNaN(t.L1Ratio)
	ts.L2Ratio[i] = orNaN(t.L2Ratio)
	ts.L3Ratio[i] = orNaN(t.L3Ratio)
	ts.OriginRatio[i] = orNaN(t.OriginRatio)
	ts.OriginLoadsPerS[i] = t.OriginLoadsPerS
	ts.StaleReadsPerS[i] = t.StaleReadsPerS
	ts.ErrorsPerS[i] = t.ErrorsPerS
}

// buildHistory turns samples (oldest first) into columns.
func buildHistory(intervalMs int64, samples []Rates) History {
	n := len(samples)
	h := History{IntervalMs: intervalMs, TimeMs: make([]int64, n), Total: newTierSeries(n),
		Regions: []RegionSeries{}, Links: []LinkSeries{}}
	regionAt := map[string]int{}
	linkAt := map[[2]string]int{}
	for i, s := range samples {
		h.TimeMs[i] = s.TimeMs
		h.Total.set(i, s.Total)
		for _, r := range s.Regions {
			j, ok := regionAt[r.Name]
			if !ok {
				j = len(h.Regions)
				regionAt[r.Name] = j
				h.Regions = append(h.Regions, RegionSeries{Name: r.Name,
					TierSeries: newTierSeries(n), P50Ms: newSeries(n), P99Ms: newSeries(n)})
			}
			rs := h.Regions[j]
			rs.set(i, r.TierRates)
			rs.P50Ms[i], rs.P99Ms[i] = r.P50Ms, r.P99Ms
		}
		for _, l := range s.Links {
			key := [2]string{l.From, l.To}
			j, ok := linkAt[key]
			if !ok {
				j = len(h.Links)
				linkAt[key] = j
				h.Links = append(h.Links, LinkSeries{From: l.From, To: l.To,
					LagP50Ms: newSeries(n), LagP99Ms: newSeries(n), Backlog: newSeries(n)})
			}
			ls := h.Links[j]
			ls.LagP50Ms[i], ls.LagP99Ms[i], ls.Backlog[i] = l.LagP50Ms, l.LagP99Ms, float64(l.Backlog)
		}
	}
	return h
}
