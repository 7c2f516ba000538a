package store

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// fill stores n keys and returns their hashes by key.
func fill(t *testing.T, s *Store, n int) map[string]uint64 {
	t.Helper()
	keys := make(map[string]uint64, n)
	for i := range n {
		k := fmt.Sprint("key:", i)
		if err := s.Set([]byte(k), Item{Value: []byte(k)}); err != nil {
			t.Fatal(err)
		}
		keys[k] = s.ringHash([]byte(k))
	}
	return keys
}

func collect(s *Store, lo, hi uint64) map[string]int {
	got := map[string]int{}
	s.Range(lo, hi, func(key []byte, it Item, _ uint32) bool {
		got[string(key)]++
		if string(it.Value) != string(key) {
			panic("value does not belong to key")
		}
		return true
	})
	return got
}

func TestRangeSplitIsCompleteAndDisjoint(t *testing.T) {
	s, _ := newTestStore(t, Config{Shards: 8})
	keys := fill(t, s, 5000) // more than rangeChunk per shard
	// Five arcs that cover the ring, the last one wrapping past zero.
	bounds := []uint64{1 << 62, 1 << 63, 3 << 62, math.MaxUint64 - 1000, 1 << 40}
	seen := map[string]int{}
	for i := range bounds {
		lo, hi := bounds[i], bounds[(i+1)%len(bounds)]
		for k, n := range collect(s, lo, hi) {
			h := keys[k]
			in := lo < h && h <= hi
			if lo >= hi {
				in = h > lo || h <= hi
			}
			if !in {
				t.Fatalf("key %q hash %x reported for (%x, %x]", k, h, lo, hi)
			}
			seen[k] += n
		}
	}
	if len(seen) != len(keys) {
		t.Fatalf("arcs covered %d keys of %d", len(seen), len(keys))
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("key %q seen %d times", k, n)
		}
	}
}

func TestRangeFullRingAndStop(t *testing.T) {
	s, c := newTestStore(t, Config{})
	keys := fill(t, s, 300)
	_ = s.Set([]byte("expired"), Item{Value: []byte("expired"), ExpireAt: ms(c, time.Second)})
	s.DeleteVersion([]byte("tomb"), 1)
	c.Advance(time.Second)
	if got := collect(s, 42, 42); len(got) != len(keys) {
		t.Fatalf("lo == hi gave %d keys, want all %d live ones", len(got), len(keys))
	}
	calls := 0
	s.Range(0, 0, func([]byte, Item, uint32) bool { calls++; return calls < 10 })
	if calls != 10 {
		t.Fatalf("Range kept going after false: %d calls", calls)
	}
}

func TestRangeHotnessAndWritesFromCallback(t *testing.T) {
	s, _ := newTestStore(t, Config{})
	_ = s.Set([]byte("cold"), Item{Value: []byte("cold")})
	_ = s.Set([]byte("hot"), Item{Value: []byte("hot")})
	for range 1000 {
		s.Get([]byte("hot"))
	}
	s.Get([]byte("cold"))
	hot := map[string]uint32{}
	s.Range(0, 0, func(key []byte, _ Item, h uint32) bool {
		hot[string(key)] = h
		s.Delete(key) // fn runs without a lock held
		return true
	})
	if hot["cold"] != 1 || hot["hot"] < 250 || hot["hot"] > 4000 { // 1%..99%: 508..2044
		t.Fatalf("hotness = %v; want cold 1 and hot near 1000", hot)
	}
	if s.Len() != 0 {
		t.Fatal("deletes from the callback were lost")
	}
}
