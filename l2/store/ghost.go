package store

// ghost is S3-FIFO's ghost queue: the hashes of keys recently evicted from
// the small queue, oldest first. A key that comes back while its hash is
// still here skips probation and goes straight to the main queue. Only
// hashes are kept, so a collision at worst admits one key to main early.
type ghost struct {
	ring   []uint64 // power-of-two ring buffer of hashes
	head   int      // ring index of the oldest hash
	n      int      // hashes in the ring
	popped uint64   // sequence number of the oldest hash
	// set maps a hash to the sequence number of its newest push, so
	// popping an older duplicate does not forget a newer one.
	set map[uint64]uint64
}

// add remembers h, first forgetting the oldest hashes so at most limit
// remain.
func (g *ghost) add(h uint64, limit int) {
	for g.n > 0 && g.n >= limit {
		g.pop()
	}
	if limit <= 0 {
		return
	}
	if g.n == len(g.ring) {
		g.grow()
	}
	g.ring[(g.head+g.n)&(len(g.ring)-1)] = h
	g.set[h] = g.popped + uint64(g.n)
	g.n++
}

func (g *ghost) pop() {
	h := g.ring[g.head]
	if seq, ok := g.set[h]; ok && seq == g.popped {
		delete(g.set, h)
	}
	g.head = (g.head + 1) & (len(g.ring) - 1)
	g.n--
	g.popped++
}

func (g *ghost) grow() {
	size := max(16, 2*len(g.ring))
	ring := make([]uint64, size)
	for k := 0; k < g.n; k++ {
		ring[k] = g.ring[(g.head+k)&(len(g.ring)-1)]
	}
	g.ring, g.head = ring, 0
}

// take reports whether h is remembered and forgets it.
func (g *ghost) take(h uint64) bool {
	if _, ok := g.set[h]; !ok {
		return false
	}
	delete(g.set, h)
	return true
}

func (g *ghost) reset() {
	*g = ghost{set: make(map[uint64]uint64)}
}
