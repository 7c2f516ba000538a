package tiercache

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/tiercache/tiercache/internal/clock"
)

// The hot-key registry remembers the keys this client keeps in L1: which
// node they came from (to drop them if its subscription breaks), how many
// L1 hits they had (reported to the node with the next fetch), and when
// their L2 value turns stale (for the pre-warmer, which refreshes them
// through the node's refresh lease before they expire).

type hotEntry struct {
	rq       readReq
	node     string
	version  uint64
	l2SoftAt int64 // unix ms the node's value turns stale; 0 unknown
	seenAt   int64 // unix ms of the last admission
	hitBase  uint32
}

type hotRegistry struct {
	hits [hitSlots]atomic.Uint32

	size atomic.Int32 // len(m), read without the lock
	mu   sync.Mutex   // protects m
	m    map[string]*hotEntry
}

func (h *hotRegistry) init() { h.m = map[string]*hotEntry{} }

func (h *hotRegistry) slot(kb []byte) *atomic.Uint32 { return &h.hits[xxhash.Sum64(kb)%hitSlots] }

// upsert records an admission of rq's key to L1.
func (h *hotRegistry) upsert(rq *readReq, node string, version uint64, l2SoftAt, now int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.m[rq.key]
	if e == nil {
		e = &hotEntry{hitBase: h.slot(rq.kb).Load()}
		h.m[rq.key] = e
		h.size.Store(int32(len(h.m)))
	}
	e.rq = *rq
	e.rq.bg, e.rq.warm = false, false
	e.node, e.version, e.l2SoftAt, e.seenAt = node, version, l2SoftAt, now
}

// remove forgets key and reports whether it was registered.
func (h *hotRegistry) remove(key string) bool {
	if h.size.Load() == 0 {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.m[key]; !ok {
		return false
	}
	delete(h.m, key)
	h.size.Store(int32(len(h.m)))
	return true
}

// takeHits returns the L1 hits of key since the last call, for TC.GET
// HITS; 0 for keys not in L1.
func (h *hotRegistry) takeHits(key string, kb []byte) uint64 {
	if h.size.Load() == 0 {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.m[key]
	if e == nil {
		return 0
	}
	cur := h.slot(kb).Load()
	d := cur - e.hitBase
	e.hitBase = cur
	return uint64(d)
}

// dropNode forgets every key of node and returns them.
func (h *hotRegistry) dropNode(node string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var keys []string
	for k, e := range h.m {
		if e.node == node {
			keys = append(keys, k)
			delete(h.m, k)
		}
	}
	h.size.Store(int32(len(h.m)))
	return keys
}

// snapshot returns the entries still in use and forgets those not
// admitted again for two of their keyspace's hot TTLs (the key cooled).
func (h *hotRegistry) snapshot(now int64) []hotEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]hotEntry, 0, len(h.m))
	for k, e := range h.m {
		if now-e.seenAt > 2*e.rq.ks.HotTTL().Milliseconds() {
			delete(h.m, k)
			continue
		}
		out = append(out, *e)
	}
	h.size.Store(int32(len(h.m)))
	return out
}

// runPrewarm refreshes hot keys shortly before their node value turns
// stale, until ctx ends. The lease (REFRESH of the version seen) keeps the
// whole region to one load per expiry however many clients pre-warm.
func (c *Client) runPrewarm(ctx context.Context) {
	t := time.NewTicker(c.cfg.PrewarmInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !c.prewarmByHand.Load() {
			c.prewarmOnce()
		}
	}
}

// prewarmOnce is one pass of the pre-warmer: it refreshes every hot key
// whose node value turns stale within two ticks plus a load time. It
// returns the number of refreshes started.
func (c *Client) prewarmOnce() int {
	now := clock.NowMillis(c.cfg.Clock)
	tick := c.cfg.PrewarmInterval.Milliseconds()
	started := 0
	for _, e := range c.hot.snapshot(now) {
		if e.rq.def.NoPrewarm || e.l2SoftAt == 0 {
			continue
		}
		ahead := 2*tick + e.rq.delta.Get().Milliseconds()
		if e.l2SoftAt-now > ahead {
			continue
		}
		rq := e.rq
		if c.refreshEarly(c.ctx, &rq, e.version, true) {
			started++
		}
	}
	return started
}

// hitSlots counts L1 hits per key hash, sampled, so the next fetch of a
// hot key can tell its node how much demand L1 absorbed (TC.GET HITS):
// without that, a key served from L1 would look cold to the node, drop out
// of L1, and flap.
const (
	hitSlots      = 4096
	hitSampleMask = 15 // one hit in 16 is counted, as 16
)

func (h *hotRegistry) countHit(kb []byte) {
	if rand.Uint32()&hitSampleMask != 0 {
		return
	}
	h.hits[xxhash.Sum64(kb)%hitSlots].Add(hitSampleMask + 1)
}
