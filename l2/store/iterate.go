package store

import "math/rand/v2"

// rangeChunk is how many arena slots Range scans per read-lock hold.
const rangeChunk = 256

// rangeHit is one key Range found, copied out of the lock.
type rangeHit struct {
	key     []byte
	it      Item
	hotness uint32
}

// Range calls fn for every live key whose Hash(key) is in (lo, hi], the
// arc a ring node owns; when lo >= hi the arc wraps past the top of the
// hash space, so lo == hi means every key. hotness estimates the hits on
// the key since it was stored (within about a factor of two), so a
// migrator can send the hottest first. Range stops when fn returns false.
//
// Range holds a shard's read lock only while it copies out a small batch,
// and calls fn with no lock held, so fn may call the store. fn may keep
// key (a fresh copy) and it.Value. Keys stored or removed during the
// scan may or may not be seen, and a key removed and stored again during
// it may be seen twice.
func (s *Store) Range(lo, hi uint64, fn func(key []byte, it Item, hotness uint32) bool) {
	in := func(key []byte) bool {
		if lo == hi {
			return true // the whole ring: no need to hash
		}
		h := s.ringHash(key)
		if lo < hi {
			return lo < h && h <= hi
		}
		return h > lo || h <= hi
	}
	var (
		batch []rangeHit
		slots []int32
	)
	for si := range s.shards {
		sh := &s.shards[si]
		for start := 0; ; start += rangeChunk {
			batch, slots = batch[:0], slots[:0]
			sh.mu.RLock()
			end := min(start+rangeChunk, len(sh.entries))
			now := sh.now()
			keyBytes := 0
			for j := start; j < end; j++ {
				e := &sh.entries[j]
				if e.live() && (e.expireAt == 0 || now < e.expireAt) && in(e.keyBytes()) {
					slots = append(slots, int32(j))
					keyBytes += int(e.keyLen)
				}
			}
			keys := make([]byte, 0, keyBytes) // one allocation per batch
			for _, j := range slots {
				e := &sh.entries[j]
				k := len(keys)
				keys = append(keys, e.keyBytes()...)
				batch = append(batch, rangeHit{key: keys[k:len(keys):len(keys)], it: e.item(), hotness: e.hotness()})
			}
			more := end < len(sh.entries)
			sh.mu.RUnlock()
			for _, hit := range batch {
				if !fn(hit.key, hit.it, hit.hotness) {
					return
				}
			}
			if !more {
				break
			}
		}
	}
}

// RandomKey returns a copy of a random live key, for RANDOMKEY and
// sampling. Keys are not exactly uniform: the shard is chosen first.
func (s *Store) RandomKey() ([]byte, bool) {
	first := rand.IntN(len(s.shards))
	for k := range s.shards {
		sh := &s.shards[(first+k)%len(s.shards)]
		if key, ok := sh.randomKey(); ok {
			return key, true
		}
	}
	return nil, false
}

func (sh *shard) randomKey() ([]byte, bool) {
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	n := len(sh.entries)
	if sh.live == 0 || n == 0 {
		return nil, false
	}
	now := sh.now()
	start := rand.IntN(n)
	for k := range n {
		e := &sh.entries[(start+k)%n]
		if e.live() && (e.expireAt == 0 || now < e.expireAt) {
			return append([]byte(nil), e.keyBytes()...), true
		}
	}
	return nil, false
}
