package hotkey

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
)

// benchKeys returns a Zipf(1.1) sequence of keys over a million.
func benchKeys(n int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 1))
	zipf := rand.NewZipf(rng, 1.1, 1, universe-1)
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = []byte("key:" + strconv.FormatUint(zipf.Uint64(), 10))
	}
	return keys
}

// benchTouch runs fn over the keys from every P, ticking a window of ten
// ticks every 64K reads per goroutine as a node's maintenance loop would.
func benchTouch(b *testing.B, fn func(d *Detector, key []byte)) {
	keys := benchKeys(1 << 16)
	fake := clock.NewFake(epoch)
	d, err := New(Config{Clock: fake})
	if err != nil {
		b.Fatal(err)
	}
	var tickMu sync.Mutex
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			fn(d, keys[i&(len(keys)-1)])
			if i++; i&(1<<16-1) == 0 {
				tickMu.Lock()
				fake.Advance(100 * time.Millisecond)
				d.Tick()
				tickMu.Unlock()
			}
		}
	})
}

func BenchmarkTouch(b *testing.B) {
	benchTouch(b, func(d *Detector, key []byte) { d.Touch(key) })
}

func BenchmarkIsHot(b *testing.B) {
	benchTouch(b, func(d *Detector, key []byte) { d.IsHot(key) })
}

// BenchmarkMutexMapCount is the plain alternative for comparison: exact
// counts in a map under one mutex, without windows or a threshold.
func BenchmarkMutexMapCount(b *testing.B) {
	keys := benchKeys(1 << 16)
	var mu sync.Mutex
	counts := map[string]uint64{}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			key := keys[i&(len(keys)-1)]
			mu.Lock()
			counts[string(key)]++
			mu.Unlock()
			i++
		}
	})
}

func BenchmarkTick(b *testing.B) {
	fake := clock.NewFake(epoch)
	d, err := New(Config{Clock: fake})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		fake.Advance(100 * time.Millisecond)
		d.Tick()
	}
}
