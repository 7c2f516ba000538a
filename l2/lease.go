package l2

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// Leases (Meta's memcache, NSDI 2013, section 3.2.1). On a miss the node
// grants at most one token per key per lease period; the holder loads the
// value from the origin and fills with TC.SET ... LEASE token. Every write
// or invalidation of the key drops its lease, so a fill whose holder read
// the origin before a commit-and-invalidate is refused: that is what stops a
// stale read from overwriting a newer invalidation. Missers that find a
// lease live are told to wait.
//
// The table serialises, per key, the lease decision with the store write it
// guards: fill and invalidate run their store write inside the key's shard
// lock, so no invalidation can fall between a fill's token check and its
// write, and a version assigned inside the lock orders the two.

const leaseShards = 64

type leaseEntry struct {
	token   uint64
	expires int64 // unix ms
}

type leaseShard struct {
	mu      sync.Mutex // protects m and sweepAt; held across guarded store writes
	m       map[string]leaseEntry
	sweepAt int // map size at which expired entries are swept
	_       [32]byte
}

// leaseTable holds the live leases of one node. It is safe for concurrent
// use; callers pass the time so tests control it.
type leaseTable struct {
	shards [leaseShards]leaseShard
	next   atomic.Uint64 // last token issued

	granted, refused, filled, rejected, dropped atomic.Uint64
}

func newLeaseTable() *leaseTable {
	t := &leaseTable{}
	// A random start keeps tokens of a restarted node from matching the
	// ones its clients still hold.
	t.next.Store(rand.Uint64() >> 2)
	return t
}

func (t *leaseTable) shard(key []byte) *leaseShard {
	return &t.shards[xxhash.Sum64(key)%leaseShards]
}

// grant gives key a lease until now+periodMs unless a live one exists, in
// which case it returns the milliseconds that lease has left. stillMissing,
// called under the key's lock, lets the caller re-check the store so a fill
// that landed since its read does not cause a second load; a false result
// grants nothing (token and wait both zero).
func (t *leaseTable) grant(key []byte, now, periodMs int64, stillMissing func() bool) (token uint64, waitMs int64) {
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.m[string(key)]; ok && e.expires > now {
		t.refused.Add(1)
		return 0, e.expires - now
	}
	if stillMissing != nil && !stillMissing() {
		return 0, 0
	}
	token = t.next.Add(1) & (1<<63 - 1)
	if token == 0 {
		token = t.next.Add(1)
	}
	if sh.m == nil {
		sh.m = make(map[string]leaseEntry)
	}
	sh.m[string(key)] = leaseEntry{token: token, expires: now + periodMs}
	sh.maybeSweepLocked(now)
	t.granted.Add(1)
	return token, 0
}

// fill runs write if token is key's live lease, consuming the lease, and
// reports whether it did.
func (t *leaseTable) fill(key []byte, token uint64, now int64, write func()) bool {
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[string(key)]
	if !ok || e.token != token || e.expires <= now {
		t.rejected.Add(1)
		return false
	}
	delete(sh.m, string(key))
	write()
	t.filled.Add(1)
	return true
}

// invalidate drops key's lease, if any, and runs write under the key's
// lock.
func (t *leaseTable) invalidate(key []byte, write func()) {
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[string(key)]; ok {
		delete(sh.m, string(key))
		t.dropped.Add(1)
	}
	write()
}

// invalidateIf runs write under key's lock and drops key's lease, if
// any, when write reports that it changed the key: a write that changed
// nothing (SETNX on a present key, INCR of a non-integer) leaves a fill in
// progress valid.
func (t *leaseTable) invalidateIf(key []byte, write func() bool) {
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !write() {
		return
	}
	if _, ok := sh.m[string(key)]; ok {
		delete(sh.m, string(key))
		t.dropped.Add(1)
	}
}

// release drops key's lease if token holds it (a holder whose load failed),
// so the next misser can take over at once.
func (t *leaseTable) release(key []byte, token uint64) bool {
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.m[string(key)]; ok && e.token == token {
		delete(sh.m, string(key))
		return true
	}
	return false
}

// live returns the number of leases held, expired ones not yet swept
// included.
func (t *leaseTable) live() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// maybeSweepLocked drops expired leases once the shard has doubled since
// the last sweep, so holders that vanished cost memory only until then.
func (sh *leaseShard) maybeSweepLocked(now int64) {
	if len(sh.m) < max(sh.sweepAt, 64) {
		return
	}
	for k, e := range sh.m {
		if e.expires <= now {
			delete(sh.m, k)
		}
	}
	sh.sweepAt = 2 * len(sh.m)
}
