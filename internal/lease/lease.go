// Package lease is the per-key lease table that L2 and L3 nodes share
// (Meta's memcache leases, NSDI 2013, section 3.2.1). On a miss a node
// grants at most one exclusive token per key per lease period; the holder
// loads the value from the origin and fills with the token, and missers
// that find a live lease are told how long to wait. Every write or
// invalidation of the key drops its token, so a fill whose holder read the
// origin before a commit-and-invalidate is refused: that is what stops a
// stale read from overwriting a newer invalidation.
//
// Beside exclusive leases the table hands out shared fill tickets (L3's
// region-scoped keyspaces, where the region's L2 already holds the
// exclusive lease): one ticket per key per period, given to every shared
// requester, not spent by a fill, dropped like a lease by a write.
//
// # Threading
//
// A Table is safe for concurrent use. Keys are spread over a fixed number
// of shards, each with its own mutex; a key's lease decision and the store
// write it guards run under that one mutex, so no invalidation can fall
// between a fill's token check and its write, and a version assigned inside
// the callback orders the two. It follows that every callback the table
// takes (stillMissing, write) runs with the shard locked and must:
//
//   - not call back into the same Table, for any key (the mutex is not
//     reentrant and an unrelated key may hash to the same shard);
//   - be short and never block on the network or on another caller, since
//     it stalls every key of its shard.
//
// # Time
//
// The table reads no clock: every call that depends on time takes now, in
// unix milliseconds, from the caller (who owns the node's clock.Clock), so
// tests drive expiry by hand.
package lease

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// shards spreads lock contention; 64 keeps hot keys apart on a busy node
// without making Stats' walk over the shards expensive.
const shards = 64

type entry struct {
	token   uint64
	expires int64 // unix ms
	shared  bool  // a fill ticket, not an exclusive lease
}

type shard struct {
	mu      sync.Mutex // protects m and sweepAt; held across guarded store writes
	m       map[string]entry
	sweepAt int      // map size at which expired entries are swept
	_       [32]byte // keeps neighbouring shards' mutexes off one cache line
}

// Table holds one node's leases and tickets. See the package doc for its
// locking rules.
type Table struct {
	shards [shards]shard
	next   atomic.Uint64 // last token issued

	granted, tickets, refused, filled, rejected, dropped, released atomic.Uint64
}

// New returns an empty table.
func New() *Table {
	t := &Table{}
	// A random start keeps the tokens of a restarted node from matching
	// the ones its callers still hold.
	t.next.Store(rand.Uint64() >> 2)
	return t
}

func (t *Table) shard(key []byte) *shard {
	return &t.shards[xxhash.Sum64(key)%shards]
}

// newToken returns a non-zero 63-bit token: zero means "no token" on the
// wire, and 63 bits keep it positive in a RESP integer.
func (t *Table) newToken() uint64 {
	for {
		if tok := t.next.Add(1) & (1<<63 - 1); tok != 0 {
			return tok
		}
	}
}

// Grant hands out key's token for the period from now (unix ms).
//
// An exclusive request (shared false) gets a new lease unless one is live,
// in which case waitMs is what that lease has left; a live ticket gives way
// to it, since the key's keyspace has just turned global. A shared request
// gets the live ticket or a new one, and waits only behind a live exclusive
// lease.
//
// stillMissing, if not nil, is called under the key's lock before anything
// new is granted, so the caller can re-check its store: a fill that landed
// since the caller's read must not cause a second load. When it returns
// false nothing is granted (token and waitMs both zero).
func (t *Table) Grant(key []byte, now, periodMs int64, shared bool, stillMissing func() bool) (token uint64, waitMs int64) {
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
		sh.m = make(map[string]entry)
	}
	sh.m[string(key)] = entry{token: token, expires: now + periodMs, shared: shared}
	sh.maybeSweepLocked(now)
	if shared {
		t.tickets.Add(1)
	} else {
		t.granted.Add(1)
	}
	return token, 0
}

// Fill runs write under key's lock if token is key's live lease or ticket
// at now, spending a lease (not a ticket), and reports whether it did.
func (t *Table) Fill(key []byte, token uint64, now int64, write func()) bool {
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

// Invalidate drops key's lease or ticket, if any, and runs write under the
// key's lock.
func (t *Table) Invalidate(key []byte, write func()) {
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.dropLocked(t, key)
	write()
}

// InvalidateIf runs write under key's lock and drops key's lease or
// ticket, if any, only when write reports that it changed the key: a write
// that changed nothing (SETNX on a present key, INCR of a non-integer)
// leaves a fill in progress valid.
func (t *Table) InvalidateIf(key []byte, write func() (changed bool)) {
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if write() {
		sh.dropLocked(t, key)
	}
}

// Release drops key's exclusive lease if token holds it (a holder whose
// load failed), so the next misser can take over at once, and reports
// whether it did. Tickets are not released: others may still be loading
// with them.
func (t *Table) Release(key []byte, token uint64) bool {
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

// Stats are a table's counters since New.
type Stats struct {
	Granted  uint64 // exclusive leases handed out
	Tickets  uint64 // fill tickets created (not each hand-out of a live one)
	Refused  uint64 // requests told to wait behind a live lease
	Filled   uint64 // fills whose token was live
	Rejected uint64 // fills whose token was dropped, expired, spent or unknown
	Dropped  uint64 // leases and tickets dropped by writes and invalidations
	Released uint64 // leases given back by their holder
	Held     int    // leases and tickets in the table now, expired ones not yet swept included
}

// Stats returns a snapshot of the counters. Each is read atomically, the
// set is not: a snapshot taken under load may be off by the calls in
// flight.
func (t *Table) Stats() Stats {
	st := Stats{
		Granted: t.granted.Load(), Tickets: t.tickets.Load(), Refused: t.refused.Load(),
		Filled: t.filled.Load(), Rejected: t.rejected.Load(), Dropped: t.dropped.Load(),
		Released: t.released.Load(),
	}
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		st.Held += len(sh.m)
		sh.mu.Unlock()
	}
	return st
}

// dropLocked removes key's entry, if any, counting it in t.dropped.
func (sh *shard) dropLocked(t *Table, key []byte) {
	if _, ok := sh.m[string(key)]; ok {
		delete(sh.m, string(key))
		t.dropped.Add(1)
	}
}

// maybeSweepLocked drops expired entries once the shard has doubled since
// the last sweep, so tokens whose holders vanished cost memory only until
// then, and the sweep's cost stays proportional to the grants that caused
// it.
func (sh *shard) maybeSweepLocked(now int64) {
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
