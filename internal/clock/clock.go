// Package clock lets every time-dependent part of tiercache (TTLs, leases,
// sticky windows, failure detectors) take its notion of "now" from an
// injectable source, so tests move time by hand instead of sleeping.
package clock

import (
	"sync"
	"time"
)

// Clock tells the current time. Implementations are safe for concurrent use.
type Clock interface {
	Now() time.Time
}

// System is the wall clock.
var System Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Or returns c, or System when c is nil, so a zero-valued config field means
// the wall clock.
func Or(c Clock) Clock {
	if c == nil {
		return System
	}
	return c
}

// NowMillis returns c's current time in unix milliseconds, the unit every
// expiry and version in tiercache is kept in.
func NowMillis(c Clock) int64 { return c.Now().UnixMilli() }

// Fake is a manually advanced clock for deterministic tests.
type Fake struct {
	mu  sync.Mutex // protects now
	now time.Time
}

// NewFake returns a Fake clock set to start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now returns the fake's current time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the fake clock forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// Set moves the fake clock to t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.now = t
	f.mu.Unlock()
}
