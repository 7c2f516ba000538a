package l2

import "github.com/tiercache/tiercache/internal/lease"

// Leases (Meta's memcache, NSDI 2013, section 3.2.1) in the tier protocol.
// On a miss TC.GET grants at most one token per key per lease period; the
// holder loads the value from the origin and fills with TC.SET ... LEASE
// token, or gives the lease back with TC.UNLEASE when its load failed.
// Missers that find a lease live are told to wait. Every other write of the
// key ends its lease under the lease lock: TC.SET without a lease, TC.DEL,
// TierWrite and the plain Redis writes (tier_write.go, through
// invalidateIf, so a write that changed nothing leaves a fill in progress
// valid). A fill whose holder read the origin before a commit-and-invalidate
// is thereby refused: that is what stops a stale read from overwriting a
// newer invalidation.
//
// The table itself is internal/lease, shared with L3; its package doc gives
// the locking rules every callback below runs under.

// leaseTable is L2's view of the shared table. L2 grants only exclusive
// leases, never L3's fill tickets, so grant fixes that choice here rather
// than at every call site, and the table's other methods keep the names the
// tier code (tier_*.go, global*.go) calls them by.
type leaseTable struct{ t *lease.Table }

func newLeaseTable() *leaseTable { return &leaseTable{t: lease.New()} }

// grant is lease.Table.Grant of an exclusive lease.
func (l *leaseTable) grant(key []byte, now, periodMs int64, stillMissing func() bool) (token uint64, waitMs int64) {
	return l.t.Grant(key, now, periodMs, false, stillMissing)
}

func (l *leaseTable) fill(key []byte, token uint64, now int64, write func()) bool {
	return l.t.Fill(key, token, now, write)
}

func (l *leaseTable) invalidate(key []byte, write func()) { l.t.Invalidate(key, write) }

func (l *leaseTable) invalidateIf(key []byte, write func() (changed bool)) {
	l.t.InvalidateIf(key, write)
}

func (l *leaseTable) release(key []byte, token uint64) bool { return l.t.Release(key, token) }

func (l *leaseTable) stats() lease.Stats { return l.t.Stats() }
