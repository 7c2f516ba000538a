package store

import (
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"

	"github.com/tiercache/tiercache/internal/clock"
)

// Queues an entry can be in, kept in entry.q.
const (
	qFree  uint8 = iota // an unused arena slot
	qSmall              // S3-FIFO's probation queue
	qMain               // S3-FIFO's main queue; LRU's only queue
	qTomb               // tombstones, oldest at the back
	numQueues
)

// lookupState is what lookupLocked found under a key.
type lookupState uint8

// The lookup states.
const (
	stAbsent  lookupState = iota // nothing, or a tombstone past its TTL
	stLive                       // a live item whose hard expiry has not passed
	stExpired                    // a live item past its hard expiry, not yet removed
	stTomb                       // an unexpired tombstone
)

// shard is an independently locked part of the store: its own index,
// arena, queues, eviction history and share of the budget. The fields a
// read needs come first, next to the lock.
type shard struct {
	mu           sync.RWMutex // protects the fields below but hits, misses and those set by init
	hits, misses atomic.Int64
	index        map[string]int32 // key → arena slot; the key string shares entry.buf
	readHits     bool             // pol.hit is a no-op, so hits need only the read lock
	entries      []entry          // arena; slots are reused through free
	free         []int32
	queues       [numQueues]queue
	withTTL      []int32 // live entries with an expiry, sampled by the active expirer
	ghost        ghost   // hashes of keys S3-FIFO evicted from the small queue
	used         int64   // charged bytes of live entries and tombstones
	budget       int64
	live         int // entries in qSmall and qMain, expired or not
	pol          evictionPolicy
	clk          clock.Clock
	seed         maphash.Seed // the store's internal hash
	tombTTL      int64        // milliseconds

	sets, deletes, evictions, expired, tombEvictions int64

	_ [64]byte // keeps the next shard's lock off this shard's last line
}

func (sh *shard) init(budget int64, pol evictionPolicy, clk clock.Clock, seed maphash.Seed, tombTTL int64) {
	sh.readHits = pol.readLockHits()
	sh.budget, sh.pol, sh.clk, sh.seed, sh.tombTTL = budget, pol, clk, seed, tombTTL
	sh.resetLocked()
}

// resetLocked empties the shard, counters aside.
func (sh *shard) resetLocked() {
	sh.index = make(map[string]int32)
	sh.entries, sh.free, sh.withTTL = nil, nil, nil
	for q := range sh.queues {
		sh.queues[q] = newQueue()
	}
	sh.ghost.reset()
	sh.used, sh.live = 0, 0
}

func (sh *shard) now() int64 { return clock.NowMillis(sh.clk) }

// fits reports whether an entry of these lengths can ever be stored.
func (sh *shard) fits(keyLen, valueLen int) bool {
	return charge(keyLen, valueLen) <= sh.budget && keyLen <= math.MaxUint32 && valueLen <= math.MaxUint32
}

// lookupLocked finds key and classifies it. Caller holds mu (either mode).
func (sh *shard) lookupLocked(key []byte) (int32, lookupState) {
	i, ok := sh.index[string(key)]
	if !ok {
		return nilIndex, stAbsent
	}
	e := &sh.entries[i]
	switch {
	case e.live():
		if e.expireAt != 0 && sh.now() >= e.expireAt {
			return i, stExpired
		}
		return i, stLive
	case sh.now() >= e.expireAt: // a tombstone past its TTL
		return i, stAbsent
	default:
		return i, stTomb
	}
}

// newEntryLocked takes a slot for key and value.
func (sh *shard) newEntryLocked(key, value []byte) int32 {
	var i int32
	if n := len(sh.free); n > 0 {
		i = sh.free[n-1]
		sh.free = sh.free[:n-1]
	} else {
		sh.entries = append(sh.entries, entry{})
		i = int32(len(sh.entries) - 1)
	}
	e := &sh.entries[i]
	*e = entry{prev: nilIndex, next: nilIndex, ttlPos: nilIndex}
	e.setBuf(newBuf(key, value), len(key), len(value))
	sh.index[e.keyString()] = i
	sh.used += e.size()
	return i
}

// replaceValueLocked gives entry i a new buffer with its key and value,
// keeping its place in its queue. Assigning the index entry again makes
// the map hold the new buffer's key, so the old buffer is freed once
// readers drop its value.
func (sh *shard) replaceValueLocked(i int32, value []byte) {
	e := &sh.entries[i]
	old := e.size()
	e.setBuf(newBuf(e.keyBytes(), value), int(e.keyLen), len(value))
	sh.index[e.keyString()] = i
	delta := e.size() - old
	sh.used += delta
	if e.q != qFree {
		sh.queues[e.q].bytes += delta
	}
}

// removeLocked frees entry i, whatever it holds.
func (sh *shard) removeLocked(i int32) {
	e := &sh.entries[i]
	if e.live() {
		sh.live--
	}
	sh.queues[e.q].remove(sh.entries, i)
	sh.setTTLLocked(i, 0)
	delete(sh.index, e.keyString())
	sh.used -= e.size()
	*e = entry{q: qFree, prev: nilIndex, next: nilIndex, ttlPos: nilIndex}
	sh.free = append(sh.free, i)
}

// unqueueLocked takes entry i out of its queue, to change its size or role.
func (sh *shard) unqueueLocked(i int32) {
	e := &sh.entries[i]
	if e.live() {
		sh.live--
	}
	sh.queues[e.q].remove(sh.entries, i)
	e.q = qFree
}

// setTTLLocked stores expireAt in entry i and keeps withTTL in step.
func (sh *shard) setTTLLocked(i int32, expireAt int64) {
	e := &sh.entries[i]
	e.expireAt = expireAt
	switch {
	case expireAt != 0 && e.ttlPos == nilIndex:
		e.ttlPos = int32(len(sh.withTTL))
		sh.withTTL = append(sh.withTTL, i)
	case expireAt == 0 && e.ttlPos != nilIndex:
		last := len(sh.withTTL) - 1
		moved := sh.withTTL[last]
		sh.withTTL[e.ttlPos] = moved
		sh.entries[moved].ttlPos = e.ttlPos
		sh.withTTL = sh.withTTL[:last]
		e.ttlPos = nilIndex
	}
}

// putLocked stores it under key, whose slot and state lookupLocked gave,
// replacing whatever is there (an expired or live item or a tombstone),
// and returns its slot. h is the key's hash. The caller has checked that
// the entry fits. When reuseValue is set, it.Value is the live item's own
// value and is kept rather than copied.
func (sh *shard) putLocked(key []byte, h uint64, i int32, st lookupState, it Item, reuseValue bool) int32 {
	switch st {
	case stAbsent:
		if i != nilIndex { // a tombstone past its TTL
			sh.removeLocked(i)
		}
		i = sh.newEntryLocked(key, it.Value)
		sh.admitLocked(i, h)
	case stTomb:
		sh.unqueueLocked(i)
		sh.replaceValueLocked(i, it.Value)
		sh.entries[i].counters = 0
		sh.admitLocked(i, h)
	case stExpired:
		// The old item is gone as far as readers know; the new one starts
		// with no history.
		sh.expired++
		sh.removeLocked(i)
		i = sh.newEntryLocked(key, it.Value)
		sh.admitLocked(i, h)
	case stLive:
		if !reuseValue {
			sh.replaceValueLocked(i, it.Value)
		}
		e := &sh.entries[i]
		if f := e.freq(); f < maxFreq {
			e.setFreq(f + 1)
		}
		sh.pol.hit(sh, i)
	}
	e := &sh.entries[i]
	e.version, e.softExpireAt = it.Version, it.SoftExpireAt
	sh.setTTLLocked(i, it.ExpireAt)
	sh.sets++
	sh.evictLocked()
	return i
}

func (sh *shard) admitLocked(i int32, h uint64) {
	sh.live++
	sh.pol.admit(sh, i, h)
}

// tombstoneLocked turns slot i (live, expired or a tombstone) or, when i
// is nilIndex, a new slot into a tombstone for key at version.
func (sh *shard) tombstoneLocked(key []byte, i int32, version uint64, now int64) {
	if i == nilIndex {
		i = sh.newEntryLocked(key, nil)
	} else {
		sh.unqueueLocked(i)
		sh.setTTLLocked(i, 0)
		if sh.entries[i].valueLen > 0 {
			sh.replaceValueLocked(i, nil) // frees the value's memory
		}
	}
	e := &sh.entries[i]
	e.version, e.softExpireAt, e.counters = version, 0, 0
	e.expireAt = now + sh.tombTTL // tombstones leave through their queue, not withTTL
	e.q = qTomb
	sh.queues[qTomb].pushFront(sh.entries, i)
	sh.evictLocked()
}

// evictLocked brings the shard back under budget: the policy evicts live
// items first; only when none are left do the oldest tombstones go.
func (sh *shard) evictLocked() {
	for sh.used > sh.budget {
		if sh.pol.evict(sh) {
			continue
		}
		back := sh.queues[qTomb].back
		if back == nilIndex {
			return
		}
		sh.removeLocked(back)
		sh.tombEvictions++
	}
}

// evictEntryLocked is how a policy drops its victim.
func (sh *shard) evictEntryLocked(i int32) {
	sh.removeLocked(i)
	sh.evictions++
}

// pruneTombsLocked forgets up to max tombstones whose TTL has passed and
// reports how many it forgot.
func (sh *shard) pruneTombsLocked(now int64, max int) int {
	n := 0
	for ; n < max; n++ {
		back := sh.queues[qTomb].back
		if back == nilIndex || sh.entries[back].expireAt > now {
			break
		}
		sh.removeLocked(back)
	}
	return n
}
