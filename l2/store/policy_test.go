package store

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// Hit-ratio comparison of the eviction policies on synthetic traces, as a
// cache-aside client would drive the store: Get, and Set on a miss.

const (
	traceKeys     = 100_000 // key universe
	traceCacheCap = traceKeys / 10
	traceValueLen = 100
	traceKeyLen   = 10 // "k%09d"
)

// zipf draws ranks 0..n-1 with P(rank k) ∝ 1/(k+1)^s. math/rand's Zipf
// needs s > 1; this one takes any s by inverting the cumulative weights.
type zipf struct {
	cdf []float64
	r   *rand.Rand
}

func newZipf(r *rand.Rand, s float64, n int) *zipf {
	z := &zipf{cdf: make([]float64, n), r: r}
	sum := 0.0
	for k := range n {
		sum += math.Pow(float64(k+1), -s)
		z.cdf[k] = sum
	}
	for k := range z.cdf {
		z.cdf[k] /= sum
	}
	return z
}

func (z *zipf) next() int { return sort.SearchFloat64s(z.cdf, z.r.Float64()) }

// zipfTrace is n requests over the key universe with Zipf(1.0) popularity;
// the popular ranks are scattered over the key ids.
func zipfTrace(seed uint64, n int) []uint32 {
	r := rand.New(rand.NewPCG(seed, 1))
	perm := r.Perm(traceKeys)
	z := newZipf(r, 1.0, traceKeys)
	trace := make([]uint32, n)
	for i := range trace {
		trace[i] = uint32(perm[z.next()])
	}
	return trace
}

// scanTrace is zipfTrace with a sequential scan of scanLen keys that are
// never requested again after every `every` requests.
func scanTrace(seed uint64, n, every, scanLen int) []uint32 {
	base := zipfTrace(seed, n)
	trace := make([]uint32, 0, n+n/every*scanLen)
	next := uint32(traceKeys) // one-time keys lie outside the universe
	for i, k := range base {
		trace = append(trace, k)
		if (i+1)%every == 0 {
			for range scanLen {
				trace = append(trace, next)
				next++
			}
		}
	}
	return trace
}

// hitRatio replays trace against a store with room for capacity entries.
func hitRatio(t testing.TB, p Policy, capacity int, trace []uint32) float64 {
	s, _ := newTestStore(t, Config{Policy: p, MaxBytes: int64(capacity) * charge(traceKeyLen, traceValueLen)})
	value := make([]byte, traceValueLen)
	key := make([]byte, 0, 10)
	hits := 0
	for _, k := range trace {
		key = appendTraceKey(key[:0], k)
		if _, ok := s.Get(key); ok {
			hits++
			continue
		}
		if err := s.Set(key, Item{Value: value}); err != nil {
			t.Fatal(err)
		}
	}
	return float64(hits) / float64(len(trace))
}

// appendTraceKey appends "k" and id in traceKeyLen-1 decimal digits.
func appendTraceKey(b []byte, id uint32) []byte {
	b = append(b, "k000000000"...)
	for i := len(b) - 1; id > 0; i-- {
		b[i] = byte('0' + id%10)
		id /= 10
	}
	return b
}

// TestPolicyHitRatios measures each policy on a Zipf(1.0) trace and on the
// same trace polluted by scans, with room for 10% and 1% of the keys, and
// checks that the default policy does at least as well as LRU on each.
func TestPolicyHitRatios(t *testing.T) {
	n, capacities := 400_000, []int{traceCacheCap, traceCacheCap / 10}
	if testing.Short() || raceEnabled { // the race detector slows the replay tenfold
		n, capacities = 100_000, capacities[:1]
	}
	traces := []struct {
		name  string
		trace []uint32
	}{
		{"zipf1.0", zipfTrace(42, n)},
		// Four scans, each of twice the larger cache.
		{"zipf1.0+scans", scanTrace(42, n, n/4, 2*traceCacheCap)},
	}
	def := Config{}.policy()
	t.Logf("%-14s %6s %8s  %7s %7s  (default %s)", "trace", "cache", "requests", "s3fifo", "lru", def)
	for _, tr := range traces {
		for _, capacity := range capacities {
			ratios := map[Policy]float64{}
			for _, p := range policies {
				ratios[p] = hitRatio(t, p, capacity, tr.trace)
			}
			t.Logf("%-14s %5.0f%% %8d  %7.4f %7.4f", tr.name, 100*float64(capacity)/traceKeys, len(tr.trace),
				ratios[PolicyS3FIFO], ratios[PolicyLRU])
			if ratios[def] < ratios[PolicyLRU] {
				t.Errorf("%s, cache %d: the default policy's hit ratio %.4f is below LRU's %.4f",
					tr.name, capacity, ratios[def], ratios[PolicyLRU])
			}
		}
	}
}
