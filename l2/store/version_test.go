package store

import (
	"fmt"
	"testing"
	"time"
)

func TestSetIfNewer(t *testing.T) {
	s, _ := newTestStore(t, Config{})
	k := []byte("k")
	steps := []struct {
		version uint64
		applied bool
	}{
		{5, true},  // nothing there
		{5, false}, // same version: the same write again
		{4, false}, // older
		{9, true},
	}
	for _, st := range steps {
		ok, err := s.SetIfNewer(k, Item{Value: []byte(fmt.Sprint(st.version)), Version: st.version})
		if err != nil || ok != st.applied {
			t.Fatalf("SetIfNewer v%d = %v, %v; want %v", st.version, ok, err, st.applied)
		}
	}
	if it, _ := s.Get(k); it.Version != 9 || string(it.Value) != "9" {
		t.Fatalf("item = %+v, want v9", it)
	}
}

func TestSetIfNewerIgnoresExpiredItem(t *testing.T) {
	s, c := newTestStore(t, Config{})
	_ = s.Set([]byte("k"), Item{Value: []byte("v"), Version: 10, ExpireAt: ms(c, time.Second)})
	c.Advance(time.Second)
	if ok, _ := s.SetIfNewer([]byte("k"), Item{Value: []byte("w"), Version: 3}); !ok {
		t.Fatal("an expired item's version blocked a write")
	}
}

func TestDeleteVersionRejectsLateWrites(t *testing.T) {
	s, c := newTestStore(t, Config{TombstoneTTL: 10 * time.Second})
	k := []byte("k")
	_, _ = s.SetIfNewer(k, Item{Value: []byte("v5"), Version: 5})
	if !s.DeleteVersion(k, 7) {
		t.Fatal("DeleteVersion of an older live item = false")
	}
	if s.Exists(k) {
		t.Fatal("item survived a newer delete")
	}
	if v, ok := s.Tombstone(k); !ok || v != 7 {
		t.Fatalf("Tombstone = %d, %v; want 7", v, ok)
	}
	for _, v := range []uint64{6, 7} {
		if ok, _ := s.SetIfNewer(k, Item{Value: []byte("late"), Version: v}); ok {
			t.Fatalf("late write v%d passed a v7 tombstone", v)
		}
	}
	if s.Len() != 0 {
		t.Fatal("a tombstone counts as a key")
	}
	c.Advance(10 * time.Second)
	if _, ok := s.Tombstone(k); ok {
		t.Fatal("tombstone outlived its TTL")
	}
	if ok, _ := s.SetIfNewer(k, Item{Value: []byte("late"), Version: 6}); !ok {
		t.Fatal("a forgotten tombstone still rejects writes")
	}
}

func TestDeleteVersionKeepsNewerItem(t *testing.T) {
	s, _ := newTestStore(t, Config{})
	k := []byte("k")
	_, _ = s.SetIfNewer(k, Item{Value: []byte("v9"), Version: 9})
	for _, v := range []uint64{8, 9} {
		if s.DeleteVersion(k, v) {
			t.Fatalf("DeleteVersion v%d removed a v9 item", v)
		}
	}
	if !s.Exists(k) {
		t.Fatal("newer item gone")
	}
	if _, ok := s.Tombstone(k); ok {
		t.Fatal("a delete older than the live item left a tombstone")
	}
}

func TestTombstoneOnMissingKeyAndRaising(t *testing.T) {
	s, _ := newTestStore(t, Config{})
	k := []byte("k")
	if s.DeleteVersion(k, 4) {
		t.Fatal("DeleteVersion of a missing key reported a removal")
	}
	s.DeleteVersion(k, 3) // older delete arrives late: keeps 4
	if v, _ := s.Tombstone(k); v != 4 {
		t.Fatalf("tombstone = %d, want 4", v)
	}
	s.DeleteVersion(k, 8)
	if v, _ := s.Tombstone(k); v != 8 {
		t.Fatalf("tombstone = %d, want 8", v)
	}
	if ok, _ := s.SetIfNewer(k, Item{Value: []byte("v9"), Version: 9}); !ok {
		t.Fatal("a newer write was rejected")
	}
	if _, ok := s.Tombstone(k); ok {
		t.Fatal("an applied newer write left the tombstone")
	}
}

func TestSetClearsTombstone(t *testing.T) {
	s, _ := newTestStore(t, Config{})
	k := []byte("k")
	s.DeleteVersion(k, 100)
	if err := s.Set(k, Item{Value: []byte("plain")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Tombstone(k); ok {
		t.Fatal("plain Set kept the tombstone")
	}
	if it, ok := s.Get(k); !ok || string(it.Value) != "plain" {
		t.Fatal("plain Set after a tombstone is not readable")
	}
	if st := stats(s); st.Tombstones != 0 || st.Keys != 1 || st.Bytes != charge(1, 5) {
		t.Fatalf("stats = %+v", st)
	}
}

func TestTombstonesAreBounded(t *testing.T) {
	const budget = 64 << 10
	s, c := newTestStore(t, Config{MaxBytes: budget, Shards: 1, TombstoneTTL: time.Hour})
	for i := range 200 {
		_ = s.Set([]byte(fmt.Sprint("live", i)), Item{Value: []byte("v")})
	}
	for i := range 10_000 {
		s.DeleteVersion([]byte(fmt.Sprint("dead", i)), uint64(i+1))
		if st := stats(s); st.Bytes > budget {
			t.Fatalf("after %d tombstones: %d bytes over the %d budget", i+1, st.Bytes, budget)
		}
	}
	st := stats(s)
	if st.Keys != 0 || st.TombstoneEvictions == 0 {
		t.Fatalf("stats = %+v; want live items evicted before tombstones, then old tombstones dropped", st)
	}
	if _, ok := s.Tombstone([]byte("dead9999")); !ok {
		t.Fatal("newest tombstone dropped")
	}
	if _, ok := s.Tombstone([]byte("dead0")); ok {
		t.Fatal("oldest tombstone kept over budget")
	}
	c.Advance(time.Hour)
	for s.expireTick() > 0 {
	}
	if st := stats(s); st.Tombstones != 0 || st.Bytes != 0 {
		t.Fatalf("after the TTL: %d tombstones, %d bytes", st.Tombstones, st.Bytes)
	}
}
