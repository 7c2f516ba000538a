package l3

import (
	"fmt"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/l2/store"
)

// Defaults used where a Config field is zero.
const (
	// DefaultLeasePeriod is how long a lease or fill ticket stays valid:
	// the longest an origin load may take before its fill is refused
	// (Meta's figure, and L2's).
	DefaultLeasePeriod = 10 * time.Second
	// DefaultLeaseWait caps the retry hint of a Wait reply. A remote
	// misser pays a round trip per poll anyway, so the hint only spaces
	// the polls of nearby ones.
	DefaultLeaseWait = 5 * time.Millisecond
	// DefaultMaxKeyBytes refuses longer keys, as L2 does.
	DefaultMaxKeyBytes = 1 << 10
	// MaxKeyBytesLimit bounds Config.MaxKeyBytes.
	MaxKeyBytesLimit = 1 << 16
)

// Config configures a Node. The zero value of every field but ID and
// Region means the documented default.
type Config struct {
	// ID is the node's id in the topology, its name on the ring.
	ID string
	// Region is the region the node runs in.
	Region string
	// Store configures the node's store (default: store defaults, 256 MiB,
	// tombstones kept 30 s). Its Hash is always federation.KeyHash, so the
	// store's Range serves anti-entropy, and its Clock is Config.Clock
	// when unset.
	Store store.Config
	// LeasePeriod is how long a lease or fill ticket is valid (default
	// 10 s). It must not exceed the store's tombstone TTL: a tombstone
	// must outlive every token granted before it.
	LeasePeriod time.Duration
	// LeaseWait caps the retry hint a Wait reply carries (default 5 ms).
	LeaseWait time.Duration
	// MaxKeyBytes refuses longer keys (default 1 KiB, at most 64 KiB).
	MaxKeyBytes int
	// Clock is where leases and expiries read the time (default the wall
	// clock).
	Clock clock.Clock
}

// Validate reports the first bad field, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case c.ID == "":
		return bad("ID is empty")
	case c.Region == "":
		return bad("Region is empty")
	case c.LeasePeriod < 0:
		return bad("LeasePeriod is negative (%v)", c.LeasePeriod)
	case c.LeaseWait < 0:
		return bad("LeaseWait is negative (%v)", c.LeaseWait)
	case c.MaxKeyBytes < 0 || c.MaxKeyBytes > MaxKeyBytesLimit:
		return bad("MaxKeyBytes %d (want 0..%d)", c.MaxKeyBytes, MaxKeyBytesLimit)
	}
	if err := c.Store.Validate(); err != nil {
		return fmt.Errorf("%w: store: %w", ErrInvalidConfig, err)
	}
	d := c.withDefaults()
	if tomb := tombstoneTTL(d.Store); d.LeasePeriod > tomb {
		return bad("LeasePeriod %v exceeds the store's TombstoneTTL %v", d.LeasePeriod, tomb)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.LeasePeriod == 0 {
		c.LeasePeriod = DefaultLeasePeriod
	}
	if c.LeaseWait == 0 {
		c.LeaseWait = DefaultLeaseWait
	}
	if c.MaxKeyBytes == 0 {
		c.MaxKeyBytes = DefaultMaxKeyBytes
	}
	c.Clock = clock.Or(c.Clock)
	if c.Store.Clock == nil {
		c.Store.Clock = c.Clock
	}
	return c
}

func tombstoneTTL(s store.Config) time.Duration {
	if s.TombstoneTTL == 0 {
		return store.DefaultTombstoneTTL
	}
	return s.TombstoneTTL
}
