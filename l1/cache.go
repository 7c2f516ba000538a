// Package l1 is tiercache's first tier: the in-process cache an app links,
// kept in VictoriaMetrics/fastcache so millions of entries cost the garbage
// collector nothing and a hit allocates nothing.
//
// Every entry carries a version and two expiries (see Meta). Get reports a
// value before its soft expiry as a Hit, between soft and hard expiry as
// Stale (the tier client serves it and refreshes in the background), and
// after its hard expiry as a Miss.
//
// # Writes and races
//
// The tier client writes L1 from two directions at once: fills after a
// lower-tier read and pushes (new values, invalidations) from L2. fastcache
// has no compare-and-swap, so each Cache serialises its own writes per key
// with a lock stripe: a SetIfNewer or Invalidate reads the current entry and
// replaces it with no other write of the same key in between. Hence, for one
// key written only through SetIfNewer and Invalidate, the stored version
// never goes backwards, and an Invalidate(key, v) leaves a tombstone that
// makes SetIfNewer refuse any version below v for Config.TombstoneTTL, so a
// fill that was in flight during the invalidation cannot resurrect old data.
//
// The guarantee lapses when the newer entry or tombstone is gone: pushed
// out by the byte budget, past its hard expiry, or dropped by Reset. Set and
// Delete are unconditional. Reads take no stripe lock; each Get sees one
// whole entry, before or after any concurrent write.
//
// # Time
//
// With the system clock, a Cache samples it every millisecond on a
// goroutine of its own and compares expiries against that sample, because a
// clock read on every hit doubled the cost of one (see sampler). An entry
// may thus be served as fresh for about a millisecond past its soft expiry,
// or at all for that long past its hard one; longer if the process is so
// busy that the sampler is not scheduled. Close stops the goroutine. Any
// other Clock, such as a test's fake, is read whenever an expiry is
// compared.
package l1

import (
	"fmt"
	"sync"

	"github.com/VictoriaMetrics/fastcache"
	"github.com/cespare/xxhash/v2"

	"github.com/tiercache/tiercache/internal/clock"
)

// TrailerSize is the number of bytes L1 stores beside every value. Get
// appends value and trailer to dst before trimming the trailer, so a dst
// with len(value)+TrailerSize spare capacity is enough for a hit not to
// allocate.
const TrailerSize = trailerSize

// stripeCount is the number of write locks; it matches fastcache's bucket
// count, so one stripe guards the keys of one bucket.
const stripeCount = 512

// stripe serialises the writes of the keys that hash to it and holds their
// share of the counters.
type stripe struct {
	mu sync.Mutex // held across a write's read-decide-store of a key
	counters
	// pad keeps neighbouring stripes' counters off each other's cache line.
	_ [40]byte
}

// Cache is the in-process cache. All methods are safe for concurrent use.
type Cache struct {
	fc           *fastcache.Cache
	clock        clock.Clock
	sampler      *sampler // of the system clock; nil for other clocks
	tombstoneTTL int64    // milliseconds; 0 means no tombstones

	// scratch holds *[]byte buffers in which writes read the current entry
	// and encode the new one, so steady-state writes do not allocate.
	scratch sync.Pool

	stripes [stripeCount]stripe
}

// New returns an empty cache configured by cfg.
func New(cfg Config) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Cache{
		fc:           fastcache.New(cfg.budget()),
		clock:        clock.Or(cfg.Clock),
		tombstoneTTL: cfg.tombstoneTTL(),
	}
	c.scratch.New = func() any {
		b := make([]byte, 0, 256)
		return &b
	}
	if c.clock == clock.System {
		c.sampler = startSystemSampler(c.clock)
	}
	return c, nil
}

// Close stops the clock sampler and drops every entry, returning their
// memory as Reset does. It always returns nil. The cache stays usable, with
// expiries then compared against fresh clock reads.
func (c *Cache) Close() error {
	if c.sampler != nil {
		c.sampler.close()
	}
	c.Reset()
	return nil
}

// Get appends key's value to dst and returns the result, the value's Meta
// and whether it is fresh (Hit) or past its soft expiry (Stale). On a Miss
// the result holds dst's bytes only and Meta is zero.
//
// Get allocates nothing when dst has TrailerSize more spare capacity than
// the value needs; reusing the result (buf, _, _ = c.Get(buf[:0], key))
// gets there after the first call.
func (c *Cache) Get(dst, key []byte) (value []byte, meta Meta, status Status) {
	n := len(dst)
	buf, found := c.fc.HasGet(dst, key)
	if !found {
		return buf, Meta{}, Miss
	}
	v, k, m, ok := decodeEntry(buf[n:])
	if !ok || k == kindTombstone {
		c.stripeOf(key).foundMisses.Add(1)
		return buf[:n], Meta{}, Miss
	}
	status = Hit
	if m.SoftExpireAt != 0 || m.HardExpireAt != 0 {
		now := c.now()
		if m.expired(now) {
			sc := &c.stripeOf(key).counters
			sc.foundMisses.Add(1)
			sc.expired.Add(1)
			return buf[:n], Meta{}, Miss
		}
		if m.stale(now) {
			c.stripeOf(key).stale.Add(1)
			status = Stale
		}
	}
	return buf[:n+len(v)], m, status
}

// Set stores value under key, replacing whatever the cache holds for key,
// newer versions and tombstones included. It returns an error wrapping
// ErrTooLarge, and stores nothing, when len(key)+len(value) exceeds
// MaxEntryBytes. key and value may be reused once Set returns.
func (c *Cache) Set(key, value []byte, meta Meta) error {
	if err := checkSize(key, value); err != nil {
		return err
	}
	s := c.stripeOf(key)
	buf := c.scratch.Get().(*[]byte)
	s.mu.Lock()
	present := c.hasLocked(s, key)
	c.storeLocked(s, buf, key, value, kindValue, meta, present)
	s.sets.Add(1)
	s.mu.Unlock()
	c.scratch.Put(buf)
	return nil
}

// SetIfNewer stores value under key unless the cache holds, for key, a
// value or tombstone with a higher version that is not past its hard
// expiry. An equal version is stored, so a refill can extend a lifetime.
// It reports whether it stored; errors are those of Set.
func (c *Cache) SetIfNewer(key, value []byte, meta Meta) (stored bool, err error) {
	if err := checkSize(key, value); err != nil {
		return false, err
	}
	s := c.stripeOf(key)
	buf := c.scratch.Get().(*[]byte)
	defer c.scratch.Put(buf)
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, found := c.readLocked(s, buf, key)
	if found {
		if _, _, m, ok := decodeEntry(cur); ok && m.Version > meta.Version && !m.expired(c.now()) {
			s.setsRefused.Add(1)
			return false, nil
		}
	}
	c.storeLocked(s, buf, key, value, kindValue, meta, found)
	s.sets.Add(1)
	return true, nil
}

// Delete removes key's entry, value or tombstone, whatever its version.
func (c *Cache) Delete(key []byte) {
	s := c.stripeOf(key)
	s.mu.Lock()
	// Has first: fastcache deletes by hash, so an unchecked delete could
	// remove another key that collides with this one.
	if c.hasLocked(s, key) {
		c.fc.Del(key)
		s.deleted.Add(1)
	}
	s.mu.Unlock()
}

// Invalidate applies an invalidation of key at version: it removes a value
// older than version and reports whether it did. A value or tombstone at or
// above version is left alone.
//
// With tombstones on (the default), the removed value, or the absence of
// one, is replaced by a tombstone carrying version that lives for
// Config.TombstoneTTL, so a racing SetIfNewer of an older version is
// refused; Get answers a tombstone with a Miss.
//
// Version 0 means unversioned: Invalidate(key, 0) is Delete(key) and
// leaves no tombstone.
func (c *Cache) Invalidate(key []byte, version uint64) (removed bool) {
	s := c.stripeOf(key)
	buf := c.scratch.Get().(*[]byte)
	defer c.scratch.Put(buf)
	s.mu.Lock()
	defer s.mu.Unlock()

	now := c.now()
	cur, found := c.readLocked(s, buf, key)
	var live bool // the current entry is one Get or SetIfNewer would see
	var curKind kind
	var curMeta Meta
	if found {
		var ok bool
		_, curKind, curMeta, ok = decodeEntry(cur)
		live = ok && !curMeta.expired(now)
	}
	if live && version != 0 && curMeta.Version >= version {
		return false
	}
	removed = live && curKind == kindValue
	switch {
	case version != 0 && c.tombstoneTTL != 0:
		c.storeLocked(s, buf, key, nil, kindTombstone, Meta{Version: version, HardExpireAt: now + c.tombstoneTTL}, found)
	case found:
		c.fc.Del(key)
		s.deleted.Add(1)
	default:
		return false
	}
	s.invalidations.Add(1)
	return removed
}

// Reset drops every entry and zeroes the counters. The memory goes back to
// fastcache's process-wide chunk pool for reuse by any cache; fastcache
// never returns it to the operating system.
func (c *Cache) Reset() {
	// Writers are held off so the eviction accounting restarts from a
	// state that matches fastcache's empty index.
	for i := range c.stripes {
		c.stripes[i].mu.Lock()
	}
	c.fc.Reset()
	for i := range c.stripes {
		c.stripes[i].counters.reset()
	}
	for i := range c.stripes {
		c.stripes[i].mu.Unlock()
	}
}

// now returns the time expiries are compared against, in unix ms.
func (c *Cache) now() int64 {
	if c.sampler != nil {
		if ms := c.sampler.nowMillis.Load(); ms != 0 {
			return ms
		}
	}
	return clock.NowMillis(c.clock)
}

func checkSize(key, value []byte) error {
	if n := len(key) + len(value); n > MaxEntryBytes {
		return fmt.Errorf("%w: key and value are %d bytes, limit %d", ErrTooLarge, n, MaxEntryBytes)
	}
	return nil
}

func (c *Cache) stripeOf(key []byte) *stripe {
	return &c.stripes[xxhash.Sum64(key)%stripeCount]
}

// hasLocked reports whether fastcache holds key, counting the read as one
// of the write path's. s must be key's stripe, locked.
func (c *Cache) hasLocked(s *stripe, key []byte) bool {
	found := c.fc.Has(key)
	s.countInternalRead(found)
	return found
}

// readLocked reads key's stored entry into *buf, which it may grow. s must
// be key's stripe, locked.
func (c *Cache) readLocked(s *stripe, buf *[]byte, key []byte) (entry []byte, found bool) {
	entry, found = c.fc.HasGet((*buf)[:0], key)
	*buf = entry
	s.countInternalRead(found)
	return entry, found
}

// storeLocked encodes an entry in *buf and stores it. present says whether
// fastcache indexed key before, for the eviction accounting. s must be
// key's stripe, locked.
func (c *Cache) storeLocked(s *stripe, buf *[]byte, key, value []byte, k kind, m Meta, present bool) {
	*buf = appendEntry((*buf)[:0], value, k, m)
	c.fc.Set(key, *buf)
	if !present {
		s.added.Add(1)
	}
}

func (s *stripe) countInternalRead(found bool) {
	s.internalReads.Add(1)
	if !found {
		s.internalMisses.Add(1)
	}
}
