package l2

import (
	"fmt"
	"time"

	"github.com/tiercache/tiercache/internal/hlc"
	"github.com/tiercache/tiercache/l2/store"
)

// Plain Redis writes (SET, DEL, EXPIRE, INCR...) are tier writes too: each
// runs under its key's lease lock and, when it changed the key, ends the
// key's lease (so a fill whose load read the origin before this write is
// refused), pushes an invalidation to L1 holders and replicates the key.

// tierWriteIf runs write under key's lease lock; if it reports a change,
// the lease ends, the invalidation is pushed at the version write returns
// and the key's new state goes to its replicas.
func (n *Node) tierWriteIf(key []byte, write func() (version uint64, changed bool)) {
	ts := n.tier
	var version uint64
	changed := false
	ts.leases.invalidateIf(key, func() bool {
		version, changed = write()
		return changed
	})
	if !changed {
		return
	}
	ts.pushIfTracked(key, version, n.nowMillis())
	n.replicate(key)
	n.publishGlobal(key, version)
}

// update is store.Update as a tier write at version: a Put or Remove
// that went through counts as a change.
func (c *conn) update(key []byte, version uint64, fn func(old store.Item, exists bool) (store.Item, store.Op)) (store.Item, bool, error) {
	var it store.Item
	var ok bool
	var err error
	c.node.tierWriteIf(key, func() (uint64, bool) {
		changed := false
		it, ok, err = c.node.store.Update(key, func(old store.Item, exists bool) (store.Item, store.Op) {
			next, op := fn(old, exists)
			changed = op == store.Put || (op == store.Remove && exists)
			return next, op
		})
		return version, changed && err == nil
	})
	return it, ok, err
}

// maxWriterAhead is how far past this node's clock a TC.SET's MINVER may
// be. Regions' clocks differ by milliseconds; a version minutes ahead is a
// bug or an attack, and observing it would push every later version of
// this node that far into the future.
const maxWriterAhead = time.Minute

// observeWriter folds a TC.SET's MINVER, the newest version the writing
// session has written, into the node's clock, so the write it precedes
// gets a greater version. Without it, a session that writes a key in one
// region and then, within the same millisecond, in another is ordered by
// the regions' ids, and its later write can lose everywhere.
func (n *Node) observeWriter(minVer uint64, now int64) error {
	if minVer == 0 {
		return nil
	}
	if ahead := hlc.Millis(minVer) - now; ahead > maxWriterAhead.Milliseconds() {
		return fmt.Errorf("MINVER %d is %d ms ahead of this node's clock (at most %v)", minVer, ahead, maxWriterAhead)
	}
	n.versions.Observe(minVer)
	return nil
}
