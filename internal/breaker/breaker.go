// Package breaker is the per-node circuit breaker of the tier client: after
// a run of failures it opens, and calls fail fast instead of queueing on a
// node that is down; after a cooldown it lets one probe through and closes
// again when the probe succeeds.
//
// Why not sony/gobreaker: its clock cannot be injected (our tests move time
// by hand), and it takes a mutex on every call; here a closed breaker costs
// one atomic load per call and one atomic store per success after a
// failure. Cooldowns are jittered so the clients of a region do not all
// probe a recovering node in the same millisecond, and double after every
// failed probe up to a cap.
package breaker

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
)

// Errors.
var (
	// ErrOpen is returned by Allow while the breaker is open.
	ErrOpen = errors.New("breaker: open")
	// ErrInvalidConfig is wrapped by every Config.Validate error.
	ErrInvalidConfig = errors.New("breaker: invalid config")
)

// Defaults used where a Config field is zero.
const (
	DefaultFailures    = 5
	DefaultCooldown    = 500 * time.Millisecond
	DefaultMaxCooldown = 10 * time.Second
)

// Config tunes a Breaker. The zero value means the documented defaults.
type Config struct {
	// Failures is the number of consecutive failures that opens the
	// breaker (default 5).
	Failures int
	// Cooldown is how long the breaker stays open before a probe
	// (default 500 ms), jittered by ±20%.
	Cooldown time.Duration
	// MaxCooldown caps the cooldown, which doubles after each failed
	// probe (default 10 s).
	MaxCooldown time.Duration
	// Clock is where cooldowns read the time (default the wall clock).
	Clock clock.Clock
}

// Validate reports the first bad field, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.Failures < 0:
		return fmt.Errorf("%w: failures is negative (%d)", ErrInvalidConfig, c.Failures)
	case c.Cooldown < 0:
		return fmt.Errorf("%w: cooldown is negative (%v)", ErrInvalidConfig, c.Cooldown)
	case c.MaxCooldown < 0:
		return fmt.Errorf("%w: max cooldown is negative (%v)", ErrInvalidConfig, c.MaxCooldown)
	case c.MaxCooldown > 0 && c.MaxCooldown < c.withDefaults().Cooldown:
		return fmt.Errorf("%w: max cooldown %v is under cooldown %v", ErrInvalidConfig, c.MaxCooldown, c.withDefaults().Cooldown)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Failures == 0 {
		c.Failures = DefaultFailures
	}
	if c.Cooldown == 0 {
		c.Cooldown = DefaultCooldown
	}
	if c.MaxCooldown == 0 {
		c.MaxCooldown = max(DefaultMaxCooldown, c.Cooldown)
	}
	c.Clock = clock.Or(c.Clock)
	return c
}

// State is where a breaker stands.
type State int32

// The states.
const (
	Closed   State = iota // calls go through
	Open                  // calls fail fast
	HalfOpen              // one probe is through; the rest fail fast
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Breaker guards calls to one node. It is safe for concurrent use. Every
// call that Allow let through must be reported with Done.
type Breaker struct {
	cfg Config

	state    atomic.Int32 // a State; read without the lock on every call
	failures atomic.Int32 // consecutive failures while closed

	mu        sync.Mutex // protects the fields below and state changes
	openUntil time.Time
	probeAt   time.Time // when the outstanding probe was let through
	cooldown  time.Duration
	trips     uint64
}

// New returns a closed breaker.
func New(cfg Config) (*Breaker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Breaker{cfg: cfg, cooldown: cfg.Cooldown}, nil
}

// State returns the current state.
func (b *Breaker) State() State { return State(b.state.Load()) }

// Trips returns how many times the breaker has opened.
func (b *Breaker) Trips() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.trips
}

// Allow asks to make a call. It returns ErrOpen to fail fast, or nil and
// whether this call is the probe of a half-open breaker.
func (b *Breaker) Allow() (probe bool, err error) {
	if State(b.state.Load()) == Closed {
		return false, nil
	}
	now := b.cfg.Clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	switch State(b.state.Load()) {
	case Closed:
		return false, nil
	case Open:
		if now.Before(b.openUntil) {
			return false, ErrOpen
		}
	case HalfOpen:
		// A probe whose caller never reported is presumed lost after a
		// cooldown, so the breaker cannot stay half-open for ever.
		if now.Sub(b.probeAt) < b.cooldown {
			return false, ErrOpen
		}
	}
	b.state.Store(int32(HalfOpen))
	b.probeAt = now
	return true, nil
}

// Done reports the outcome of a call Allow let through.
func (b *Breaker) Done(probe, ok bool) {
	if ok {
		if !probe && State(b.state.Load()) == Closed {
			if b.failures.Load() != 0 {
				b.failures.Store(0)
			}
			return
		}
		b.mu.Lock()
		b.state.Store(int32(Closed))
		b.failures.Store(0)
		b.cooldown = b.cfg.Cooldown
		b.mu.Unlock()
		return
	}
	if !probe {
		if n := b.failures.Add(1); n < int32(b.cfg.Failures) || State(b.state.Load()) != Closed {
			return
		}
	}
	now := b.cfg.Clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case probe:
		b.cooldown = min(2*b.cooldown, b.cfg.MaxCooldown)
	case State(b.state.Load()) != Closed:
		return // another failure already tripped it
	}
	b.trips++
	b.state.Store(int32(Open))
	b.failures.Store(0)
	jitter := 0.8 + 0.4*rand.Float64()
	b.openUntil = now.Add(time.Duration(float64(b.cooldown) * jitter))
}
