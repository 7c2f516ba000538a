package store

import (
	"fmt"
	"testing"
)

// oneShard opens a single-shard store with room for exactly n entries of
// a one-byte key and value.
func oneShard(t *testing.T, p Policy, n int) *Store {
	s, _ := newTestStore(t, Config{Policy: p, Shards: 1, MaxBytes: int64(n) * charge(1, 1)})
	return s
}

func set1(t *testing.T, s *Store, k string) {
	t.Helper()
	if err := s.Set([]byte(k), Item{Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
}

func TestLRUEvictsLeastRecentlyUsed(t *testing.T) {
	s := oneShard(t, PolicyLRU, 3)
	set1(t, s, "a")
	set1(t, s, "b")
	set1(t, s, "c")
	s.Get([]byte("a"))
	set1(t, s, "d")
	for k, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if s.Exists([]byte(k)) != want {
			t.Errorf("after reading a and adding d: Exists(%s) = %v, want %v", k, !want, want)
		}
	}
	if st := stats(s); st.Evictions != 1 {
		t.Fatalf("Evictions = %d, want 1", st.Evictions)
	}
}

func TestS3FIFOKeepsReusedKeysThroughAScan(t *testing.T) {
	s := oneShard(t, PolicyS3FIFO, 100)
	hot := make([]string, 50)
	for i := range hot {
		hot[i] = fmt.Sprint("h", i)
		set1(t, s, hot[i])
	}
	for _, k := range hot {
		s.Get([]byte(k))
	}
	for i := range 1000 { // a scan of keys read once, ten times the cache
		set1(t, s, fmt.Sprint("scan", i))
	}
	for _, k := range hot {
		if !s.Exists([]byte(k)) {
			t.Fatalf("reused key %s was evicted by a scan", k)
		}
	}
}

func TestS3FIFOGhostSendsReturningKeyToMain(t *testing.T) {
	s := oneShard(t, PolicyS3FIFO, 20)
	set1(t, s, "x")
	for i := 0; s.Exists([]byte("x")); i++ { // push x out of the small queue unread
		if i > 20 {
			t.Fatal("x survived without a read")
		}
		set1(t, s, fmt.Sprint("k", i))
	}
	for i := range 5 { // the ghost remembers about as many keys as the cache holds
		set1(t, s, fmt.Sprint("more", i))
	}
	set1(t, s, "x")
	sh := &s.shards[0]
	if q := sh.entries[sh.index["x"]].q; q != qMain {
		t.Fatalf("x came back to queue %d, want main (%d): the ghost should remember it", q, qMain)
	}
	set1(t, s, "fresh")
	if q := sh.entries[sh.index["fresh"]].q; q != qSmall {
		t.Fatalf("a new key went to queue %d, want small (%d)", q, qSmall)
	}
}

func TestHotnessEstimate(t *testing.T) {
	var e entry
	if e.hotness() != 0 {
		t.Fatal("unread entry is hot")
	}
	for hits := 1; hits <= hotStep; hits++ { // the first steps are certain
		e.touch(uint64(hits))
		if got := e.hotness(); got != uint32(hits) {
			t.Fatalf("after %d hits hotness = %d", hits, got)
		}
	}
	if f := e.counters & freqMask; f != maxFreq {
		t.Fatalf("reuse counter = %d after %d hits, want it capped at %d", f, hotStep, maxFreq)
	}
	e.counters = maxHot << hotShift
	if got := e.hotness(); got < 1<<31 {
		t.Fatalf("saturated hotness = %d", got)
	}
	e.touch(0)
	if e.counters>>hotShift != maxHot {
		t.Fatal("hit counter passed its cap")
	}
}

func TestGhostKeepsNewestDuplicate(t *testing.T) {
	var g ghost
	g.reset()
	g.add(1, 3)
	g.add(2, 3)
	g.add(1, 3) // 1 again: the older copy must not take the newer with it
	g.add(3, 3) // pops the first 1
	if !g.take(1) {
		t.Fatal("popping an old duplicate forgot the newer one")
	}
	if g.take(1) {
		t.Fatal("take did not forget")
	}
	for h := uint64(10); h < 100; h++ { // wraps the ring several times
		g.add(h, 3)
	}
	if g.n != 3 || len(g.set) != 3 || !g.take(99) || g.take(96) {
		t.Fatalf("ghost after wrapping: n=%d set=%d", g.n, len(g.set))
	}
}
