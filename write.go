package tiercache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tiercache/tiercache/internal/tcproto"
)

// SetOption adjusts one Set.
type SetOption func(*setOptions)

type setOptions struct {
	soft, hard time.Duration
	// after is the newest version the writer has written (a Session's):
	// the node versions this write above it (TC.SET ... MINVER).
	after uint64
}

// afterVersion makes the write's version greater than v, so a session's
// later write outranks its earlier one wherever both land, even when they
// were written in two regions within one millisecond, where versions
// would otherwise be ordered by the regions' ids.
func afterVersion(v uint64) SetOption {
	return func(o *setOptions) { o.after = max(o.after, v) }
}

// WithTTL overrides the keyspace's lifetimes for one Set: the value is
// fresh for soft and gone after hard (soft 0 or equal to hard: no stale
// phase; hard 0: the keyspace's).
func WithTTL(soft, hard time.Duration) SetOption {
	return func(o *setOptions) { o.soft, o.hard = soft, hard }
}

// Set writes value as key's cached value and returns the version the
// key's node gave it.
//
// Call it after your database commit, never before: a read that misses
// between an early Set and the commit loads the old row and caches it
// with nothing left to invalidate it. Set ends the key's outstanding lease,
// so a load that read the database before the commit cannot fill over it.
// Between two Sets of the same key the one the node receives last wins,
// so if concurrent writers may commit in one order and Set in the other,
// use Invalidate, whose outcome does not depend on the order.
func (c *Client) Set(ctx context.Context, key string, value []byte, opts ...SetOption) (uint64, error) {
	kb := bytesOf(key)
	ks := c.cfg.Keyspaces.For(kb)
	if len(value) > ks.MaxValue() {
		return 0, fmt.Errorf("%w: %d bytes, keyspace limit %d", ErrTooLarge, len(value), ks.MaxValue())
	}
	soft, hard := ttls(ks)
	var after uint64
	if len(opts) > 0 {
		var o setOptions
		for _, f := range opts {
			f(&o)
		}
		after = o.after
		if o.hard > 0 {
			hard, soft = o.hard.Milliseconds(), o.hard.Milliseconds()
			if o.soft > 0 && o.soft < o.hard {
				soft = o.soft.Milliseconds()
			}
		}
	}
	topo := c.topo.Load()
	n := topo.owner(kb)
	req := tcproto.SetRequest{Key: kb, Epoch: topo.epoch, Value: value, SoftTTLMs: soft, HardTTLMs: hard, MinVer: after}
	var version uint64
	send := func(deadline time.Time) error {
		st, v, err := n.set(ctx, deadline, req)
		if err == nil && st != tcproto.StatusOK && st != tcproto.StatusOlder {
			err = fmt.Errorf("%w: TC.SET status %v", ErrProtocol, st)
		}
		version = v
		return err
	}
	err := c.writeWithRetry(ctx, send)
	if mn, me, ok := c.afterMoved(ctx, err, n, kb); ok {
		n, req.Epoch = mn, me
		err = c.writeWithRetry(ctx, send)
	}
	c.gutterForget(ctx, n, kb, err)
	c.dropLocal(key, kb, version, err)
	return version, err
}

// Invalidate removes key from the cache and returns the version of the
// tombstone its node left. Call it after your database commit, never
// before: invalidating first lets a read between the invalidation and the
// commit cache the old row, and nothing would remove it. The node drops
// the key's lease, so a load that read the database before the commit
// cannot fill the cache after it, and its tombstone refuses older fills
// for the node's tombstone TTL.
//
// An error (ErrUnavailable, ErrBusy) means the invalidation may not have
// happened: retry it.
func (c *Client) Invalidate(ctx context.Context, key string) (uint64, error) {
	return c.invalidate(ctx, key, 0)
}

// invalidate is Invalidate with a tombstone versioned above after (a
// Session's newest write; 0: no constraint), as afterVersion is for Set.
func (c *Client) invalidate(ctx context.Context, key string, after uint64) (uint64, error) {
	kb := bytesOf(key)
	topo := c.topo.Load()
	n := topo.owner(kb)
	var version uint64
	epoch := topo.epoch
	send := func(deadline time.Time) error {
		v, err := n.delAfter(ctx, deadline, kb, epoch, after)
		version = v
		return err
	}
	err := c.writeWithRetry(ctx, send)
	if mn, me, ok := c.afterMoved(ctx, err, n, kb); ok {
		n, epoch = mn, me
		err = c.writeWithRetry(ctx, send)
	}
	c.gutterForget(ctx, n, kb, err)
	c.dropLocal(key, kb, version, err)
	return version, err
}

// dropLocal removes key from this process's L1 after a write: below
// version if the node answered, whatever its version if not.
func (c *Client) dropLocal(key string, kb []byte, version uint64, err error) {
	if c.l1 == nil {
		return
	}
	if err == nil && version != 0 {
		c.l1.Invalidate(kb, version)
	} else {
		c.l1.Delete(kb)
	}
	c.hot.remove(key)
}

// writeWithRetry runs call, retrying BUSY after a jittered backoff.
func (c *Client) writeWithRetry(ctx context.Context, call func(deadline time.Time) error) error {
	deadline := c.deadline(ctx)
	for attempt := 0; ; attempt++ {
		err := call(deadline)
		if err == nil || !errors.Is(err, ErrBusy) || attempt >= c.cfg.BusyRetries || !busyBackoff(ctx, attempt, deadline) {
			return err
		}
	}
}
