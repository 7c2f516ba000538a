package dashboard

import (
	"math"
	"testing"
)

func approx(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func approxPtr(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = null, want %v", what, want)
		return
	}
	approx(t, what, *got, want)
}

func TestDeriveRatesFromTwoSnapshots(t *testing.T) {
	prev := Snapshot{TimeMs: 10_000, Regions: []RegionState{
		region("eu", 1000, 500, 200, 100, 50),
		region("us", 400, 100, 100, 100, 20),
	}}
	eu := region("eu", 3000, 1700, 600, 300, 90) // +2000 requests over 2 s
	eu.P50Ms, eu.P99Ms = 1.5, 12
	eu.StaleReads, eu.Errors, eu.RYWViolations = 8, 4, 1
	us := region("us", 1400, 600, 200, 100, 120) // +1000 requests
	cur := Snapshot{TimeMs: 12_000,
		Regions: []RegionState{eu, us, region("ap", 999, 1, 1, 1, 1)}, // ap is new: no rates yet
		Links:   []LinkState{{From: "eu", To: "us", Connected: true, LagP50Ms: 40, LagP99Ms: 75, Backlog: 3}},
	}

	r, ok := deriveRates(prev, cur)
	if !ok {
		t.Fatal("deriveRates refused two snapshots 2 s apart")
	}
	if r.TimeMs != 12_000 || r.IntervalMs != 2000 {
		t.Errorf("time %d interval %d, want 12000 and 2000", r.TimeMs, r.IntervalMs)
	}
	if len(r.Regions) != 2 || r.Regions[0].Name != "eu" || r.Regions[1].Name != "us" {
		t.Fatalf("regions %+v, want eu and us only (ap has no previous snapshot)", r.Regions)
	}
	e := r.Regions[0]
	approx(t, "eu requests/s", e.RequestsPerS, 1000)
	approxPtr(t, "eu L1 ratio", e.L1Ratio, 1200.0/2000)
	approxPtr(t, "eu L2 ratio", e.L2Ratio, 400.0/2000)
	approxPtr(t, "eu L3 ratio", e.L3Ratio, 200.0/2000)
	approxPtr(t, "eu origin ratio", e.OriginRatio, 40.0/2000)
	approx(t, "eu origin loads/s", e.OriginLoadsPerS, 20)
	approx(t, "eu stale reads/s", e.StaleReadsPerS, 4)
	approx(t, "eu errors/s", e.ErrorsPerS, 2)
	if e.RYWViolations != 1 {
		t.Errorf("eu RYW violations in the interval = %d, want 1", e.RYWViolations)
	}
	approx(t, "eu p50", e.P50Ms, 1.5)
	approx(t, "eu p99", e.P99Ms, 12)

	u := r.Regions[1]
	approx(t, "us requests/s", u.RequestsPerS, 500)
	approxPtr(t, "us L1 ratio", u.L1Ratio, 500.0/1000)
	approx(t, "us origin loads/s", u.OriginLoadsPerS, 50)

	// The total adds the regions' deltas: 3000 requests, 1700 L1 hits.
	approx(t, "total requests/s", r.Total.RequestsPerS, 1500)
	approxPtr(t, "total L1 ratio", r.Total.L1Ratio, 1700.0/3000)
	approxPtr(t, "total L2 ratio", r.Total.L2Ratio, 500.0/3000)
	approxPtr(t, "total L3 ratio", r.Total.L3Ratio, 200.0/3000)
	approx(t, "total origin loads/s", r.Total.OriginLoadsPerS, 70)

	if len(r.Links) != 1 || r.Links[0] != (LinkRates{From: "eu", To: "us", Connected: true, LagP50Ms: 40, LagP99Ms: 75, Backlog: 3}) {
		t.Errorf("links %+v, want the snapshot's one link", r.Links)
	}
}

func TestDeriveRatesNoRequestsGivesNullRatios(t *testing.T) {
	s := Snapshot{TimeMs: 1000, Regions: []RegionState{region("eu", 10, 5, 0, 0, 5)}}
	later := s
	later.TimeMs = 2000
	r, ok := deriveRates(s, later)
	if !ok {
		t.Fatal("refused")
	}
	if r.Total.L1Ratio != nil || r.Regions[0].L1Ratio != nil || r.Regions[0].OriginRatio != nil {
		t.Errorf("ratios with no requests in the interval should be null, got total %v region %v", r.Total.L1Ratio, r.Regions[0].L1Ratio)
	}
	approx(t, "requests/s", r.Total.RequestsPerS, 0)
}

func TestDeriveRatesCounterResetCountsFromZero(t *testing.T) {
	prev := Snapshot{TimeMs: 1, Regions: []RegionState{region("eu", 5000, 4000, 0, 0, 100)}}
	cur := Snapshot{TimeMs: 1001, Regions: []RegionState{region("eu", 300, 200, 0, 0, 30)}}
	r, _ := deriveRates(prev, cur)
	approx(t, "requests/s after a reset", r.Regions[0].RequestsPerS, 300)
	approxPtr(t, "L1 ratio after a reset", r.Regions[0].L1Ratio, 200.0/300)
	approx(t, "origin/s after a reset", r.Regions[0].OriginLoadsPerS, 30)
}

func TestDeriveRatesNeedsTimeToAdvance(t *testing.T) {
	s := Snapshot{TimeMs: 5000, Regions: []RegionState{region("eu", 1, 1, 0, 0, 0)}}
	if _, ok := deriveRates(s, s); ok {
		t.Error("two snapshots at the same instant gave rates")
	}
	earlier := s
	earlier.TimeMs = 4000
	if _, ok := deriveRates(s, earlier); ok {
		t.Error("a snapshot earlier than the previous one gave rates")
	}
}
