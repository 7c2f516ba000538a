package l3

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// The lease table follows L2's (l2/lease.go) in meaning: at most one
// exclusive lease per key per lease period, every write or invalidation of
// the key drops it, and the decision is made under the same lock as the
// store write it guards, so no invalidation can fall between a fill's token
// check and its write. It adds the shared fill ticket of region-scoped
// keyspaces: handed to every misser of the period, not consumed by a fill,
// dropped like a lease by a write.

const leaseShards = 64

type leaseEntry struct {
	token   uint64
	expires int64 // unix ms
	shared  bool  // a fill ticket, not an exclusive lease
}

type leaseShard struct {
	mu      sync.Mutex // protects m and sweepAt; held across guarded store writes
	m       map[string]leaseEntry
	sweepAt int // map size at which expired entries are swept
	_       [32]byte
}

// leaseTable holds one node's leases and tickets. It is safe for
// concurrent use; callers pass the time, so tests control it.
type leaseTable struct {
	shards [leaseShards]leaseShard
	next   atomic.Uint64 // last token issued

	granted, tickets, refused, filled, rejected, dropped, released atomic.Uint64
}

func newLeaseTable() *leaseTable {
	t := &leaseTable{}
	// A random start keeps the tokens of a restarted node from matching
	// the ones its callers still hold.
	t.next.Store(rand.Uint64() >> 2)
	return t
}

func (t *leaseTable) shard(key []byte) *leaseShard {
	return &t.shards[xxhash.Sum64(key)%leaseShards]
}

func (t *leaseTable) newToken() uint64 {
	for {
		if tok := t.next.Add(1) & (1<<63 - 1); tok != 0 {
			return tok
		}
	}
}

// grant hands out key's token for the period from now. An exclusive
// request gets a new lease unless one is live (then waitMs is what it has
// left); a live ticket gives way to it, since the keyspace has just turned
// global. A shared request gets the live ticket or a new one, and waits only
// behind a live exclusive lease. stillMissing, called under the key's lock
// before anything new is granted, lets the caller re-check its store so a
// fill that landed since its read does not cause a second load; false
// grants nothing (token and waitMs both zero).
func (t *leaseTable) grant(key []byte, now, periodMs int64, shared bool, stillMissing func() bool) (token uint64, waitMs int64) {
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.m[string(key)]; ok && e.expires > now {
		switch {
		case !e.shared:
			t.refused.Add(1)
			return 0, e.expires - now
		case shared:
			return e.token, 0
		}
	}
	if stillMissing != nil && !stillMissing() {
		return 0, 0
	}
	token = t.newToken()
	if sh.m == nil {
		sh.m = make(map[string]leaseEntry)
	}
	sh.m[string(key)] = leaseEntry{token: token, expires: now + periodMs, shared: shared}
	sh.maybeSweepLocked(now)
	if shared {
		t.tickets.Add(1)
	} else {
		t.granted.Add(1)
	}
	return token, 0
}

// fill runs write if token is key's live lease or ticket, consuming a
// lease (not a ticket), and reports whether it did.
func (t *leaseTable) fill(key []byte, token uint64, now int64, write func()) bool {
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[string(key)]
	if !ok || e.token != token || e.expires <= now {
		t.rejected.Add(1)
		return false
	}
	if !e.shared {
		delete(sh.m, string(key))
	}
	write()
	t.filled.Add(1)
	return true
}

// invalidate drops key's lease or ticket, if any, and runs write under the
// key's lock.
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

// release drops key's exclusive lease if token holds it (a holder whose
// load failed), so the next misser can take over at once. Tickets are not
// released: others may still be loading with them.
func (t *leaseTable) release(key []byte, token uint64) bool {
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.m[string(key)]; ok && e.token == token && !e.shared {
		delete(sh.m, string(key))
		t.released.Add(1)
		return true
	}
	return false
}

// held returns the number of leases and tickets in the table, expired ones
// not yet swept included.
func (t *leaseTable) held() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// maybeSweepLocked drops expired entries once the shard has doubled since
// the last sweep, so tokens whose holders vanished cost memory only until
// then.
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
