package l3

import (
	"math/rand/v2"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/l2/store"
)

// A Node is the receiving and the repairing end of the change stream.
var (
	_ federation.Replica = (*Node)(nil)
	_ federation.Source  = (*Node)(nil)
)

// Apply implements federation.Replica: it applies changes from region
// from, last writer by version winning. For a key this node owns, a value
// is stored if it is newer than the held value and tombstone, and a delete
// leaves a versioned tombstone. For a key another node owns only a stale
// copy held from an earlier ring is dropped, so the region's L3 nodes can
// share one Replica fan-out and each keeps its own keys. Either way the
// key's lease or ticket is dropped: a change is a write after a commit, and
// a load that read the origin before it must not fill over it.
//
// Apply never fails but after Close: a change without a version or too
// large to store is counted (Stats.BadChanges) and skipped, since resending
// it could not help. It may be called concurrently (once per sending
// region, as federation does) and with every other method.
func (n *Node) Apply(from string, changes []federation.Change) error {
	if n.closed.Load() {
		return ErrClosed
	}
	for i := range changes {
		n.apply(&changes[i])
	}
	return nil
}

func (n *Node) apply(c *federation.Change) {
	if c.Version == 0 || len(c.Key) == 0 {
		n.badApply.Add(1)
		return
	}
	owned := n.Owns(c.Key)
	n.leases.Invalidate(c.Key, func() {
		if !owned {
			n.notOwned.Add(1)
			if it, ok := n.store.Peek(c.Key); ok && it.Version < c.Version {
				n.store.Delete(c.Key)
			}
			return
		}
		n.applied.Add(1)
		if c.Delete {
			n.store.DeleteVersion(c.Key, c.Version)
			return
		}
		if _, err := n.store.SetIfNewer(c.Key, store.Item{Value: c.Value, Version: c.Version, ExpireAt: c.ExpireAt}); err != nil {
			n.badApply.Add(1)
		}
	})
}

// Digests implements federation.Replica and federation.Source: the XOR of
// federation.EntryDigest over the live values in each bucket. Tombstones
// are left out (the store does not list them), which at worst makes an
// anti-entropy pass resend a bucket. It scans the store, which is fine for
// a pass that runs only after an outbox overflow.
func (n *Node) Digests(d []uint64) {
	clear(d)
	if len(d) == 0 || len(d)&(len(d)-1) != 0 {
		// A size no bucket layout gives: values that match nothing make
		// the pass resend everything, slow but never wrong.
		for i := range d {
			d[i] = rand.Uint64()
		}
		return
	}
	n.store.Range(0, 0, func(key []byte, it store.Item, _ uint32) bool {
		d[federation.BucketOf(federation.KeyHash(key), len(d))] ^= federation.EntryDigest(key, it.Version)
		return true
	})
}

// Range implements federation.Source: every live value whose KeyHash is in
// [lo, hi], as a change. fn is called with no lock held.
func (n *Node) Range(lo, hi uint64, fn func(federation.Change) bool) {
	if lo > hi {
		return
	}
	// The store's ranges are (lo, hi] and wrap; lo-1 turns ours into one,
	// and [0, max] becomes lo == hi, the whole space.
	n.store.Range(lo-1, hi, func(key []byte, it store.Item, _ uint32) bool {
		return fn(federation.Change{Key: key, Value: it.Value, Version: it.Version, ExpireAt: it.ExpireAt})
	})
}
