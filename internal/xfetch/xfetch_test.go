package xfetch

import (
	"math"
	"testing"
	"time"
)

func TestShouldRefreshEdges(t *testing.T) {
	for _, tc := range []struct {
		name        string
		now, expiry int64
		delta       time.Duration
		beta, u     float64
		want        bool
	}{
		{"never expires", 100, 0, time.Second, 1, 0.01, false},
		{"past expiry", 200, 100, 0, 0, 1, true},
		{"at expiry", 100, 100, 0, 0, 1, true},
		{"beta off", 99, 100, time.Second, 0, 0.001, false},
		{"no delta", 99, 100, 0, 1, 0.001, false},
		{"u=1 never early", 99, 100, time.Hour, 1, 1, false},
		// gap = -100 ms * 1 * ln(0.5) = 69.3 ms
		{"inside gap", 1000 - 69, 1000, 100 * time.Millisecond, 1, 0.5, true},
		{"outside gap", 1000 - 70, 1000, 100 * time.Millisecond, 1, 0.5, false},
		// beta 2 doubles the gap
		{"beta doubles", 1000 - 138, 1000, 100 * time.Millisecond, 2, 0.5, true},
		{"sub-ms delta", 999, 1000, 500 * time.Microsecond, 1, math.Exp(-3), true},
	} {
		if got := ShouldRefresh(tc.now, tc.expiry, tc.delta, tc.beta, tc.u); got != tc.want {
			t.Errorf("%s: got %v want %v", tc.name, got, tc.want)
		}
	}
}

// TestRefreshProbability checks the distribution: at a distance x before
// expiry the chance of refreshing is exp(-x/(delta*beta)).
func TestRefreshProbability(t *testing.T) {
	const n = 20000
	delta := 100 * time.Millisecond
	hits := 0
	for range n {
		if ShouldRefresh(900, 1000, delta, 1, Draw()) {
			hits++
		}
	}
	want := math.Exp(-1) // x = 100 ms = delta
	if got := float64(hits) / n; math.Abs(got-want) > 0.02 {
		t.Fatalf("refresh share %.3f, want %.3f", got, want)
	}
}

func TestDeltaEWMA(t *testing.T) {
	var d Delta
	if d.Get() != 0 {
		t.Fatal("zero Delta has an estimate")
	}
	d.Observe(100 * time.Millisecond)
	if d.Get() != 100*time.Millisecond {
		t.Fatalf("first sample: %v", d.Get())
	}
	d.Observe(200 * time.Millisecond)
	if d.Get() != 125*time.Millisecond {
		t.Fatalf("after 200ms: %v", d.Get())
	}
}
