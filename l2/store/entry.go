package store

import (
	"math"
	"sync/atomic"
	"unsafe"
)

// entry is one arena slot: a live item or a tombstone. It is laid out to
// fill one 64-byte cache line, so a read touches the shard's map, this
// line and the key-and-value buffer, nothing else.
type entry struct {
	// buf holds the key followed by the value in one allocation. It is
	// never modified: a new value gets a new buffer, so readers may keep
	// the value slice they were given.
	buf          unsafe.Pointer
	version      uint64
	expireAt     int64 // live: hard expiry; tombstone: when it is forgotten; 0 = never
	softExpireAt int64
	keyLen       uint32
	valueLen     uint32
	prev, next   int32 // queue links
	ttlPos       int32 // position in shard.withTTL, or nilIndex
	// counters packs S3-FIFO's 2-bit reuse counter (freqMask) and the
	// Morris hit counter (above hotShift). Readers bump it with one CAS
	// under the read lock; writers change it under the write lock.
	counters uint32
	q        uint8
}

const (
	freqMask = 0xff
	hotShift = 8
	// The hit counter is a Morris-style probabilistic counter: at count c
	// it steps with probability 2^-(c/hotStep), so a hot key's counter is
	// read far more often than written and cores do not fight over its
	// cache line, while the estimate stays within about a factor of two
	// of the true hits.
	hotStep = 4
	maxHot  = 120 // the estimate passes MaxUint32 here
)

// newBuf copies key and value into one new allocation.
func newBuf(key, value []byte) unsafe.Pointer {
	buf := make([]byte, len(key)+len(value))
	copy(buf, key)
	copy(buf[len(key):], value)
	return unsafe.Pointer(unsafe.SliceData(buf))
}

func (e *entry) bytes() []byte {
	return unsafe.Slice((*byte)(e.buf), int(e.keyLen)+int(e.valueLen))
}

// keyString is the key without a copy; the index map holds it.
func (e *entry) keyString() string { return unsafe.String((*byte)(e.buf), int(e.keyLen)) }

// keyBytes is the key without a copy; callers must not modify or keep it.
func (e *entry) keyBytes() []byte { return unsafe.Slice((*byte)(e.buf), int(e.keyLen)) }

// value is the stored value without a copy; it is never modified. An
// empty value gets the buffer's start rather than a pointer past its end,
// which the garbage collector would take for a pointer to the next object.
func (e *entry) value() []byte {
	if e.valueLen == 0 {
		return unsafe.Slice((*byte)(e.buf), 0)
	}
	return unsafe.Slice((*byte)(unsafe.Add(e.buf, e.keyLen)), int(e.valueLen))
}

func (e *entry) setBuf(buf unsafe.Pointer, keyLen, valueLen int) {
	e.buf, e.keyLen, e.valueLen = buf, uint32(keyLen), uint32(valueLen)
}

func (e *entry) size() int64 { return charge(int(e.keyLen), int(e.valueLen)) }

func (e *entry) live() bool { return e.q == qSmall || e.q == qMain }

func (e *entry) item() Item {
	return Item{Value: e.value(), Version: e.version, ExpireAt: e.expireAt, SoftExpireAt: e.softExpireAt}
}

// freq is the S3-FIFO reuse counter. Caller holds the write lock.
func (e *entry) freq() uint32 { return e.counters & freqMask }

// setFreq sets the S3-FIFO reuse counter. Caller holds the write lock.
func (e *entry) setFreq(f uint32) { e.counters = e.counters&^freqMask | f }

// touch records a read: it bumps the reuse counter (up to maxFreq) and
// the hit counter. seq is a number that differs from read to read (the
// shard's hit count); its mixed bits are the Morris counter's coin, which
// costs far less than a random number generator. touch may run under the
// read lock; when two readers race, one bump is lost, which approximate
// counters can afford.
func (e *entry) touch(seq uint64) {
	old := atomic.LoadUint32(&e.counters)
	next := old
	if old&freqMask < maxFreq {
		next++
	}
	coin := uint32((seq * 0x9e3779b97f4a7c15) >> 32) // Fibonacci hashing spreads a sequence
	if hot := old >> hotShift; hot < maxHot && coin&(1<<(hot/hotStep)-1) == 0 {
		next += 1 << hotShift
	}
	if next != old {
		atomic.CompareAndSwapUint32(&e.counters, old, next)
	}
}

// hotness estimates the hits on the entry from its Morris counter: the
// expected number of hits to reach count c is the sum of 2^(j/hotStep)
// for j < c.
func (e *entry) hotness() uint32 {
	c := uint64(atomic.LoadUint32(&e.counters) >> hotShift)
	q, r := c/hotStep, c%hotStep
	est := hotStep*(1<<q-1) + r<<q
	return uint32(min(est, math.MaxUint32))
}

// charge is what an entry costs against the budget.
func charge(keyLen, valueLen int) int64 { return int64(keyLen) + int64(valueLen) + EntryOverhead }
