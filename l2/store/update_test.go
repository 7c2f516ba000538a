package store

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

// The Redis commands the RESP server builds on Update, as the server would
// write them.

func setNX(s *Store, k, v string) bool {
	_, _, _ = s.Update([]byte(k), func(old Item, exists bool) (Item, Op) {
		if exists {
			return old, Keep
		}
		return Item{Value: []byte(v)}, Put
	})
	it, _ := s.Peek([]byte(k))
	return string(it.Value) == v
}

func TestUpdateSetNX(t *testing.T) {
	s, _ := newTestStore(t, Config{})
	if !setNX(s, "k", "first") {
		t.Fatal("SET NX on a missing key did not store")
	}
	if setNX(s, "k", "second") {
		t.Fatal("SET NX overwrote a live key")
	}
}

func TestUpdateSetXXWithGet(t *testing.T) {
	s, _ := newTestStore(t, Config{})
	var prev []byte
	xx := func(v string) (Item, bool, error) {
		return s.Update([]byte("k"), func(old Item, exists bool) (Item, Op) {
			prev = old.Value
			if !exists {
				return old, Keep
			}
			return Item{Value: []byte(v)}, Put
		})
	}
	if _, ok, err := xx("a"); ok || err != nil || s.Exists([]byte("k")) {
		t.Fatalf("SET XX on a missing key stored it (ok=%v err=%v)", ok, err)
	}
	_ = s.Set([]byte("k"), Item{Value: []byte("a")})
	it, ok, err := xx("b")
	if err != nil || !ok || string(it.Value) != "b" || string(prev) != "a" {
		t.Fatalf("SET XX GET = %q %v %v, previous %q; want b, previous a", it.Value, ok, err, prev)
	}
}

func TestUpdateIncr(t *testing.T) {
	s, _ := newTestStore(t, Config{})
	incr := func(old Item, exists bool) (Item, Op) {
		n := 0
		if exists {
			n, _ = strconv.Atoi(string(old.Value))
		}
		old.Value = strconv.AppendInt(nil, int64(n+1), 10)
		return old, Put
	}
	for range 3 {
		_, _, _ = s.Update([]byte("n"), incr)
	}
	it, ok, err := s.Update([]byte("n"), incr)
	if err != nil || !ok || string(it.Value) != "4" {
		t.Fatalf("after 4 INCR: %q %v %v", it.Value, ok, err)
	}
}

func TestUpdateExpireKeepsValueWithoutCopy(t *testing.T) {
	s, c := newTestStore(t, Config{})
	_ = s.Set([]byte("k"), Item{Value: []byte("v"), Version: 3})
	before, _ := s.Peek([]byte("k"))
	at := ms(c, time.Minute)
	it, ok, err := s.Update([]byte("k"), func(old Item, exists bool) (Item, Op) {
		old.ExpireAt = at
		return old, Put
	})
	if err != nil || !ok || it.ExpireAt != at || it.Version != 3 {
		t.Fatalf("EXPIRE = %+v %v %v", it, ok, err)
	}
	if &it.Value[0] != &before.Value[0] {
		t.Fatal("an unchanged value was copied")
	}
	c.Advance(time.Minute)
	if s.Exists([]byte("k")) {
		t.Fatal("the expiry set by Update did not apply")
	}
}

func TestUpdateCopiesNewValue(t *testing.T) {
	s, _ := newTestStore(t, Config{})
	buf := []byte("abc")
	_, _, _ = s.Update([]byte("k"), func(Item, bool) (Item, Op) { return Item{Value: buf}, Put })
	buf[0] = 'X'
	if it, _ := s.Peek([]byte("k")); string(it.Value) != "abc" {
		t.Fatalf("stored value follows the caller's buffer: %q", it.Value)
	}
}

func TestUpdateRemoveAndKeep(t *testing.T) {
	s, _ := newTestStore(t, Config{})
	_ = s.Set([]byte("k"), Item{Value: []byte("v")})
	it, ok, err := s.Update([]byte("k"), func(old Item, exists bool) (Item, Op) { return Item{Value: []byte("ignored")}, Keep })
	if err != nil || !ok || string(it.Value) != "v" {
		t.Fatalf("Keep = %q %v %v, want the old item", it.Value, ok, err)
	}
	_, ok, _ = s.Update([]byte("k"), func(Item, bool) (Item, Op) { return Item{}, Remove })
	if ok || s.Exists([]byte("k")) {
		t.Fatal("Remove left the key")
	}
	if st := stats(s); st.Deletes != 1 {
		t.Fatalf("Deletes = %d, want 1", st.Deletes)
	}
}

func TestUpdateSeesExpiredAsMissing(t *testing.T) {
	s, c := newTestStore(t, Config{})
	_ = s.Set([]byte("k"), Item{Value: []byte("v"), ExpireAt: ms(c, time.Second)})
	c.Advance(time.Second)
	if !setNX(s, "k", "new") {
		t.Fatal("SET NX did not replace an expired key")
	}
	if st := stats(s); st.Expired != 1 || st.Keys != 1 {
		t.Fatalf("stats = %+v, want 1 expired, 1 key", st)
	}
}

func TestUpdateTooLargeLeavesKey(t *testing.T) {
	s, _ := newTestStore(t, Config{MaxBytes: 4096, Shards: 1})
	_ = s.Set([]byte("k"), Item{Value: []byte("v")})
	it, ok, err := s.Update([]byte("k"), func(Item, bool) (Item, Op) { return Item{Value: make([]byte, 8192)}, Put })
	if !errors.Is(err, ErrTooLarge) || !ok || string(it.Value) != "v" {
		t.Fatalf("Update too large = %q %v %v; want the old item and ErrTooLarge", it.Value, ok, err)
	}
	if !s.Exists([]byte("k")) {
		t.Fatal("a failed Update removed the key")
	}
}
