package l1

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
)

// sampleEvery is how often the system clock is sampled for expiry checks.
// Expiries are in milliseconds, so a finer period would buy nothing.
const sampleEvery = time.Millisecond

// sampler keeps a recent reading of a clock in an atomic, so a hit compares
// expiries against a load instead of a clock read. Measured on the 2-core
// VM this package was built on, a time.Now between random reads of a 100 MB
// cache costs about as much as the read itself (~0.5 µs: the vDSO clock
// pages fall out of the TLB and caches), which alone doubled the time of a
// hit.
type sampler struct {
	// nowMillis is the latest reading in unix milliseconds; 0 once the
	// sampler has stopped, telling readers to ask the clock themselves.
	nowMillis atomic.Int64
	// pad keeps the reading, read by every hit, off the line of the
	// fields below.
	_ [56]byte

	clk       clock.Clock
	ticks     <-chan time.Time
	stopTicks func()
	stop      chan struct{} // closed once by close
	done      chan struct{} // closed by the goroutine as it returns
	closeOnce sync.Once
}

// startSampler samples clk now and then at every tick until close. ticks
// and stopTicks come from a time.Ticker in production and from the test in
// tests.
func startSampler(clk clock.Clock, ticks <-chan time.Time, stopTicks func()) *sampler {
	s := &sampler{
		clk:       clk,
		ticks:     ticks,
		stopTicks: stopTicks,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	s.nowMillis.Store(clock.NowMillis(clk))
	go s.run()
	return s
}

// startSystemSampler samples clk, the system clock, every sampleEvery.
func startSystemSampler(clk clock.Clock) *sampler {
	t := time.NewTicker(sampleEvery)
	return startSampler(clk, t.C, t.Stop)
}

func (s *sampler) run() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case <-s.ticks:
			s.nowMillis.Store(clock.NowMillis(s.clk))
		}
	}
}

// close stops the goroutine and waits for it; later reads fall back to the
// clock. It may be called more than once.
func (s *sampler) close() {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		s.stopTicks()
		s.nowMillis.Store(0)
	})
}
