// Package store is the bounded key-value engine inside every L2 (and L3)
// node: values with a version, a hard and a soft expiry, held within a byte
// budget by an eviction policy (S3-FIFO by default, LRU for comparison),
// expired lazily on access and actively by a sampler, with versioned
// tombstones that reject late writes of older data.
//
// The store is split into power-of-two shards by key hash, each with its
// own read-write lock, arena of entries and share of the budget; a read
// takes only its shard's read lock. Stored values are never modified, so
// a read returns the stored slice itself.
package store

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
)

// Item is one stored value. Value is never modified after it is stored, so
// readers may keep and write the slice after the call returns (zero copy).
type Item struct {
	Value        []byte
	Version      uint64 // hlc version; 0 = unversioned
	ExpireAt     int64  // hard expiry, unix ms; 0 = never
	SoftExpireAt int64  // soft expiry (stale-while-revalidate point), unix ms; 0 = none
}

// Op is what an Update callback asks the store to do with the key.
type Op uint8

// The Update operations.
const (
	Keep   Op = iota // leave the key as it is (any unknown Op means Keep)
	Put              // store the returned Item
	Remove           // delete the key (no tombstone)
)

// Store is a sharded, bounded key-value store. It is safe for concurrent
// use. Close stops its background expiry; the store stays usable after.
type Store struct {
	shards   []shard
	mask     uint64
	seed     maphash.Seed        // for the internal hash that picks shards and feeds the ghosts
	ringHash func([]byte) uint64 // Config.Hash, for Range only
	clk      clock.Clock
	maxBytes int64

	stop      chan struct{} // closed once by Close
	closeOnce sync.Once
	wg        sync.WaitGroup // the active expiry goroutine
}

// New returns a store configured by cfg and starts its active expiry.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := cfg.shards()
	s := &Store{
		shards:   make([]shard, n),
		mask:     uint64(n - 1),
		seed:     maphash.MakeSeed(),
		ringHash: cfg.hash(),
		clk:      clock.Or(cfg.Clock),
		maxBytes: cfg.maxBytes(),
		stop:     make(chan struct{}),
	}
	pol := newPolicy(cfg.policy())
	tombTTL := millis(cfg.tombstoneTTL())
	for i := range s.shards {
		s.shards[i].init(s.maxBytes/int64(n), pol, s.clk, s.seed, tombTTL)
	}
	if period := cfg.activeExpiry(); period > 0 {
		s.wg.Add(1)
		go s.runExpiry(period)
	}
	return s, nil
}

// Close stops the active expiry goroutine and waits for it. It is safe to
// call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
	return nil
}

// locate hashes key with the internal hash and returns the hash and the
// key's shard. The internal hash is the runtime's (AES-based where the CPU
// has it), several times cheaper than xxhash on short keys; only Range
// needs the ring's hash.
func (s *Store) locate(key []byte) (uint64, *shard) {
	h := maphash.Bytes(s.seed, key)
	return h, &s.shards[h&s.mask]
}

// MaxEntryBytes is the largest key plus value length a Set can store.
func (s *Store) MaxEntryBytes() int64 { return s.shards[0].budget - EntryOverhead }

// Get returns the live item under key. It removes an item found past its
// hard expiry, counts a hit or a miss, and marks the item accessed for
// eviction and hotness. Hits and misses are counted while the lock is
// held: the counters share its cache line, so counting costs no miss.
func (s *Store) Get(key []byte) (Item, bool) {
	_, sh := s.locate(key)
	if !sh.readHits {
		return sh.getLocked(key)
	}
	sh.mu.RLock()
	i, st := sh.lookupLocked(key)
	switch st {
	case stLive:
		e := &sh.entries[i]
		e.touch(uint64(sh.hits.Add(1)))
		it := e.item()
		sh.mu.RUnlock()
		return it, true
	case stExpired:
		sh.mu.RUnlock()
		return sh.getLocked(key) // removes it, unless rewritten meanwhile
	default:
		sh.misses.Add(1)
		sh.mu.RUnlock()
		return Item{}, false
	}
}

// getLocked is Get under the write lock, for policies whose hits move
// entries and for dropping expired items.
func (sh *shard) getLocked(key []byte) (Item, bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, st := sh.lookupLocked(key)
	switch st {
	case stLive:
		e := &sh.entries[i]
		e.touch(uint64(sh.hits.Add(1)))
		sh.pol.hit(sh, i)
		return e.item(), true
	case stExpired:
		sh.removeLocked(i)
		sh.expired++
	}
	sh.misses.Add(1)
	return Item{}, false
}

// Peek is Get without stats, access marking or removal of expired items.
func (s *Store) Peek(key []byte) (Item, bool) {
	_, sh := s.locate(key)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	i, st := sh.lookupLocked(key)
	if st != stLive {
		return Item{}, false
	}
	return sh.entries[i].item(), true
}

// Exists reports whether key holds a live item, without marking it.
func (s *Store) Exists(key []byte) bool {
	_, ok := s.Peek(key)
	return ok
}

// Set stores a copy of key and it.Value unconditionally (a plain Redis
// SET) and forgets any tombstone of the key. If the entry can never fit it
// returns ErrTooLarge and removes the key's previous item, so readers do
// not go on seeing the value this write meant to replace.
func (s *Store) Set(key []byte, it Item) error {
	h, sh := s.locate(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !sh.fits(len(key), len(it.Value)) {
		sh.dropLiveLocked(key)
		return ErrTooLarge
	}
	i, st := sh.lookupLocked(key)
	sh.putLocked(key, h, i, st, it, false)
	return nil
}

// SetIfNewer stores it only if it.Version is greater than the version of
// the live item and of any tombstone of key, and reports whether it did.
// A newer write that can never fit returns ErrTooLarge and removes the
// older item.
func (s *Store) SetIfNewer(key []byte, it Item) (bool, error) {
	h, sh := s.locate(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, st := sh.lookupLocked(key)
	if (st == stLive || st == stTomb) && it.Version <= sh.entries[i].version {
		return false, nil
	}
	if !sh.fits(len(key), len(it.Value)) {
		sh.dropLiveLocked(key)
		return false, ErrTooLarge
	}
	sh.putLocked(key, h, i, st, it, false)
	return true, nil
}

// Update runs fn on the key's live item under the key's lock and applies
// the Op it returns, making read-modify-write commands (INCR, GETEX, SET
// NX/XX/GET, EXPIRE) atomic. It returns the resulting item and whether the
// key holds one. A Put value that is old.Value itself is kept as is; any
// other is copied. A Put stores like Set (forgetting any tombstone), but
// one that can never fit leaves the key unchanged and returns ErrTooLarge.
// fn must be quick and must not call the store.
func (s *Store) Update(key []byte, fn func(old Item, exists bool) (Item, Op)) (Item, bool, error) {
	h, sh := s.locate(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, st := sh.lookupLocked(key)
	if st == stExpired {
		sh.removeLocked(i)
		sh.expired++
		i, st = nilIndex, stAbsent
	}
	var old Item
	exists := st == stLive
	if exists {
		old = sh.entries[i].item()
	}
	it, op := fn(old, exists)
	switch op {
	case Put:
		if !sh.fits(len(key), len(it.Value)) {
			return old, exists, ErrTooLarge
		}
		reuse := exists && sameSlice(it.Value, old.Value)
		i = sh.putLocked(key, h, i, st, it, reuse)
		return sh.entries[i].item(), true, nil
	case Remove:
		if exists {
			sh.removeLocked(i)
			sh.deletes++
		}
		return Item{}, false, nil
	default:
		return old, exists, nil
	}
}

// sameSlice reports whether a and b are the same bytes in memory.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && cap(a) == cap(b) && (len(a) == 0 || &a[0] == &b[0])
}

// Delete removes key's live item and reports whether there was one. It
// leaves any tombstone alone.
func (s *Store) Delete(key []byte) bool {
	_, sh := s.locate(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.dropLiveLocked(key)
}

// dropLiveLocked removes key's item, live or expired, and reports whether
// it was live.
func (sh *shard) dropLiveLocked(key []byte) bool {
	i, st := sh.lookupLocked(key)
	switch st {
	case stLive:
		sh.removeLocked(i)
		sh.deletes++
		return true
	case stExpired:
		sh.removeLocked(i)
		sh.expired++
	}
	return false
}

// DeleteVersion is a versioned delete (an invalidation): it removes the
// live item if it is older than version and reports whether it did, and
// unless a newer item is live it leaves a tombstone with version (or keeps
// a newer one) for the TombstoneTTL, so that a later SetIfNewer with a
// version up to it is rejected. Tombstones count against the budget and
// are dropped, oldest first, only when no live item is left to evict.
func (s *Store) DeleteVersion(key []byte, version uint64) bool {
	_, sh := s.locate(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := sh.now()
	sh.pruneTombsLocked(now, pruneOnWrite)
	i, st := sh.lookupLocked(key)
	removed := false
	switch st {
	case stLive:
		if sh.entries[i].version >= version {
			return false
		}
		removed = true
		sh.deletes++
	case stExpired:
		sh.expired++
	case stTomb:
		if sh.entries[i].version >= version {
			return false
		}
	}
	sh.tombstoneLocked(key, i, version, now)
	return removed
}

// pruneOnWrite bounds how many stale tombstones a versioned delete clears,
// so the active expirer is not the only thing keeping them in check.
const pruneOnWrite = 4

// Tombstone returns the version of key's unexpired tombstone, if any.
func (s *Store) Tombstone(key []byte) (uint64, bool) {
	_, sh := s.locate(key)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	i, st := sh.lookupLocked(key)
	if st != stTomb {
		return 0, false
	}
	return sh.entries[i].version, true
}

// Len returns the number of live keys. Keys past their expiry count until
// a read or the active expirer removes them.
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		n += sh.live
		sh.mu.RUnlock()
	}
	return n
}

// Flush removes every live item and the eviction history. Tombstones stay
// until their TTL ends: a flush must not let an old write back in.
func (s *Store) Flush() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		if sh.queues[qTomb].len == 0 {
			sh.resetLocked() // drops the arena and index, returning their memory
		} else {
			for j := range sh.entries {
				if sh.entries[j].live() {
					sh.removeLocked(int32(j))
				}
			}
			sh.ghost.reset()
		}
		sh.mu.Unlock()
	}
}

// nowMillis is the store's clock in unix milliseconds.
func (s *Store) nowMillis() int64 { return clock.NowMillis(s.clk) }

// millis converts a duration to whole milliseconds, at least 1 when d > 0.
func millis(d time.Duration) int64 {
	if ms := d.Milliseconds(); ms > 0 || d <= 0 {
		return ms
	}
	return 1
}
