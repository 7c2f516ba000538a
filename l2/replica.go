package l2

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/l2/store"
)

// Replication inside a region. A keyspace with Replicas R keeps each key on
// R nodes: the primary (the ring's owner) and the next R-1 nodes of
// ring.Owners, which under the default placement are the nodes that would
// own the key, in order, if the ones before them left. The primary sends
// every write to its replicas asynchronously: each replica has a bounded
// queue that the writer appends to under a short lock and never waits on
// (a full queue drops the change and counts it), drained by a goroutine
// that exists only while the queue is non-empty, so Close needs no signal
// to stop it: its peer links fail and it returns. Replicas apply changes
// by version (SetIfNewer, DeleteVersion), so a change that arrives after a
// newer one, or twice, is a no-op.

// DefaultReplicaQueue is the number of changes buffered per replica.
const DefaultReplicaQueue = 1 << 16

// replBatch bounds the changes sent to a replica before waiting for their
// replies: one pipelined round trip per batch.
const replBatch = 512

// lagSamples is how many recent replication lags the percentiles are
// computed over.
const lagSamples = 4096

// replCommand applies a replicated change: "tc.repl key version expire_at
// soft_expire_at [value]" (times absolute unix ms); without a value it is a
// delete, leaving a tombstone at version (a plain delete when 0).
const replCommand = "tc.repl"

func init() {
	registerCommand(command{name: replCommand, arity: -5, flags: flagWrite | flagInternal,
		firstKey: 1, lastKey: 1, route: routeKey, handler: cmdReplicate})
}

// replItem is one change queued for a replica.
type replItem struct {
	key  []byte
	it   store.Item // it.Value is the store's immutable copy
	del  bool
	enqd time.Time
}

// replicaQueue buffers the changes bound for one replica.
type replicaQueue struct {
	id string

	mu      sync.Mutex // protects items and running
	items   []replItem
	running bool // a drain goroutine owns the queue's sending

	enqueued, applied, dropped, failed atomic.Uint64
}

// replicator is a node's set of replica queues and its lag record.
type replicator struct {
	capacity int // per queue; DefaultReplicaQueue unless a test lowers it

	mu     sync.Mutex // protects queues and the lag ring below
	queues map[string]*replicaQueue
	lags   [lagSamples]time.Duration
	nlags  int // samples recorded so far (the ring holds the last lagSamples)
	maxLag time.Duration
}

func (r *replicator) queue(id string) *replicaQueue {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.queues == nil {
		r.queues = map[string]*replicaQueue{}
	}
	q := r.queues[id]
	if q == nil {
		q = &replicaQueue{id: id}
		r.queues[id] = q
	}
	return q
}

func (r *replicator) recordLag(d time.Duration) {
	r.mu.Lock()
	r.lags[r.nlags%lagSamples] = d
	r.nlags++
	r.maxLag = max(r.maxLag, d)
	r.mu.Unlock()
}

// replicate sends key's current state to its replicas if this node is its
// primary and its keyspace keeps more than one copy. Call it after every
// write of key; it never blocks on the network.
func (n *Node) replicate(key []byte) {
	cs := n.cluster()
	copies := cs.keyspaces.Load().For(key).Copies()
	if copies <= 1 {
		return
	}
	rt := n.routing.Load()
	if rt.ring == nil {
		return
	}
	var buf [8]string
	owners := rt.ring.Owners(key, copies, buf[:0])
	if owners[0] != rt.self {
		// A write that raced a ring change, or forwarded by a peer with
		// an older ring: the primary of the new ring replicates its own.
		return
	}
	item := replItem{key: slices.Clone(key), enqd: n.cfg.Clock.Now()}
	if it, ok := n.store.Peek(key); ok {
		item.it = it
	} else {
		item.del = true
		item.it.Version, _ = n.store.Tombstone(key)
	}
	for _, id := range owners[1:] {
		n.enqueueReplica(cs.repl.queue(id), item)
	}
}

// enqueueReplica appends item to q, or counts a drop when q is full, and
// makes sure a drain goroutine is running.
func (n *Node) enqueueReplica(q *replicaQueue, item replItem) {
	q.mu.Lock()
	if len(q.items) >= n.cluster().repl.capacity {
		q.mu.Unlock()
		q.dropped.Add(1)
		return
	}
	q.items = append(q.items, item)
	q.enqueued.Add(1)
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start && !n.spawn(func() { n.drainReplica(q) }) {
		q.mu.Lock()
		q.running = false
		dropped := len(q.items)
		q.items = nil
		q.mu.Unlock()
		q.failed.Add(uint64(dropped))
	}
}

// drainReplica sends q's changes in pipelined batches until q is empty.
func (n *Node) drainReplica(q *replicaQueue) {
	var batch []replItem
	calls := make([]*call, 0, replBatch)
	var args [][]byte
	for {
		q.mu.Lock()
		take := min(len(q.items), replBatch)
		if take == 0 {
			q.running = false
			q.items = nil // let a burst's backing array go
			q.mu.Unlock()
			return
		}
		batch = append(batch[:0], q.items[:take]...)
		clear(q.items[:take])
		q.items = q.items[take:]
		q.mu.Unlock()

		p := n.routing.Load().peers[q.id]
		if p == nil { // the replica left the region
			q.failed.Add(uint64(len(batch)))
			continue
		}
		link := p.links[0] // one link keeps the changes in order
		calls = calls[:0]
		for _, it := range batch {
			args = appendReplArgs(args[:0], it)
			cl := newCall()
			if err := link.send(2, args, cl); err != nil {
				break
			}
			calls = append(calls, cl)
		}
		q.failed.Add(uint64(len(batch) - len(calls)))
		for i, cl := range calls {
			<-cl.done
			if cl.err != nil || len(cl.reply) == 0 || cl.reply[0] == '-' {
				q.failed.Add(1)
				continue
			}
			q.applied.Add(1)
			n.cluster().repl.recordLag(n.cfg.Clock.Now().Sub(batch[i].enqd))
		}
	}
}

// appendReplArgs encodes it as a tc.repl command.
func appendReplArgs(args [][]byte, it replItem) [][]byte {
	num := func(v uint64) []byte { return strconv.AppendUint(nil, v, 10) }
	args = append(args, []byte(replCommand), it.key, num(it.it.Version),
		num(uint64(it.it.ExpireAt)), num(uint64(it.it.SoftExpireAt)))
	if !it.del {
		args = append(args, it.it.Value)
	}
	return args
}

// cmdReplicate applies a change its primary sent.
func cmdReplicate(c *conn, args [][]byte) {
	if len(args) > 6 {
		c.writeError(errSyntax)
		return
	}
	var nums [3]int64
	for i := range nums {
		v, ok := parseInt64(args[2+i])
		if !ok || v < 0 {
			c.writeError(errSyntax)
			return
		}
		nums[i] = v
	}
	key, version := args[1], uint64(nums[0])
	st := c.node.store
	if len(args) == 5 {
		if version == 0 {
			st.Delete(key)
		} else {
			st.DeleteVersion(key, version)
		}
		c.writeOK()
		return
	}
	it := store.Item{Value: args[5], Version: version, ExpireAt: nums[1], SoftExpireAt: nums[2]}
	var err error
	if version == 0 {
		err = st.Set(key, it)
	} else {
		_, err = st.SetIfNewer(key, it)
	}
	if err != nil {
		c.writeStoreError(err)
		return
	}
	c.writeOK()
}

// ReplicaStats are the replication counters of one node as a primary.
type ReplicaStats struct {
	Enqueued uint64 // changes queued for replicas
	Applied  uint64 // changes replicas acknowledged
	Dropped  uint64 // changes dropped because a replica's queue was full
	Failed   uint64 // changes lost to a replica being unreachable or refusing
	Queued   int    // changes waiting now, over all replicas
	// LagP50, LagP99 and LagMax are the times from enqueue to the
	// replica's acknowledgement, over the last 4096 applied changes
	// (LagMax since start).
	LagP50, LagP99, LagMax time.Duration
}

// ReplicaStats returns the node's replication counters.
func (n *Node) ReplicaStats() ReplicaStats {
	r := &n.cluster().repl
	var s ReplicaStats
	r.mu.Lock()
	queues := make([]*replicaQueue, 0, len(r.queues))
	for _, q := range r.queues {
		queues = append(queues, q)
	}
	lags := slices.Clone(r.lags[:min(r.nlags, lagSamples)])
	s.LagMax = r.maxLag
	r.mu.Unlock()
	for _, q := range queues {
		s.Enqueued += q.enqueued.Load()
		s.Applied += q.applied.Load()
		s.Dropped += q.dropped.Load()
		s.Failed += q.failed.Load()
		q.mu.Lock()
		s.Queued += len(q.items)
		q.mu.Unlock()
	}
	if len(lags) > 0 {
		slices.Sort(lags)
		s.LagP50 = lags[len(lags)/2]
		s.LagP99 = lags[min(len(lags)-1, len(lags)*99/100)]
	}
	return s
}
