package store

import (
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/tiercache/tiercache/internal/clock"
)

// Errors returned by the store. Callers check them with errors.Is.
var (
	// ErrTooLarge means the entry (key, value and EntryOverhead) is bigger
	// than one shard's share of MaxBytes, so it could never be stored.
	ErrTooLarge = errors.New("store: entry too large")
	// ErrInvalidConfig is wrapped by every Config.Validate error.
	ErrInvalidConfig = errors.New("store: invalid config")
)

// Policy names an eviction policy.
type Policy string

// The eviction policies. The default is S3-FIFO: on the Zipf and the
// scan-polluted traces of policy_test.go it keeps more hits than LRU, and
// a hit only sets a counter, so reads share the shard lock.
const (
	PolicyDefault Policy = ""
	PolicyS3FIFO  Policy = "s3fifo"
	PolicyLRU     Policy = "lru"
)

// Defaults used where a Config field is zero.
const (
	DefaultMaxBytes     = 256 << 20
	DefaultTombstoneTTL = 30 * time.Second
	DefaultActiveExpiry = 100 * time.Millisecond
	// EntryOverhead is charged to the budget for every entry and tombstone
	// on top of its key and value: the index slot, the entry record and
	// the entry's share of the eviction history.
	EntryOverhead = 192
	// MaxShards bounds Config.Shards.
	MaxShards = 4096
	// minShardBytes is the smallest budget the automatic shard count gives
	// a shard, so that a value at the keyspace default limit (1 MiB) fits
	// in any store of at least 2 MiB.
	minShardBytes = 2 << 20
	// autoMaxShards is the automatic shard count for big budgets: enough
	// that two cores rarely meet on one lock.
	autoMaxShards = 64
)

// Config configures a Store. The zero value means every documented default.
type Config struct {
	// MaxBytes is the byte budget (default 256 MiB). It counts every key
	// and value plus EntryOverhead per entry and per tombstone, and is
	// split evenly across the shards, so the largest entry that fits is
	// MaxBytes/Shards (see Store.MaxEntryBytes).
	MaxBytes int64
	// Policy is the eviction policy (default S3-FIFO).
	Policy Policy
	// Clock is where expiry reads the time (default the wall clock).
	Clock clock.Clock
	// TombstoneTTL is how long a versioned delete is remembered (default
	// 30 s). It should be at least the lease timeout of the tiers above.
	TombstoneTTL time.Duration
	// Hash places keys on the ring for Range (default xxhash.Sum64). It
	// must be the hash the ring uses. Sharding uses a faster internal hash.
	Hash func([]byte) uint64
	// ActiveExpiry is the period of the sampler that removes expired keys
	// nobody reads (default 100 ms, at least 1 ms; negative turns it off,
	// leaving only lazy expiry on access).
	ActiveExpiry time.Duration
	// Shards is the number of independently locked shards, a power of two
	// up to MaxShards (default 64, fewer when that would leave a shard
	// under 2 MiB).
	Shards int
}

// Validate reports the first bad field, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	if c.MaxBytes < 0 {
		return fmt.Errorf("%w: max_bytes is negative (%d)", ErrInvalidConfig, c.MaxBytes)
	}
	switch c.Policy {
	case PolicyDefault, PolicyS3FIFO, PolicyLRU:
	default:
		return fmt.Errorf("%w: policy %q (want %q or %q)", ErrInvalidConfig, c.Policy, PolicyS3FIFO, PolicyLRU)
	}
	if c.TombstoneTTL < 0 {
		return fmt.Errorf("%w: tombstone_ttl is negative (%v)", ErrInvalidConfig, c.TombstoneTTL)
	}
	if c.ActiveExpiry > 0 && c.ActiveExpiry < time.Millisecond {
		return fmt.Errorf("%w: active_expiry %v is under 1ms (negative turns it off)", ErrInvalidConfig, c.ActiveExpiry)
	}
	if c.Shards < 0 || c.Shards > MaxShards || bits.OnesCount(uint(c.Shards)) > 1 {
		return fmt.Errorf("%w: shards %d (want a power of two up to %d)", ErrInvalidConfig, c.Shards, MaxShards)
	}
	if c.Shards > 0 && c.maxBytes()/int64(c.Shards) < EntryOverhead {
		return fmt.Errorf("%w: max_bytes %d leaves %d shards no room for one entry", ErrInvalidConfig, c.maxBytes(), c.Shards)
	}
	return nil
}

func (c Config) maxBytes() int64 {
	if c.MaxBytes == 0 {
		return DefaultMaxBytes
	}
	return c.MaxBytes
}

func (c Config) policy() Policy {
	if c.Policy == PolicyDefault {
		return PolicyS3FIFO
	}
	return c.Policy
}

func (c Config) tombstoneTTL() time.Duration {
	if c.TombstoneTTL == 0 {
		return DefaultTombstoneTTL
	}
	return c.TombstoneTTL
}

func (c Config) hash() func([]byte) uint64 {
	if c.Hash == nil {
		return xxhash.Sum64
	}
	return c.Hash
}

func (c Config) activeExpiry() time.Duration {
	if c.ActiveExpiry == 0 {
		return DefaultActiveExpiry
	}
	return c.ActiveExpiry
}

func (c Config) shards() int {
	if c.Shards > 0 {
		return c.Shards
	}
	n := autoMaxShards
	for n > 1 && c.maxBytes()/int64(n) < minShardBytes {
		n /= 2
	}
	return n
}
