package l1

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tiercache/tiercache/internal/clock"
)

func TestSamplerFollowsTicks(t *testing.T) {
	fake := clock.NewFake(epoch)
	ticks := make(chan time.Time) // unbuffered: a send returns once the sampler took it
	stopped := false
	s := startSampler(fake, ticks, func() { stopped = true })

	if got := s.nowMillis.Load(); got != epoch.UnixMilli() {
		t.Fatalf("initial sample %d, want %d", got, epoch.UnixMilli())
	}
	fake.Advance(5 * time.Millisecond)
	if got := s.nowMillis.Load(); got != epoch.UnixMilli() {
		t.Fatalf("sample moved without a tick: %d", got)
	}
	ticks <- time.Time{}
	ticks <- time.Time{} // the first tick's store is done once this one is taken
	if got, want := s.nowMillis.Load(), ms(5*time.Millisecond); got != want {
		t.Fatalf("sample after tick %d, want %d", got, want)
	}

	s.close()
	s.close() // idempotent
	if !stopped || s.nowMillis.Load() != 0 {
		t.Fatalf("after close: ticker stopped %v, sample %d; want true, 0", stopped, s.nowMillis.Load())
	}
}

// TestSystemClockCache checks the sampled path end to end: a cache on the
// system clock classifies entries by expiry, and Close stops its goroutine.
// The expiries are an hour from now, far beyond the sample's lag.
func TestSystemClockCache(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c.sampler == nil {
		t.Fatal("no sampler on the system clock")
	}
	now := time.Now()
	at := func(d time.Duration) int64 { return now.Add(d).UnixMilli() }
	for _, tt := range []struct {
		key  string
		meta Meta
		want Status
	}{
		{"fresh", Meta{SoftExpireAt: at(time.Hour), HardExpireAt: at(2 * time.Hour)}, Hit},
		{"stale", Meta{SoftExpireAt: at(-time.Hour), HardExpireAt: at(time.Hour)}, Stale},
		{"gone", Meta{SoftExpireAt: at(-2 * time.Hour), HardExpireAt: at(-time.Hour)}, Miss},
	} {
		mustSet(t, c, []byte(tt.key), "v", tt.meta)
		if _, _, got := c.Get(nil, []byte(tt.key)); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.key, got, tt.want)
		}
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t)
	// Still usable after Close, reading the clock directly.
	mustSet(t, c, []byte("stale"), "v", Meta{SoftExpireAt: at(-time.Hour), HardExpireAt: at(time.Hour)})
	if _, _, got := c.Get(nil, []byte("stale")); got != Stale {
		t.Errorf("after Close: %v, want stale", got)
	}
}
