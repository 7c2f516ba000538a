package tiercache

import (
	"context"
	"testing"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l1"
	"github.com/tiercache/tiercache/l2"
)

// l1Client returns a client whose "l1" keyspace keeps every key in L1,
// with key primed there.
func l1Client(tb testing.TB, key string) (*Client, Loader) {
	r := startRegion(tb, 1, l2.TierOptions{})
	c := r.client(tb, Config{Keyspaces: &keyspace.Table{Spaces: map[string]keyspace.Settings{"l1": {L1: keyspace.L1All}}}})
	waitFor(tb, "subscriptions", c.trackingUpAll)
	origin := newCountingLoader()
	ctx := context.Background()
	waitFor(tb, "key in L1", func() bool {
		c.Get(ctx, key, origin)
		_, _, st := c.l1.Get(nil, []byte(key))
		return st == l1.Hit
	})
	return c, origin
}

func TestL1HitAllocatesNothing(t *testing.T) {
	c, origin := l1Client(t, "l1:alloc")
	ctx := context.Background()
	buf := make([]byte, 0, 64+l1.TrailerSize)
	allocs := testing.AllocsPerRun(1000, func() {
		v, err := c.GetAppend(ctx, buf[:0], "l1:alloc", origin)
		if err != nil || string(v) != "v(l1:alloc)" {
			t.Fatalf("%q %v", v, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("L1 hit through GetAppend: %v allocs", allocs)
	}
	if a := testing.AllocsPerRun(100, func() { c.Get(ctx, "l1:alloc", origin) }); a != 1 {
		t.Fatalf("L1 hit through Get: %v allocs, want 1 (the returned copy)", a)
	}
}

func BenchmarkGetL1Hit(b *testing.B) {
	c, origin := l1Client(b, "l1:bench")
	ctx := context.Background()
	b.Run("GetAppend", func(b *testing.B) {
		buf := make([]byte, 0, 64+l1.TrailerSize)
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = c.GetAppend(ctx, buf[:0], "l1:bench", origin)
		}
	})
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Get(ctx, "l1:bench", origin)
		}
	})
	b.Run("GetAppendParallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			buf := make([]byte, 0, 64+l1.TrailerSize)
			for pb.Next() {
				buf, _ = c.GetAppend(ctx, buf[:0], "l1:bench", origin)
			}
		})
	})
}

func BenchmarkGetL2Hit(b *testing.B) {
	r := startRegion(b, 1, l2.TierOptions{})
	c := r.client(b, Config{Keyspaces: &keyspace.Table{Default: keyspace.Settings{L1: keyspace.L1Off}}})
	origin := newCountingLoader()
	ctx := context.Background()
	c.Get(ctx, "k", origin)
	c.quiesce(b)
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = c.GetAppend(ctx, buf[:0], "k", origin)
	}
}
