package federation

import (
	"fmt"
	"sync"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
)

// outbox holds the changes a link still has to deliver, each with a
// sequence number. It is the durable position of the change stream, and it
// is memory: a change is acknowledged to the writer once it is here, and it
// survives link failures, not a crash of this process.
//
// Sequence numbers start at 1 and increase by one per Enqueue. The peer
// acknowledges the highest sequence it has applied; acknowledged entries
// are dropped. When the bounds would be exceeded the whole outbox is dropped
// instead and the link owes its peer an anti-entropy pass, which repairs
// from the Source what the dropped entries carried.
type outbox struct {
	maxChanges, maxBytes, maxChange int
	clk                             clock.Clock

	mu      sync.Mutex // protects everything below
	entries []outEntry // consecutive sequence numbers, oldest first, from head
	head    int
	bytes   int
	nextSeq uint64
	acked   uint64
	// Anti-entropy: a pass started at generation g that completes covers
	// every drop up to g. aeFrom is the lowest sequence dropped and not
	// yet covered (0 when none).
	aeGen, aeDone uint64
	aeFrom        uint64
	overflows     uint64
	enqueued      uint64
	changed       chan struct{} // closed when entries, acks or anti-entropy state change
	waiting       bool          // someone holds changed; only then is it replaced
	lag           lagRing
}

type outEntry struct {
	seq      uint64
	enqueued int64 // unix nanoseconds from the endpoint's clock
	size     int
	change   Change
}

func newOutbox(maxChanges, maxBytes, maxFrame int, clk clock.Clock) *outbox {
	return &outbox{
		maxChanges: maxChanges,
		maxBytes:   maxBytes,
		// A change must fit in one frame with the batch header around it.
		maxChange: maxFrame - 32,
		clk:       clk,
		nextSeq:   1,
		changed:   make(chan struct{}),
	}
}

// enqueue appends a copy of c and returns its sequence number.
func (o *outbox) enqueue(c Change) (uint64, error) {
	size := c.size()
	if size > o.maxChange {
		return 0, fmt.Errorf("%w: change of %d bytes, frame limit %d", ErrFrameTooLarge, size, o.maxChange)
	}
	kv := make([]byte, len(c.Key)+len(c.Value))
	copy(kv, c.Key)
	copy(kv[len(c.Key):], c.Value)
	c.Key, c.Value = kv[:len(c.Key):len(c.Key)], kv[len(c.Key):]
	now := o.clk.Now().UnixNano()

	o.mu.Lock()
	defer o.mu.Unlock()
	seq := o.nextSeq
	o.nextSeq++
	o.enqueued++
	if o.live()+1 > o.maxChanges || o.bytes+size > o.maxBytes {
		o.dropAllLocked()
		if size > o.maxBytes || o.maxChanges < 1 {
			o.markDroppedLocked(seq)
			o.notifyLocked()
			return seq, nil
		}
	}
	o.entries = append(o.entries, outEntry{seq: seq, enqueued: now, size: size, change: c})
	o.bytes += size
	o.notifyLocked()
	return seq, nil
}

func (o *outbox) live() int { return len(o.entries) - o.head }

// dropAllLocked empties the outbox on overflow and records that the
// dropped sequences need an anti-entropy pass.
func (o *outbox) dropAllLocked() {
	o.overflows++
	if o.live() > 0 {
		o.markDroppedLocked(o.entries[o.head].seq)
	} else {
		o.aeGen++
	}
	clear(o.entries)
	o.entries = o.entries[:0]
	o.head = 0
	o.bytes = 0
}

func (o *outbox) markDroppedLocked(seq uint64) {
	o.aeGen++
	if o.aeFrom == 0 || seq < o.aeFrom {
		o.aeFrom = seq
	}
}

// requestAntiEntropy marks the link for a pass without dropping anything.
func (o *outbox) requestAntiEntropy() {
	o.mu.Lock()
	o.aeGen++
	o.notifyLocked()
	o.mu.Unlock()
}

// batch returns up to maxN entries (and about maxBytes) starting at
// sequence from, or at the oldest entry if from was dropped. The entries
// are shared and must not be modified.
func (o *outbox) batch(from uint64, maxN, maxBytes int) []outEntry {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.live() == 0 {
		return nil
	}
	first := o.entries[o.head].seq
	if from < first {
		from = first
	}
	i := o.head + int(from-first)
	if i >= len(o.entries) {
		return nil
	}
	end, bytes := i, 0
	for end < len(o.entries) && end-i < maxN && (end == i || bytes+o.entries[end].size <= maxBytes) {
		bytes += o.entries[end].size
		end++
	}
	return append([]outEntry(nil), o.entries[i:end]...)
}

// ack records that the peer applied everything up to seq at appliedAt
// (unix nanoseconds of the peer's clock), measures replication lag for the
// entries it covers and drops them.
func (o *outbox) ack(seq uint64, appliedAt int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if seq <= o.acked {
		return
	}
	o.acked = seq
	for o.live() > 0 && o.entries[o.head].seq <= seq {
		e := &o.entries[o.head]
		o.lag.add(time.Duration(appliedAt - e.enqueued))
		o.bytes -= e.size
		*e = outEntry{}
		o.head++
	}
	if o.head > len(o.entries)/2 { // compact so the backing array does not grow forever
		n := copy(o.entries, o.entries[o.head:])
		clear(o.entries[n:])
		o.entries = o.entries[:n]
		o.head = 0
	}
	o.notifyLocked()
}

// resumeSeq is where a new change stream starts.
func (o *outbox) resumeSeq() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.acked + 1
}

// antiEntropyDue returns the generation a pass would cover, and whether one
// is owed.
func (o *outbox) antiEntropyDue() (gen uint64, due bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.aeGen, o.aeGen > o.aeDone
}

// antiEntropyDone records a completed pass that started at generation
// gen. Drops after gen stay owed.
func (o *outbox) antiEntropyDone(gen uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if gen > o.aeDone {
		o.aeDone = gen
	}
	if o.aeDone == o.aeGen {
		o.aeFrom = 0
	}
	o.notifyLocked()
}

// delivered is the highest sequence s such that every change up to s has
// been applied by the peer, through the stream or a completed repair.
func (o *outbox) delivered() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.aeFrom != 0 {
		return min(o.acked, o.aeFrom-1)
	}
	return o.acked
}

// wait returns a channel closed at the next change of state. Take it
// before looking at the state, so no change is missed in between.
func (o *outbox) wait() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.waiting = true
	return o.changed
}

func (o *outbox) notifyLocked() {
	if o.waiting {
		close(o.changed)
		o.changed = make(chan struct{})
		o.waiting = false
	}
}

// outboxStats is the outbox's part of LinkStats.
type outboxStats struct {
	changes, bytes             int
	enqueued, acked, delivered uint64
	overflows                  uint64
	needsAntiEntropy           bool
	lagP50, lagP99, lagMax     time.Duration
	lagSamples                 int
}

func (o *outbox) stats() outboxStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := outboxStats{
		changes: o.live(), bytes: o.bytes,
		enqueued: o.enqueued, acked: o.acked, delivered: o.acked,
		overflows: o.overflows, needsAntiEntropy: o.aeGen > o.aeDone,
	}
	if o.aeFrom != 0 {
		s.delivered = min(o.acked, o.aeFrom-1)
	}
	s.lagP50, s.lagP99, s.lagMax, s.lagSamples = o.lag.summary()
	return s
}
