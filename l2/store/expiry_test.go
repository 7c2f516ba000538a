package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
)

func TestLazyExpiry(t *testing.T) {
	s, c := newTestStore(t, Config{})
	k := []byte("k")
	_ = s.Set(k, Item{Value: []byte("v"), ExpireAt: ms(c, time.Second), SoftExpireAt: ms(c, 500*time.Millisecond)})
	c.Advance(999 * time.Millisecond)
	if it, ok := s.Get(k); !ok || string(it.Value) != "v" {
		t.Fatal("item gone before its hard expiry (soft expiry is only advice)")
	}
	c.Advance(time.Millisecond)
	if s.Exists(k) {
		t.Fatal("Exists true at the hard expiry")
	}
	if s.Len() != 1 {
		t.Fatal("Peek/Exists removed the item; only Get should")
	}
	if _, ok := s.Get(k); ok {
		t.Fatal("Get returned an expired item")
	}
	if st := stats(s); st.Keys != 0 || st.Expired != 1 || st.Bytes != 0 {
		t.Fatalf("after lazy expiry: %+v", st)
	}
}

func TestDeleteOfExpiredIsNotALiveDelete(t *testing.T) {
	s, c := newTestStore(t, Config{})
	_ = s.Set([]byte("k"), Item{Value: []byte("v"), ExpireAt: ms(c, time.Second)})
	c.Advance(time.Second)
	if s.Delete([]byte("k")) {
		t.Fatal("Delete of an expired key reported a live removal")
	}
	if st := stats(s); st.Expired != 1 || st.Deletes != 0 || st.Keys != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestActiveExpiryTick(t *testing.T) {
	s, c := newTestStore(t, Config{Shards: 4})
	for i := range 1000 {
		_ = s.Set([]byte(fmt.Sprint("ttl", i)), Item{Value: []byte("v"), ExpireAt: ms(c, time.Second)})
		_ = s.Set([]byte(fmt.Sprint("long", i)), Item{Value: []byte("v"), ExpireAt: ms(c, time.Hour)})
		_ = s.Set([]byte(fmt.Sprint("forever", i)), Item{Value: []byte("v")})
	}
	if n := s.expireTick(); n != 0 {
		t.Fatalf("tick removed %d keys before anything expired", n)
	}
	c.Advance(time.Second)
	first := s.expireTick()
	// Each shard works at most expiryMaxRounds rounds per tick.
	if limit := 4 * expiryMaxRounds * expirySample; first == 0 || first > limit {
		t.Fatalf("first tick removed %d, want 1..%d", first, limit)
	}
	for range 100 {
		s.expireTick()
	}
	st := stats(s)
	// Sampling stops once at most a quarter of a sample is expired, so a
	// few expired keys may wait for a read; most must be gone.
	if st.Expired < 900 || st.Keys != 3000-st.Expired {
		t.Fatalf("after 100 ticks: %d expired, %d keys", st.Expired, st.Keys)
	}
	for i := range 1000 {
		if !s.Exists([]byte(fmt.Sprint("long", i))) || !s.Exists([]byte(fmt.Sprint("forever", i))) {
			t.Fatal("active expiry removed a live key")
		}
	}
}

func TestActiveExpiryGoroutine(t *testing.T) {
	c := clock.NewFake(epoch)
	s, _ := newTestStore(t, Config{Clock: c, ActiveExpiry: time.Millisecond})
	for i := range 100 {
		_ = s.Set([]byte(fmt.Sprint(i)), Item{Value: []byte("v"), ExpireAt: ms(c, time.Second)})
	}
	s.DeleteVersion([]byte("dead"), 1)
	c.Advance(time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := stats(s)
		if st.Keys == 0 && st.Tombstones == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the expirer left %d keys, %d tombstones", st.Keys, st.Tombstones)
		}
		time.Sleep(time.Millisecond) // waiting for the goroutine, not for time to pass
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}
