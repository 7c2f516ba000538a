package federation

import (
	"math/bits"
	"math/rand/v2"

	"github.com/cespare/xxhash/v2"
)

// KeyHash places a key in the hash space that anti-entropy buckets divide.
func KeyHash(key []byte) uint64 { return xxhash.Sum64(key) }

// EntryDigest is one entry's contribution to its bucket's digest. XOR of
// these is order-independent and self-inverse, so a store can replace a
// key's version by XOR-ing the old digest out and the new one in.
func EntryDigest(key []byte, version uint64) uint64 {
	return mix64(KeyHash(key) ^ mix64(version+0x9e3779b97f4a7c15))
}

// mix64 is the splitmix64 finaliser: it spreads every input bit over the
// output so nearby versions give unrelated digests.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// BucketOf returns the bucket of n (a power of two) that hash falls in.
func BucketOf(hash uint64, n int) int {
	return int(hash >> (64 - bits.TrailingZeros(uint(n))))
}

// BucketRange returns the inclusive hash range of bucket i of n.
func BucketRange(i, n int) (lo, hi uint64) {
	shift := 64 - bits.TrailingZeros(uint(n))
	if shift == 64 {
		return 0, ^uint64(0)
	}
	lo = uint64(i) << shift
	return lo, lo | (uint64(1)<<shift - 1)
}

func isPowerOfTwo(n int) bool { return n > 0 && n&(n-1) == 0 }

// DigestTable keeps a store's bucket digests current as it changes, so
// Digests costs O(buckets) instead of a scan of the store. It is not safe
// for concurrent use: the store updates it under its own lock.
type DigestTable struct {
	buckets []uint64
}

// NewDigestTable returns a table of n buckets (a power of two; other values
// are rounded up). Use at least as many as anti-entropy asks for
// (Config.AntiEntropyBuckets).
func NewDigestTable(n int) *DigestTable {
	if !isPowerOfTwo(n) {
		n = 1 << bits.Len(uint(max(n, 1)))
	}
	return &DigestTable{buckets: make([]uint64, n)}
}

// Toggle adds an entry, or removes it if it was added before.
func (t *DigestTable) Toggle(key []byte, version uint64) {
	t.buckets[BucketOf(KeyHash(key), len(t.buckets))] ^= EntryDigest(key, version)
}

// Fill writes the digests for len(d) buckets into d; smaller sizes fold
// adjacent buckets. A size the table cannot give (larger than the table, or
// not a power of two) is filled with random values, which match nothing:
// anti-entropy then resends everything, slow but never wrong.
func (t *DigestTable) Fill(d []uint64) {
	clear(d)
	if !isPowerOfTwo(len(d)) || len(d) > len(t.buckets) {
		for i := range d {
			d[i] = rand.Uint64()
		}
		return
	}
	per := len(t.buckets) / len(d)
	for i, v := range t.buckets {
		d[i/per] ^= v
	}
}
