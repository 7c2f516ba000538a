package store

import "hash/maphash"

// evictionPolicy decides where new entries go and which live entry leaves
// when a shard is over budget. Every method runs under the shard's write
// lock. A read bumps the entry's counters (entry.touch) under the read
// lock and calls hit only when readLockHits is false.
type evictionPolicy interface {
	// admit places live entry i, which is in no queue and has key hash h,
	// in a queue.
	admit(sh *shard, i int32, h uint64)
	// hit records a read or overwrite of live entry i beyond its counters.
	hit(sh *shard, i int32)
	// evict drops one live entry and reports whether there was one.
	evict(sh *shard) bool
	// readLockHits reports that hit does nothing, so reads need only the
	// read lock.
	readLockHits() bool
}

func newPolicy(p Policy) evictionPolicy {
	if p == PolicyLRU {
		return lru{}
	}
	return s3fifo{}
}

// lru is plain least-recently-used: one queue, a hit moves the entry to the
// front, the back is evicted. A hit rewrites links, so reads take the
// shard's write lock.
type lru struct{}

func (lru) admit(sh *shard, i int32, _ uint64) {
	sh.entries[i].q = qMain
	sh.queues[qMain].pushFront(sh.entries, i)
}

func (lru) hit(sh *shard, i int32) { sh.queues[qMain].moveToFront(sh.entries, i) }

func (lru) evict(sh *shard) bool {
	back := sh.queues[qMain].back
	if back == nilIndex {
		return false
	}
	sh.evictEntryLocked(back)
	return true
}

func (lru) readLockHits() bool { return false }

// S3-FIFO tuning, as in Yang et al., "FIFO queues are all you need for
// cache eviction" (SOSP 2023). On the traces of policy_test.go a 5-20%
// small queue, and resetting the counter on promotion or not, differ by
// under 0.5 points of hit ratio; promoting only after two hits costs 0.4
// points on Zipf and 1.5 under scans.
const (
	smallQueuePercent = 10 // share of the budget for the probation queue
	maxFreq           = 3  // the 2-bit reuse counter saturates here
	// promoteFreq is how many hits in the small queue earn a place in main.
	promoteFreq = 1
)

// s3fifo keeps new entries on probation in a small FIFO; those read again
// before they reach its end move to the main FIFO, the rest leave and are
// remembered in the ghost queue, so that a quick return goes straight to
// main. Main is a FIFO with reinsertion: an entry read since it last
// passed the end goes round again with its counter decremented. A hit
// only bumps a counter, so reads share the lock.
type s3fifo struct{}

func (s3fifo) admit(sh *shard, i int32, h uint64) {
	e := &sh.entries[i]
	e.q = qSmall
	if sh.ghost.take(h) {
		e.q = qMain
	}
	sh.queues[e.q].pushFront(sh.entries, i)
}

// hit has nothing to do: entry.touch bumped the reuse counter.
func (s3fifo) hit(*shard, int32) {}

func (s3fifo) readLockHits() bool { return true }

func (p s3fifo) evict(sh *shard) bool {
	small, main := &sh.queues[qSmall], &sh.queues[qMain]
	for small.len > 0 && (main.len == 0 || small.bytes*100 >= sh.budget*smallQueuePercent) {
		if p.evictSmall(sh) {
			return true
		}
	}
	return p.evictMain(sh)
}

// evictSmall promotes reused entries from the end of the small queue to
// main until it meets one that was not reused, which it evicts into the
// ghost queue. It reports false if the small queue ran out first.
func (s3fifo) evictSmall(sh *shard) bool {
	small, main := &sh.queues[qSmall], &sh.queues[qMain]
	for small.back != nilIndex {
		i := small.back
		e := &sh.entries[i]
		if e.freq() >= promoteFreq {
			small.remove(sh.entries, i)
			e.setFreq(0)
			e.q = qMain
			main.pushFront(sh.entries, i)
			continue
		}
		h := maphash.Bytes(sh.seed, e.keyBytes())
		sh.evictEntryLocked(i)
		sh.ghost.add(h, sh.live)
		return true
	}
	return false
}

// evictMain evicts the first entry at the end of main that was not read
// since it last got there, sending read ones round again.
func (s3fifo) evictMain(sh *shard) bool {
	main := &sh.queues[qMain]
	for main.back != nilIndex {
		i := main.back
		e := &sh.entries[i]
		if f := e.freq(); f > 0 {
			e.setFreq(f - 1)
			main.moveToFront(sh.entries, i)
			continue
		}
		sh.evictEntryLocked(i)
		return true
	}
	return false
}
