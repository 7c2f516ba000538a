package l1

import (
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/fastcache"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/maypok86/otter/v2"
)

// The comparison: L1 against raw fastcache, otter and ristretto, each
// preloaded with the same 2^20 entries of 16-byte keys and 64-byte values
// and walked in the same order by the same number of goroutines. Every
// contestant's Get delivers the value into a caller-owned buffer, as L1's
// does; otter and ristretto keep a reference to the value on Set where L1
// and fastcache copy it.
//
// BenchmarkCompare is the plain b.RunParallel form, named impl=…/op=….
// go test runs each sub-benchmark -count times in a row, so on a shared
// machine its figures drift with the neighbours' load; BenchmarkAlternating
// (alternate_bench_test.go) interleaves the contestants in short slices and
// reports per-round ratios, which is the figure to quote.
const (
	benchEntries = 1 << 20
	benchKeyLen  = 16
	benchValLen  = 64
	// benchStride walks every key once per 2^20 steps (it is odd) in an
	// order unrelated to any contestant's hashing.
	benchStride = 7919
	benchMask   = benchEntries - 1
	// benchBudget is large enough that fastcache's ring (L1's or the raw
	// one) does not wrap during a run: a wrap evicts entries FIFO, and the
	// Get-hit figures would then include misses. Chunks are allocated as
	// they are first written, so the memory in use follows the writes.
	benchBudget = 64 * BudgetUnit
)

// benchKeyset holds the keys, as []byte and as string, each in one backing
// array, and the one value every entry has.
type benchKeyset struct {
	raw []byte
	str string
	val []byte
}

func (k *benchKeyset) b(i int) []byte {
	return k.raw[i*benchKeyLen : (i+1)*benchKeyLen : (i+1)*benchKeyLen]
}
func (k *benchKeyset) s(i int) string { return k.str[i*benchKeyLen : (i+1)*benchKeyLen] }

var benchKeys = sync.OnceValue(func() *benchKeyset {
	raw := make([]byte, benchEntries*benchKeyLen)
	for i := range benchEntries {
		binary.LittleEndian.PutUint64(raw[i*benchKeyLen:], uint64(i)*0x9E3779B97F4A7C15)
		binary.LittleEndian.PutUint64(raw[i*benchKeyLen+8:], uint64(i))
	}
	val := make([]byte, benchValLen)
	for i := range val {
		val[i] = byte(i)
	}
	return &benchKeyset{raw: raw, str: string(raw), val: val}
})

// benchVersion only grows, so SetIfNewer runs stay above every version a
// previous run stored in the same fixture.
var benchVersion atomic.Uint64

// ticker is what a contestant's loop asks whether to do one more op:
// *testing.PB under b.RunParallel, a countdown in the alternating harness.
type ticker interface{ Next() bool }

// loaded is a preloaded contestant. get and set run one goroutine's loop,
// walking the keys from start; get returns how many Gets missed.
type loaded struct {
	get     func(next ticker, start int) (misses int64)
	set     func(next ticker, start int)
	release func()
	l1      *Cache // the cache itself, when the contestant is L1
}

type contestant struct {
	name string
	load func(tb testing.TB) *loaded
}

var contestants = []contestant{
	{"l1", func(tb testing.TB) *loaded { return loadL1(tb, true) }},
	{"l1-noexpiry", func(tb testing.TB) *loaded { return loadL1(tb, false) }},
	{"fastcache", loadFastcache},
	{"otter", loadOtter},
	{"ristretto", loadRistretto},
}

func BenchmarkCompare(b *testing.B) {
	for _, c := range contestants {
		b.Run("impl="+c.name+"/op=GetHit", func(b *testing.B) {
			l, w := useFixture(b, c), new(walker)
			var misses atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) { misses.Add(l.get(pb, w.start())) })
			if n := misses.Load(); n != 0 {
				b.Fatalf("%d misses in a Get-hit benchmark of %d ops", n, b.N)
			}
		})
		b.Run("impl="+c.name+"/op=Set", func(b *testing.B) {
			l, w := useFixture(b, c), new(walker)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) { l.set(pb, w.start()) })
		})
	}
	// SetIfNewer is the write the tier client uses for fills and pushes;
	// the others have no counterpart.
	b.Run("impl=l1/op=SetIfNewer", func(b *testing.B) {
		c, keys, w := useFixture(b, contestants[0]).l1, benchKeys(), new(walker)
		meta := benchMeta(true)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i, m := w.start(), meta
			for pb.Next() {
				m.Version = benchVersion.Add(1)
				if stored, err := c.SetIfNewer(keys.b(i), keys.val, m); err != nil || !stored {
					b.Errorf("SetIfNewer = %v, %v", stored, err)
					return
				}
				i = (i + benchStride) & benchMask
			}
		})
	})
}

// One contestant is loaded at a time: the benchmark function runs several
// times while testing sizes b.N, and reloading a million entries for each
// of those would dominate the run.
var fixture struct {
	name   string
	loaded *loaded
}

func useFixture(b *testing.B, c contestant) *loaded {
	b.Helper()
	if fixture.name != c.name {
		releaseFixture()
		fixture.name, fixture.loaded = c.name, c.load(b)
		runtime.GC() // bill neither the preload nor the last contestant's garbage
	}
	return fixture.loaded
}

func releaseFixture() {
	if fixture.loaded != nil {
		fixture.loaded.release()
	}
	fixture.name, fixture.loaded = "", nil
}

// walker hands each goroutine its own starting point on the common walk.
type walker struct{ next atomic.Uint64 }

func (w *walker) start() int { return int(w.next.Add(1)*0x9E3779B9) & benchMask }

// benchMeta gives entries expiries an hour away when withExpiry, so a hit
// reads the clock as it does in production.
func benchMeta(withExpiry bool) Meta {
	if !withExpiry {
		return Meta{Version: 1}
	}
	now := time.Now()
	return Meta{Version: 1, SoftExpireAt: now.Add(time.Hour).UnixMilli(), HardExpireAt: now.Add(2 * time.Hour).UnixMilli()}
}

func loadL1(tb testing.TB, withExpiry bool) *loaded {
	c, err := New(Config{MaxBytes: benchBudget})
	if err != nil {
		tb.Fatal(err)
	}
	keys, meta := benchKeys(), benchMeta(withExpiry)
	for i := range benchEntries {
		if err := c.Set(keys.b(i), keys.val, meta); err != nil {
			tb.Fatal(err)
		}
	}
	return &loaded{
		l1: c,
		get: func(next ticker, i int) (misses int64) {
			buf := make([]byte, 0, 128)
			for next.Next() {
				var st Status
				if buf, _, st = c.Get(buf[:0], keys.b(i)); st != Hit {
					misses++
				}
				i = (i + benchStride) & benchMask
			}
			return misses
		},
		set: func(next ticker, i int) {
			for next.Next() {
				if err := c.Set(keys.b(i), keys.val, meta); err != nil {
					panic(err) // cannot happen: the entry is far below the limit
				}
				i = (i + benchStride) & benchMask
			}
		},
		release: func() { _ = c.Close() },
	}
}

func loadFastcache(testing.TB) *loaded {
	c, keys := fastcache.New(benchBudget), benchKeys()
	for i := range benchEntries {
		c.Set(keys.b(i), keys.val)
	}
	return &loaded{
		get: func(next ticker, i int) (misses int64) {
			buf := make([]byte, 0, 128)
			for next.Next() {
				var ok bool
				if buf, ok = c.HasGet(buf[:0], keys.b(i)); !ok {
					misses++
				}
				i = (i + benchStride) & benchMask
			}
			return misses
		},
		set: func(next ticker, i int) {
			for next.Next() {
				c.Set(keys.b(i), keys.val)
				i = (i + benchStride) & benchMask
			}
		},
		release: c.Reset,
	}
}

func loadOtter(tb testing.TB) *loaded {
	// Twice the entries: otter may evict before it reaches its bound.
	c, err := otter.New(&otter.Options[string, []byte]{MaximumSize: 2 * benchEntries, InitialCapacity: benchEntries})
	if err != nil {
		tb.Fatal(err)
	}
	keys := benchKeys()
	for i := range benchEntries {
		c.Set(keys.s(i), keys.val)
	}
	c.CleanUp()
	return &loaded{
		get: func(next ticker, i int) (misses int64) {
			buf := make([]byte, 0, 128)
			for next.Next() {
				v, ok := c.GetIfPresent(keys.s(i))
				if !ok {
					misses++
				}
				buf = append(buf[:0], v...)
				i = (i + benchStride) & benchMask
			}
			return misses
		},
		set: func(next ticker, i int) {
			for next.Next() {
				c.Set(keys.s(i), keys.val)
				i = (i + benchStride) & benchMask
			}
		},
		release: func() { c.InvalidateAll(); c.CleanUp() },
	}
}

func loadRistretto(tb testing.TB) *loaded {
	c, err := ristretto.NewCache(&ristretto.Config[string, []byte]{
		NumCounters: 10 * benchEntries, MaxCost: 2 * benchEntries, BufferItems: 64,
		IgnoreInternalCost: true, // cost counts entries, as MaxCost does
	})
	if err != nil {
		tb.Fatal(err)
	}
	// ristretto drops sets under pressure; retry until all are in.
	keys := benchKeys()
	for round := 0; ; round++ {
		missing := 0
		for i := range benchEntries {
			if _, ok := c.Get(keys.s(i)); !ok {
				missing++
				c.Set(keys.s(i), keys.val, 1)
			}
		}
		c.Wait()
		if missing == 0 {
			break
		}
		if round == 10 {
			c.Close()
			tb.Fatalf("ristretto still misses %d of %d keys after %d rounds", missing, benchEntries, round)
		}
	}
	return &loaded{
		get: func(next ticker, i int) (misses int64) {
			buf := make([]byte, 0, 128)
			for next.Next() {
				v, ok := c.Get(keys.s(i))
				if !ok {
					misses++
				}
				buf = append(buf[:0], v...)
				i = (i + benchStride) & benchMask
			}
			return misses
		},
		set: func(next ticker, i int) {
			// ristretto buffers sets and may drop them: this measures the
			// hand-off, not the store.
			for next.Next() {
				c.Set(keys.s(i), keys.val, 1)
				i = (i + benchStride) & benchMask
			}
		},
		release: c.Close,
	}
}
