package l1

import (
	"sync/atomic"

	"github.com/VictoriaMetrics/fastcache"
)

// Stats are a Cache's counters. UpdateStats adds to them, so one Stats can
// sum several caches; call Reset before reusing one.
//
// Counters are read one by one while the cache runs, so a snapshot taken
// under load is close to, not exactly, one instant; derived counters are
// clamped at zero rather than wrapping.
type Stats struct {
	// Gets is the number of Get calls; Gets = Hits + Stale + Misses.
	Gets uint64
	// Hits is the number of Gets that returned a fresh value.
	Hits uint64
	// Stale is the number of Gets that returned a value past its soft
	// expiry.
	Stale uint64
	// Misses is the number of Gets that returned no value, Expired included.
	Misses uint64
	// Expired is the number of Gets that found a value past its hard expiry.
	Expired uint64

	// Sets is the number of values stored by Set and SetIfNewer.
	Sets uint64
	// SetsRefused is the number of SetIfNewer calls refused because the
	// cache held a newer version or tombstone.
	SetsRefused uint64
	// Invalidations is the number of Invalidate calls that changed the
	// cache: removed an entry or left a tombstone.
	Invalidations uint64
	// Evictions is the number of entries the byte budget or a hash
	// collision pushed out. fastcache does not report evictions, so it is
	// derived: entries added minus entries deleted minus entries still
	// indexed. It lags: an entry whose bytes the ring has overwritten counts
	// once fastcache reclaims its index slot (when the ring wraps or the key
	// is written again).
	Evictions uint64
	// Collisions is the number of reads that found another key under the
	// same 64-bit hash (from fastcache; should stay near zero).
	Collisions uint64

	// EntriesCount is the number of entries fastcache indexes: values,
	// tombstones, expired entries not yet overwritten, and evicted ones not
	// yet reclaimed.
	EntriesCount uint64
	// BytesSize is the memory held for entries, at most MaxBytesSize.
	BytesSize uint64
	// MaxBytesSize is the byte budget actually in force (Config.MaxBytes
	// rounded down to a multiple of BudgetUnit).
	MaxBytesSize uint64
}

// Reset zeroes s so it can be passed to UpdateStats again.
func (s *Stats) Reset() { *s = Stats{} }

// counters are one stripe's share of the statistics fastcache does not
// keep. Writers update them under the stripe lock; Get updates the read
// outcomes fastcache cannot see (stale, expired) without it. They are atomic
// so UpdateStats can read them without locks.
type counters struct {
	// internalReads and internalMisses are the fastcache reads the write
	// path makes; fastcache counts them as gets, so they are taken back out.
	internalReads  atomic.Uint64
	internalMisses atomic.Uint64
	// added and deleted count index slots writers created and removed;
	// with fastcache's entry count they give the evictions.
	added   atomic.Uint64
	deleted atomic.Uint64

	stale         atomic.Uint64
	foundMisses   atomic.Uint64 // entries fastcache returned that Get answered as a miss
	expired       atomic.Uint64
	sets          atomic.Uint64
	setsRefused   atomic.Uint64
	invalidations atomic.Uint64
}

func (c *counters) reset() {
	for _, v := range []*atomic.Uint64{
		&c.internalReads, &c.internalMisses, &c.added, &c.deleted, &c.stale,
		&c.foundMisses, &c.expired, &c.sets, &c.setsRefused, &c.invalidations,
	} {
		v.Store(0)
	}
}

// UpdateStats adds c's counters to s.
func (c *Cache) UpdateStats(s *Stats) {
	// Our counters are read before fastcache's: every internal read is
	// counted by fastcache before by us, so fastcache's figures are never
	// behind the ones subtracted from them.
	var internalReads, internalMisses, added, deleted, foundMisses uint64
	var own Stats
	for i := range c.stripes {
		sc := &c.stripes[i].counters
		internalReads += sc.internalReads.Load()
		internalMisses += sc.internalMisses.Load()
		added += sc.added.Load()
		deleted += sc.deleted.Load()
		foundMisses += sc.foundMisses.Load()
		own.Stale += sc.stale.Load()
		own.Expired += sc.expired.Load()
		own.Sets += sc.sets.Load()
		own.SetsRefused += sc.setsRefused.Load()
		own.Invalidations += sc.invalidations.Load()
	}
	var fs fastcache.Stats
	c.fc.UpdateStats(&fs)

	own.Gets = sub(fs.GetCalls, internalReads)
	own.Misses = sub(fs.Misses, internalMisses) + foundMisses
	own.Hits = sub(own.Gets, own.Misses+own.Stale)
	own.Evictions = sub(added, deleted+fs.EntriesCount)

	s.Gets += own.Gets
	s.Hits += own.Hits
	s.Stale += own.Stale
	s.Misses += own.Misses
	s.Expired += own.Expired
	s.Sets += own.Sets
	s.SetsRefused += own.SetsRefused
	s.Invalidations += own.Invalidations
	s.Evictions += own.Evictions
	s.Collisions += fs.Collisions
	s.EntriesCount += fs.EntriesCount
	s.BytesSize += fs.BytesSize
	s.MaxBytesSize += fs.MaxBytesSize
}

// sub is a-b clamped at zero, for figures derived from counters read at
// slightly different instants.
func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}
