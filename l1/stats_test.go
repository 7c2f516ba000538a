package l1

import (
	"encoding/binary"
	"testing"
	"time"
)

func TestStatsCountEachOutcome(t *testing.T) {
	c, fake := newTestCache(t, Config{})
	k := func(s string) []byte { return []byte(s) }
	mustSet(t, c, k("fresh"), "v", Meta{Version: 1})
	mustSet(t, c, k("soon-stale"), "v", Meta{Version: 1, SoftExpireAt: ms(time.Second), HardExpireAt: ms(time.Hour)})
	mustSet(t, c, k("soon-gone"), "v", Meta{Version: 1, HardExpireAt: ms(time.Second)})
	if _, err := c.SetIfNewer(k("fresh"), []byte("old"), Meta{Version: 0}); err != nil { // refused
		t.Fatal(err)
	}
	c.Invalidate(k("tomb"), 5) // leaves a tombstone
	c.Invalidate(k("tomb"), 3) // no change: not counted
	fake.Advance(2 * time.Second)

	for _, key := range []string{"fresh", "fresh", "soon-stale", "soon-gone", "tomb", "absent"} {
		c.Get(nil, k(key))
	}

	var s Stats
	c.UpdateStats(&s)
	want := Stats{
		Gets: 6, Hits: 2, Stale: 1, Misses: 3, Expired: 1,
		Sets: 3, SetsRefused: 1, Invalidations: 1, Evictions: 0,
		EntriesCount: 4, MaxBytesSize: DefaultMaxBytes,
	}
	s.BytesSize = 0 // depends on fastcache's chunk allocation; checked in TestBudgetBound
	if s != want {
		t.Fatalf("stats:\n got %+v\nwant %+v", s, want)
	}

	// UpdateStats adds, so two caches can be summed into one Stats.
	c.UpdateStats(&s)
	if s.Gets != 12 || s.EntriesCount != 8 {
		t.Fatalf("second UpdateStats did not add: Gets %d, EntriesCount %d", s.Gets, s.EntriesCount)
	}

	c.Delete(k("fresh"))
	c.Reset()
	s.Reset()
	c.UpdateStats(&s)
	if s != (Stats{MaxBytesSize: DefaultMaxBytes}) {
		t.Fatalf("after Reset: %+v", s)
	}
}

func TestBudgetBound(t *testing.T) {
	// A budget that is not a multiple of BudgetUnit must be rounded down,
	// never up: this one must hold no more than one unit.
	const maxBytes = BudgetUnit + BudgetUnit/2
	c, _ := newTestCache(t, Config{MaxBytes: maxBytes})
	val := make([]byte, 1000)
	key := make([]byte, 8)
	const writes = 4 * maxBytes / 1000 // several times the budget
	for i := range writes {
		binary.BigEndian.PutUint64(key, uint64(i))
		mustSet(t, c, key, string(val), Meta{Version: 1})
	}
	var s Stats
	c.UpdateStats(&s)
	if s.MaxBytesSize != BudgetUnit || s.BytesSize > BudgetUnit {
		t.Fatalf("BytesSize %d, MaxBytesSize %d; want both <= %d", s.BytesSize, s.MaxBytesSize, BudgetUnit)
	}
	entryBytes := uint64(len(key) + len(val) + TrailerSize + fastcacheOverhead)
	room := BudgetUnit / entryBytes
	live := uint64(hits(c, key, writes))
	if live > room {
		t.Fatalf("%d entries readable, more than %d bytes hold", live, BudgetUnit)
	}
	// Evictions lag by at most one ring's worth: overwritten entries
	// fastcache has not reclaimed yet.
	if s.Evictions > writes-live || s.Evictions < writes-2*room {
		t.Fatalf("Evictions = %d after %d writes, %d live, room for %d", s.Evictions, writes, live, room)
	}
	// Eviction is FIFO: the last writes survive, the first ones are gone.
	binary.BigEndian.PutUint64(key, writes-1)
	if _, _, st := c.Get(nil, key); st != Hit {
		t.Fatalf("last write: %v, want hit", st)
	}
	binary.BigEndian.PutUint64(key, 0)
	if _, _, st := c.Get(nil, key); st != Miss {
		t.Fatalf("first write: %v, want miss", st)
	}
}

// hits counts how many of keys 0..n-1 (big-endian in key) Get finds.
func hits(c *Cache, key []byte, n int) int {
	live := 0
	buf := make([]byte, 0, 2048)
	for i := range n {
		binary.BigEndian.PutUint64(key, uint64(i))
		var st Status
		if buf, _, st = c.Get(buf[:0], key); st != Miss {
			live++
		}
	}
	return live
}
