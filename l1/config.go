package l1

import (
	"errors"
	"fmt"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
)

// Errors returned by this package. Callers test them with errors.Is.
var (
	// ErrInvalidConfig is wrapped by every error Config.Validate returns.
	ErrInvalidConfig = errors.New("l1: invalid config")
	// ErrTooLarge is returned by a write whose key and value do not fit in
	// one fastcache entry (see MaxEntryBytes). L1 is for hot small keys;
	// larger values stay in L2.
	ErrTooLarge = errors.New("l1: entry too large")
)

const (
	// DefaultMaxBytes is the byte budget used when Config.MaxBytes is zero.
	DefaultMaxBytes = 32 << 20
	// BudgetUnit is the granularity of the budget: fastcache gives each of
	// its 512 buckets whole 64 KiB chunks, so it can only honour multiples
	// of 512*64 KiB. MaxBytes is rounded down to a multiple of it, and must
	// be at least one unit.
	BudgetUnit = 512 * 64 << 10
	// maxBudget keeps each fastcache bucket below its 2^40-byte limit.
	maxBudget = 512 * (1 << 40) / 2

	// DefaultTombstoneTTL is how long an invalidation keeps refusing older
	// fills when Config.TombstoneTTL is zero. It matches the lease period
	// of the lower tiers: a fill older than that is not in flight any more.
	DefaultTombstoneTTL = 10 * time.Second
)

// Config configures a Cache. The zero value is valid and means the
// documented default of every field.
type Config struct {
	// MaxBytes bounds the memory the cache holds for entries (default
	// DefaultMaxBytes). It is rounded down to a multiple of BudgetUnit
	// (32 MiB), so the cache never holds more than MaxBytes; it must be at
	// least BudgetUnit.
	MaxBytes int

	// TombstoneTTL is how long Invalidate leaves a tombstone behind, so a
	// fill of an older version that races with the invalidation is refused
	// by SetIfNewer (default DefaultTombstoneTTL). A negative value stores
	// no tombstones: Invalidate only removes, and a late older fill wins.
	TombstoneTTL time.Duration

	// Clock supplies the time expiries are compared with (default
	// clock.System).
	Clock clock.Clock
}

// Validate reports whether c can be used; every error wraps
// ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.MaxBytes < 0:
		return fmt.Errorf("%w: MaxBytes %d is negative", ErrInvalidConfig, c.MaxBytes)
	case c.MaxBytes != 0 && c.MaxBytes < BudgetUnit:
		return fmt.Errorf("%w: MaxBytes %d is below the %d-byte minimum fastcache can honour",
			ErrInvalidConfig, c.MaxBytes, BudgetUnit)
	case uint64(c.MaxBytes) > maxBudget:
		return fmt.Errorf("%w: MaxBytes %d is above the %d-byte limit", ErrInvalidConfig, c.MaxBytes, uint64(maxBudget))
	}
	return nil
}

// budget is the capacity handed to fastcache: MaxBytes with its default,
// rounded down to what fastcache can hold without exceeding it.
func (c Config) budget() int {
	b := c.MaxBytes
	if b == 0 {
		b = DefaultMaxBytes
	}
	return b / BudgetUnit * BudgetUnit
}

// tombstoneTTL returns the tombstone lifetime in milliseconds, or 0 when
// tombstones are off.
func (c Config) tombstoneTTL() int64 {
	switch {
	case c.TombstoneTTL < 0:
		return 0
	case c.TombstoneTTL == 0:
		return DefaultTombstoneTTL.Milliseconds()
	}
	return max(c.TombstoneTTL.Milliseconds(), 1)
}
