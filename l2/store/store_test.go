package store

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"lru", Config{Policy: PolicyLRU}, true},
		{"s3fifo", Config{Policy: PolicyS3FIFO}, true},
		{"negative bytes", Config{MaxBytes: -1}, false},
		{"unknown policy", Config{Policy: "clock"}, false},
		{"negative tombstone ttl", Config{TombstoneTTL: -time.Second}, false},
		{"shards not power of two", Config{Shards: 3}, false},
		{"too many shards", Config{Shards: 2 * MaxShards}, false},
		{"negative shards", Config{Shards: -2}, false},
		{"shards too small", Config{MaxBytes: 1000, Shards: 16}, false},
		{"negative expiry means off", Config{ActiveExpiry: -1}, true},
		{"expiry period too short", Config{ActiveExpiry: time.Microsecond}, false},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if (err == nil) != c.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v does not wrap ErrInvalidConfig", c.name, err)
		}
		s, err := New(c.cfg)
		if (err == nil) != c.ok {
			t.Errorf("%s: New error = %v, want ok=%v", c.name, err, c.ok)
		}
		if s != nil {
			_ = s.Close()
		}
	}
}

func TestDefaults(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := len(s.shards); got != autoMaxShards {
		t.Errorf("shards = %d, want %d", got, autoMaxShards)
	}
	if got := stats(s).MaxBytes; got != DefaultMaxBytes {
		t.Errorf("MaxBytes = %d, want %d", got, DefaultMaxBytes)
	}
	if got := s.MaxEntryBytes(); got < 1<<20+1024 {
		t.Errorf("MaxEntryBytes = %d, want room for a 1 MiB value", got)
	}
	for _, c := range []struct {
		maxBytes int64
		shards   int
	}{{1 << 20, 1}, {3 << 20, 1}, {8 << 20, 4}, {64 << 20, 32}, {128 << 20, 64}} {
		s, _ := newTestStore(t, Config{MaxBytes: c.maxBytes})
		if got := len(s.shards); got != c.shards {
			t.Errorf("%d MiB store has %d shards, want %d (each at least 2 MiB)", c.maxBytes>>20, got, c.shards)
		}
		if c.maxBytes >= 2<<20 && s.MaxEntryBytes() < 1<<20+1024 {
			t.Errorf("%d MiB store cannot hold a 1 MiB value", c.maxBytes>>20)
		}
	}
}

func TestSetGetCopiesAndCounts(t *testing.T) {
	s, _ := newTestStore(t, Config{})
	key, val := []byte("user:1"), []byte("alice")
	if err := s.Set(key, Item{Value: val, Version: 7, SoftExpireAt: 5}); err != nil {
		t.Fatal(err)
	}
	key[0], val[0] = 'X', 'X' // callers reuse their buffers
	it, ok := s.Get([]byte("user:1"))
	if !ok || string(it.Value) != "alice" || it.Version != 7 || it.SoftExpireAt != 5 || it.ExpireAt != 0 {
		t.Fatalf("Get = %+v, %v; want alice v7", it, ok)
	}
	if _, ok := s.Get([]byte("Xser:1")); ok {
		t.Fatal("the caller's reused key buffer became a key")
	}
	if _, ok := s.Peek([]byte("nope")); ok {
		t.Fatal("Peek found a missing key")
	}
	if it, ok := s.Peek([]byte("user:1")); !ok || string(it.Value) != "alice" {
		t.Fatalf("Peek = %q, %v", it.Value, ok)
	}
	st := stats(s)
	if st.Gets != 2 || st.Hits != 1 || st.Misses != 1 || st.Sets != 1 || st.Keys != 1 {
		t.Fatalf("stats = %+v; want 2 gets, 1 hit, 1 miss, 1 set, 1 key (Peek uncounted)", st)
	}
	if want := charge(len("user:1"), len("alice")); st.Bytes != want {
		t.Fatalf("Bytes = %d, want %d", st.Bytes, want)
	}
}

func TestSetOverwriteAndEmptyValue(t *testing.T) {
	s, _ := newTestStore(t, Config{})
	k := []byte("k")
	_ = s.Set(k, Item{Value: []byte("first"), ExpireAt: 1 << 50})
	first, _ := s.Get(k)
	_ = s.Set(k, Item{Value: []byte{}})
	it, ok := s.Get(k)
	if !ok || it.Value == nil || len(it.Value) != 0 || it.ExpireAt != 0 {
		t.Fatalf("empty value: Get = %#v, %v; want a non-nil empty value without expiry", it, ok)
	}
	if string(first.Value) != "first" {
		t.Fatalf("an earlier reader's value changed to %q", first.Value)
	}
	if st := stats(s); st.Keys != 1 || st.Bytes != charge(1, 0) {
		t.Fatalf("after overwrite: keys %d bytes %d", st.Keys, st.Bytes)
	}
}

func TestSetTooLarge(t *testing.T) {
	s, _ := newTestStore(t, Config{MaxBytes: 4096, Shards: 1})
	k := []byte("k")
	_ = s.Set(k, Item{Value: []byte("old")})
	big := make([]byte, s.MaxEntryBytes())
	if err := s.Set(k, Item{Value: big}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Set of %d bytes = %v, want ErrTooLarge", len(big), err)
	}
	if s.Exists(k) {
		t.Fatal("the value a failed Set meant to replace is still served")
	}
	if err := s.Set(k, Item{Value: big[:len(big)-1]}); err != nil {
		t.Fatalf("Set of exactly MaxEntryBytes: %v", err)
	}
}

func TestDelete(t *testing.T) {
	s, _ := newTestStore(t, Config{})
	_ = s.Set([]byte("a"), Item{Value: []byte("1")})
	if !s.Delete([]byte("a")) {
		t.Fatal("Delete of a live key = false")
	}
	if s.Delete([]byte("a")) || s.Exists([]byte("a")) {
		t.Fatal("key still there after Delete")
	}
	if st := stats(s); st.Deletes != 1 || st.Keys != 0 || st.Bytes != 0 {
		t.Fatalf("stats after delete = %+v", st)
	}
}

func TestLenAndFlush(t *testing.T) {
	s, _ := newTestStore(t, Config{})
	for i := range 100 {
		_ = s.Set([]byte(strconv.Itoa(i)), Item{Value: []byte("v")})
	}
	s.DeleteVersion([]byte("gone"), 9)
	if got := s.Len(); got != 100 {
		t.Fatalf("Len = %d, want 100", got)
	}
	s.Flush()
	if got := s.Len(); got != 0 {
		t.Fatalf("Len after Flush = %d", got)
	}
	if _, ok := s.Get([]byte("5")); ok {
		t.Fatal("Get after Flush found a key")
	}
	if v, ok := s.Tombstone([]byte("gone")); !ok || v != 9 {
		t.Fatal("Flush dropped a tombstone; an old write could come back")
	}
	if st := stats(s); st.Bytes != charge(4, 0) {
		t.Fatalf("Bytes after Flush = %d, want only the tombstone's %d", st.Bytes, charge(4, 0))
	}
}

func TestRandomKey(t *testing.T) {
	s, c := newTestStore(t, Config{Shards: 8})
	if _, ok := s.RandomKey(); ok {
		t.Fatal("RandomKey on an empty store")
	}
	_ = s.Set([]byte("dead"), Item{Value: []byte("v"), ExpireAt: ms(c, time.Second)})
	seen := map[string]bool{}
	for i := range 50 {
		_ = s.Set([]byte(fmt.Sprint("k", i)), Item{Value: []byte("v")})
	}
	c.Advance(2 * time.Second)
	for range 2000 {
		k, ok := s.RandomKey()
		if !ok || string(k) == "dead" {
			t.Fatalf("RandomKey = %q, %v", k, ok)
		}
		seen[string(k)] = true
	}
	if len(seen) < 25 {
		t.Fatalf("RandomKey gave only %d distinct keys of 50", len(seen))
	}
}

func TestUpdateStatsAdds(t *testing.T) {
	a, _ := newTestStore(t, Config{MaxBytes: 1 << 20})
	b, _ := newTestStore(t, Config{MaxBytes: 2 << 20})
	_ = a.Set([]byte("x"), Item{Value: []byte("1")})
	_ = b.Set([]byte("y"), Item{Value: []byte("2")})
	b.Get([]byte("y"))
	var st Stats
	a.UpdateStats(&st)
	b.UpdateStats(&st)
	if st.Keys != 2 || st.Sets != 2 || st.Hits != 1 || st.MaxBytes != 3<<20 || st.Bytes != 2*charge(1, 1) {
		t.Fatalf("summed stats = %+v", st)
	}
}
