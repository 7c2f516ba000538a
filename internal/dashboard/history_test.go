package dashboard

import (
	"encoding/json"
	"math"
	"testing"
)

func TestRingKeepsTheNewestOldestFirst(t *testing.T) {
	r := newRing(3)
	if got := r.since(0); len(got) != 0 {
		t.Fatalf("empty ring returned %d samples", len(got))
	}
	for i := int64(1); i <= 5; i++ {
		r.add(Rates{TimeMs: i * 1000})
	}
	got := r.since(0)
	if len(got) != 3 || got[0].TimeMs != 3000 || got[1].TimeMs != 4000 || got[2].TimeMs != 5000 {
		t.Fatalf("since(0) = %v, want times 3000, 4000, 5000", times(got))
	}
	got = r.since(4000)
	if len(got) != 2 || got[0].TimeMs != 4000 {
		t.Errorf("since(4000) = %v, want 4000, 5000", times(got))
	}
}

func times(rs []Rates) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.TimeMs
	}
	return out
}

func TestSeriesEncodesGapsAsNull(t *testing.T) {
	b, err := json.Marshal(Series{1, math.NaN(), 0.25, math.Inf(1)})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "[1,null,0.25,null]" {
		t.Errorf("got %s", b)
	}
	var back []*float64
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("not valid JSON: %v", err)
	}
}

func TestBuildHistoryAlignsRegionsThatComeAndGo(t *testing.T) {
	one := 1.0
	samples := []Rates{
		{TimeMs: 1000, Total: TierRates{RequestsPerS: 10, L1Ratio: &one},
			Regions: []RegionRates{{Name: "eu", P99Ms: 5}}},
		{TimeMs: 2000, Total: TierRates{RequestsPerS: 20}, // no requests ratio: null
			Regions: []RegionRates{{Name: "eu", P99Ms: 6}, {Name: "us", P99Ms: 9}},
			Links:   []LinkRates{{From: "eu", To: "us", LagP99Ms: 80}}},
		{TimeMs: 3000, Total: TierRates{RequestsPerS: 30},
			Regions: []RegionRates{{Name: "us", P99Ms: 8}}},
	}
	h := buildHistory(1000, samples)
	if len(h.TimeMs) != 3 || h.TimeMs[2] != 3000 {
		t.Fatalf("time_ms %v", h.TimeMs)
	}
	if len(h.Regions) != 2 || h.Regions[0].Name != "eu" || h.Regions[1].Name != "us" {
		t.Fatalf("regions %+v, want eu then us", h.Regions)
	}
	wantSeries(t, "eu p99", h.Regions[0].P99Ms, 5, 6, math.NaN())
	wantSeries(t, "us p99", h.Regions[1].P99Ms, math.NaN(), 9, 8)
	wantSeries(t, "total requests/s", h.Total.RequestsPerS, 10, 20, 30)
	wantSeries(t, "total L1 ratio", h.Total.L1Ratio, 1, math.NaN(), math.NaN())
	if len(h.Links) != 1 {
		t.Fatalf("links %+v", h.Links)
	}
	wantSeries(t, "eu→us lag p99", h.Links[0].LagP99Ms, math.NaN(), 80, math.NaN())
}

func wantSeries(t *testing.T, name string, got Series, want ...float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s has %d values, want %d", name, len(got), len(want))
		return
	}
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(got[i]) || (!math.IsNaN(want[i]) && got[i] != want[i]) {
			t.Errorf("%s = %v, want %v", name, got, want)
			return
		}
	}
}
