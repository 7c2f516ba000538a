package l2

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/tidwall/redcon"

	"github.com/tiercache/tiercache/internal/tcproto"
)

// Invalidation push for L1 (like Redis client tracking in broadcast mode,
// narrowed to the keys that matter). A client that keeps a key in L1 holds
// a TC.TRACK connection to the key's node. The node remembers, for a track
// window after the last such read, every key it flagged hot or served to a
// TRACK reader; every write or delete of such a key is pushed to every
// subscriber as ["invalidate", key, version]. A subscriber that falls
// behind is disconnected rather than skipped, so a client never misses a
// push without knowing.
//
// Why a write does not take the key out of the set: a reader registers
// before it reads the store and a writer checks after it writes, so either
// the writer sees the registration or the reader sees the write. Removing
// the key at the push would undo a registration made between the write and
// the check, by a reader that then fills L1 with a value whose later
// invalidation nobody pushes.

func init() {
	registerCommand(command{name: tcproto.CmdTrack, arity: 1, flags: flagFast, handler: cmdTCTrack})
	connCloseHooks = append(connCloseHooks, tierConnClosed)
}

const trackedShards = 32

// trackedSet holds the keys whose invalidations are pushed, with the unix
// ms until which they are.
type trackedSet struct {
	shards [trackedShards]struct {
		mu      sync.Mutex // protects m and sweepAt
		m       map[string]int64
		sweepAt int
		_       [32]byte
	}
}

func newTrackedSet() *trackedSet { return &trackedSet{} }

func (t *trackedSet) shard(key []byte) int { return int(xxhash.Sum64(key) % trackedShards) }

// add tracks key from now until the given time (extending, never
// shortening). Once a shard has doubled since its last sweep, keys whose
// window has passed are dropped.
func (t *trackedSet) add(key []byte, now, until int64) {
	sh := &t.shards[t.shard(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if cur, ok := sh.m[string(key)]; ok && cur >= until {
		return
	}
	if sh.m == nil {
		sh.m = make(map[string]int64)
	}
	sh.m[string(key)] = until
	if len(sh.m) >= max(sh.sweepAt, 256) {
		for k, u := range sh.m {
			if u <= now {
				delete(sh.m, k)
			}
		}
		sh.sweepAt = 2 * len(sh.m)
	}
}

// tracked reports whether key is tracked at now.
func (t *trackedSet) tracked(key []byte, now int64) bool {
	sh := &t.shards[t.shard(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	until, ok := sh.m[string(key)]
	return ok && until > now
}

func (t *trackedSet) len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// subscriber is one TC.TRACK connection and the queue its writer drains.
type subscriber struct {
	c      *conn
	resp3  bool
	q      chan []byte // closed by trackHub.remove
	closed bool        // under trackHub.mu
}

// trackHub fans invalidations out to subscribers.
type trackHub struct {
	mu   sync.RWMutex // protects subs and subscriber.closed; read-held while sending
	subs map[*subscriber]struct{}

	pushes, drops atomic.Uint64
}

func newTrackHub() *trackHub { return &trackHub{subs: map[*subscriber]struct{}{}} }

func (h *trackHub) add(s *subscriber) {
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
}

func (h *trackHub) remove(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	delete(h.subs, s)
	close(s.q)
}

func (h *trackHub) stats() (pushes uint64, subs int, drops uint64) {
	h.mu.RLock()
	subs = len(h.subs)
	h.mu.RUnlock()
	return h.pushes.Load(), subs, h.drops.Load()
}

// broadcast queues an invalidation of key at version to every subscriber.
func (h *trackHub) broadcast(key []byte, version uint64) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if len(h.subs) == 0 {
		return
	}
	var frame2, frame3 []byte
	for s := range h.subs {
		var f []byte
		if s.resp3 {
			if frame3 == nil {
				frame3 = appendInvalidate('>', key, version)
			}
			f = frame3
		} else {
			if frame2 == nil {
				frame2 = appendInvalidate('*', key, version)
			}
			f = frame2
		}
		select {
		case s.q <- f:
			h.pushes.Add(1)
		default:
			// Behind by a whole queue: cut it, so the client knows
			// it missed invalidations and drops what it cached.
			h.drops.Add(1)
			s.c.nc.Close()
		}
	}
}

func appendInvalidate(kind byte, key []byte, version uint64) []byte {
	b := make([]byte, 0, 48+len(key))
	b = append(b, kind, '3', '\r', '\n')
	b = redcon.AppendBulkString(b, tcproto.PushInvalidate)
	b = redcon.AppendBulk(b, key)
	b = append(b, ':')
	b = strconv.AppendUint(b, version, 10)
	return append(b, '\r', '\n')
}

// pushIfTracked pushes an invalidation of key if L1s may hold it. It must
// run after the write it announces is in the store.
func (ts *tierState) pushIfTracked(key []byte, version uint64, now int64) {
	if ts.tracked.tracked(key, now) {
		ts.hub.broadcast(key, version)
	}
}

func cmdTCTrack(c *conn, _ [][]byte) {
	tc := c.tierOf()
	if tc.sub != nil {
		c.writeOK()
		return
	}
	s := &subscriber{c: c, resp3: c.proto == 3, q: make(chan []byte, tc.ts.opts.Load().PushQueue)}
	hub := tc.ts.hub
	hub.add(s)
	if !c.node.spawn(func() { s.run() }) {
		hub.remove(s)
		c.writeError("ERR " + ErrClosed.Error())
		return
	}
	tc.sub = s
	c.writeOK()
}

// run writes queued frames, batching what has piled up, until the queue
// is closed (the connection ended).
func (s *subscriber) run() {
	var buf []byte
	failed := false
	for f := range s.q {
		buf = append(buf[:0], f...)
	drain:
		for len(buf) < 64<<10 {
			select {
			case more, ok := <-s.q:
				if !ok {
					break drain
				}
				buf = append(buf, more...)
			default:
				break drain
			}
		}
		if failed {
			continue
		}
		if err := s.c.push(buf); err != nil {
			failed = true
			s.c.nc.Close()
		}
	}
}

func tierConnClosed(c *conn) {
	if tc, ok := c.ext.(*tierConn); ok && tc.sub != nil {
		tc.ts.hub.remove(tc.sub)
	}
}
