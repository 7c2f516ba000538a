package demo

import (
	"testing"
	"time"
)

func TestLatencyBucketsBoundTheirValues(t *testing.T) {
	prev := -1
	for _, d := range []time.Duration{0, time.Microsecond, 7 * time.Microsecond, 100 * time.Microsecond, time.Millisecond, 3 * time.Millisecond, 250 * time.Millisecond, 2 * time.Second} {
		b := bucketOf(d)
		if b < prev {
			t.Fatalf("bucket of %v (%d) below the previous one (%d)", d, b, prev)
		}
		prev = b
		if up := upper(b); up < d || (b > 0 && upper(b-1) >= d) {
			t.Fatalf("%v in bucket %d whose range ends at %v (previous ends at %v)", d, b, up, upper(b-1))
		}
		if d > 100*time.Microsecond && float64(upper(b)) > 1.15*float64(d) {
			t.Fatalf("%v rounds up to %v: buckets too coarse", d, upper(b))
		}
	}
}

func TestLatencyQuantilesOfAnInterval(t *testing.T) {
	var l latencies
	for range 50 {
		l.record(time.Hour / 1000) // noise before the interval
	}
	before := l.snapshot()
	for range 99 {
		l.record(time.Millisecond)
	}
	l.record(100 * time.Millisecond)
	h := l.snapshot().since(before)
	if p50 := h.quantile(0.5); p50 < 1 || p50 > 1.15 {
		t.Fatalf("p50 %v ms, want about 1", p50)
	}
	if p99 := h.quantile(0.99); p99 < 1 || p99 > 1.15 {
		t.Fatalf("p99 %v ms, want about 1 (one sample in 100 is slow)", p99)
	}
	if pmax := h.quantile(1); pmax < 100 || pmax > 115 {
		t.Fatalf("max %v ms, want about 100", pmax)
	}
	if (histogram{}).quantile(0.5) != 0 {
		t.Fatal("empty histogram has a median")
	}
}
