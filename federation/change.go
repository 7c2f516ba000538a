package federation

// Change is one write travelling between regions: a value or, with Delete
// set, a tombstone. Version is the write's hybrid logical clock version
// (internal/hlc); receivers keep the change only if it is newer than what
// they hold for the key, so a change may be delivered more than once and in
// any order relative to other versions of the same key.
type Change struct {
	Key   []byte
	Value []byte
	// Version orders writes across regions; last writer by version wins.
	Version uint64
	// ExpireAt is the hard expiry in unix milliseconds; 0 means none.
	ExpireAt int64
	// Delete marks a tombstone (Value is then empty).
	Delete bool
}

// size is the change's weight against outbox and batch limits: its bytes
// plus a fixed overhead for the fields and bookkeeping.
func (c *Change) size() int { return len(c.Key) + len(c.Value) + changeOverhead }

const changeOverhead = 48

// Replica is where changes from other regions land: the receiving side of
// the change stream and of anti-entropy.
//
// Threading: Apply is called by one goroutine per sending region, so calls
// for different senders run concurrently while the calls for one sender come
// one at a time in stream order. Digests may run concurrently with Apply.
//
// Apply must be idempotent and last-writer-wins by Version: a change not
// newer than what is held for its key is ignored. The same change can
// arrive twice (a replay after reconnect) and an older version can arrive
// after a newer one (an anti-entropy repair racing the stream). Apply may
// keep the slices it is given. When Apply returns an error nothing in the
// batch counts as delivered: the sender retries it from its acknowledged
// position after a backoff.
//
// Digests fills d, whose length is a power of two, as described on Source.
type Replica interface {
	Apply(from string, changes []Change) error
	Digests(d []uint64)
}

// Source is the sending side's view of its own store, used to repair a peer
// after the outbox overflowed (anti-entropy).
//
// Digests fills d (its length a power of two, n) so that d[i] is the XOR of
// EntryDigest(key, version) over every entry, tombstones included, whose
// KeyHash falls in bucket i (see BucketRange). Both sides must compute it the
// same way; DigestTable keeps it up to date incrementally. Entries that the
// two sides disagree on only make the pass send more: a store may skip
// expired entries or not.
//
// Range calls fn for every entry whose KeyHash is in [lo, hi], in any order,
// until fn returns false. fn is cheap (it copies the change into a batch),
// so Range may hold the store's read lock while it runs. Range may run
// concurrently with writes; a change written during the scan may or may not
// be seen, which is safe because such a change is also in the outbox.
type Source interface {
	Digests(d []uint64)
	Range(lo, hi uint64, fn func(Change) bool)
}

// ReplicaFuncs adapts functions to a Replica.
type ReplicaFuncs struct {
	ApplyFunc   func(from string, changes []Change) error
	DigestsFunc func(d []uint64)
}

// Apply calls ApplyFunc.
func (r ReplicaFuncs) Apply(from string, changes []Change) error { return r.ApplyFunc(from, changes) }

// Digests calls DigestsFunc, or leaves d zero when it is nil.
func (r ReplicaFuncs) Digests(d []uint64) {
	if r.DigestsFunc != nil {
		r.DigestsFunc(d)
	}
}
