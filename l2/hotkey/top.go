package hotkey

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// Slot states in topTable.hashes besides a key's hash.
const (
	emptySlot   = 0 // never used: a lookup stops here
	evictedSlot = 1 // held a key that was evicted: a lookup probes past it
	maxProbes   = 16
)

// slotHash maps a key hash to a value that is never a slot state. The two
// hashes it remaps are then estimated as the keys hashing to 2 and 3, a
// 2^-63 chance of a wrong count in Top.
func slotHash(h uint64) uint64 {
	if h <= evictedSlot {
		return h + 2
	}
	return h
}

// topTable is an open-addressed set of key hashes that Touch can probe
// without locks. Keys are never removed in place, only marked evicted; prune
// replaces the whole table.
type topTable struct {
	hashes []atomic.Uint64
	keys   []string // guarded by topKeys.mu; keys[i] is the key hashes[i] names
	mask   uint64
	live   int // guarded by topKeys.mu
}

func newTopTable(capacity int) *topTable {
	size := 1
	for size < 2*capacity { // at most half full, so probe runs stay short
		size <<= 1
	}
	return &topTable{hashes: make([]atomic.Uint64, size), keys: make([]string, size), mask: uint64(size - 1)}
}

// contains reports whether sh (a slotHash) is in the table.
func (t *topTable) contains(sh uint64) bool {
	i := sh & t.mask
	for range maxProbes {
		switch t.hashes[i].Load() {
		case sh:
			return true
		case emptySlot:
			return false
		}
		i = (i + 1) & t.mask
	}
	return false
}

// insertLocked adds key unless it is there already, and reports whether it
// is in the table afterwards (false when its probe run is full).
func (t *topTable) insertLocked(sh uint64, key string) bool {
	i := sh & t.mask
	for range maxProbes {
		switch t.hashes[i].Load() {
		case sh:
			return true
		case emptySlot:
			t.keys[i] = key
			t.hashes[i].Store(sh) // publish after the key is in place
			t.live++
			return true
		}
		i = (i + 1) & t.mask
	}
	return false
}

// evictScansPerTick bounds how often a full table is scanned for a key to
// evict: a scan estimates every remembered key, tens of microseconds.
const evictScansPerTick = 8

// topKeys remembers up to capacity hot keys so Top can name them.
type topKeys struct {
	capacity int
	estimate func(h uint64) uint64

	table atomic.Pointer[topTable]
	// full, coolest and scansLeft let Touch skip the lock when the table is
	// full and the key cannot displace anyone: coolest is the smallest count
	// the last eviction scan saw, and scansLeft is this tick's scan budget.
	full      atomic.Bool
	coolest   atomic.Uint64
	scansLeft atomic.Int32

	mu sync.Mutex // serializes changes to table and its keys
}

func newTopKeys(capacity int, estimate func(uint64) uint64) *topKeys {
	tk := &topKeys{capacity: capacity, estimate: estimate}
	tk.table.Store(newTopTable(capacity))
	tk.scansLeft.Store(evictScansPerTick)
	return tk
}

// mightTake reports whether a key with this count could enter the table.
func (tk *topKeys) mightTake(count uint64) bool {
	return !tk.full.Load() || (count > tk.coolest.Load() && tk.scansLeft.Load() > 0)
}

// remember records that the key hashing to h is hot with the given count.
func (tk *topKeys) remember(h uint64, key []byte, count uint64) {
	sh := slotHash(h)
	if tk.table.Load().contains(sh) || !tk.mightTake(count) {
		return
	}
	tk.mu.Lock()
	defer tk.mu.Unlock()
	t := tk.table.Load()
	if t.contains(sh) || !tk.mightTake(count) {
		return
	}
	if t.live >= tk.capacity {
		// Space-Saving keeps the heaviest: the new key displaces the
		// coolest remembered one if it is now hotter.
		tk.scansLeft.Add(-1)
		victim, coolest := -1, uint64(math.MaxUint64)
		for i := range t.hashes {
			if sh := t.hashes[i].Load(); sh > evictedSlot {
				if c := tk.estimate(sh); c < coolest {
					victim, coolest = i, c
				}
			}
		}
		if coolest >= count {
			tk.coolest.Store(coolest)
			return
		}
		t.hashes[victim].Store(evictedSlot)
		t.keys[victim] = ""
		t.live--
	}
	t.insertLocked(sh, string(key))
	tk.full.Store(t.live >= tk.capacity)
}

// prune rebuilds the table with only the keys still at or over threshold.
func (tk *topKeys) prune(threshold uint64) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	old := tk.table.Load()
	fresh := newTopTable(tk.capacity)
	for i := range old.hashes {
		if sh := old.hashes[i].Load(); sh > evictedSlot && tk.estimate(sh) >= threshold {
			fresh.insertLocked(sh, old.keys[i])
		}
	}
	tk.table.Store(fresh)
	tk.full.Store(fresh.live >= tk.capacity)
	tk.coolest.Store(0)
	tk.scansLeft.Store(evictScansPerTick)
}

// top returns up to n remembered keys at or over threshold, hottest first.
func (tk *topKeys) top(n int, threshold uint64) []Entry {
	tk.mu.Lock()
	t := tk.table.Load()
	var out []Entry
	for i := range t.hashes {
		if sh := t.hashes[i].Load(); sh > evictedSlot {
			if c := tk.estimate(sh); c >= threshold {
				out = append(out, Entry{Key: t.keys[i], Count: c})
			}
		}
	}
	tk.mu.Unlock()
	slices.SortFunc(out, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Key, b.Key))
	})
	return out[:min(max(n, 0), len(out))]
}
