package l1

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentVersionsOnlyMoveForward races fills and invalidations of a
// few keys against readers. Each reader must see every key's version move
// forward only, with the value that belongs to it; at the end every key
// must hold the highest version any writer tried, and the counters must
// add up exactly.
func TestConcurrentVersionsOnlyMoveForward(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	const (
		keys       = 8
		writers    = 4
		opsPerGoro = 4000
		readers    = 2
	)
	keyOf := func(i int) []byte { return []byte(fmt.Sprintf("k:%d", i)) }
	var (
		clockV     atomic.Uint64
		maxTried   [keys]atomic.Uint64
		writesDone sync.WaitGroup
		readersWG  sync.WaitGroup
		stop       atomic.Bool
		getCalls   atomic.Uint64
	)
	errs := make(chan error, writers+readers)
	for w := range writers {
		writesDone.Add(1)
		go func() {
			defer writesDone.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			val := make([]byte, 8)
			for range opsPerGoro {
				k := rng.IntN(keys)
				// Some versions are a little behind the clock, as a fill
				// that raced with a newer write would be.
				v := max(clockV.Add(1)-rng.Uint64N(4), 1)
				for old := maxTried[k].Load(); v > old && !maxTried[k].CompareAndSwap(old, v); old = maxTried[k].Load() {
				}
				if rng.IntN(4) == 0 {
					c.Invalidate(keyOf(k), v)
					continue
				}
				binary.LittleEndian.PutUint64(val, v)
				if _, err := c.SetIfNewer(keyOf(k), val, Meta{Version: v}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range readers {
		readersWG.Add(1)
		go func() {
			defer readersWG.Done()
			var seen [keys]uint64
			buf := make([]byte, 0, 64)
			for i := 0; !stop.Load(); i++ {
				k := i % keys
				var meta Meta
				var st Status
				buf, meta, st = c.Get(buf[:0], keyOf(k))
				getCalls.Add(1)
				if st == Miss {
					continue // a tombstone: its version is not visible to Get
				}
				if got := binary.LittleEndian.Uint64(buf); got != meta.Version {
					errs <- fmt.Errorf("key %d: value of version %d under version %d", k, got, meta.Version)
					return
				}
				if meta.Version < seen[k] {
					errs <- fmt.Errorf("key %d: version went back from %d to %d", k, seen[k], meta.Version)
					return
				}
				seen[k] = meta.Version
			}
		}()
	}
	writesDone.Wait()
	stop.Store(true)
	readersWG.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	var s Stats
	c.UpdateStats(&s)
	if s.Gets != getCalls.Load() || s.Hits+s.Stale+s.Misses != s.Gets {
		t.Errorf("Gets %d (hits %d + stale %d + misses %d), want %d", s.Gets, s.Hits, s.Stale, s.Misses, getCalls.Load())
	}
	if s.Evictions != 0 || s.EntriesCount != keys {
		t.Errorf("Evictions %d, EntriesCount %d; want 0 and %d", s.Evictions, s.EntriesCount, keys)
	}

	for k := range keys {
		entry, found := c.fc.HasGet(nil, keyOf(k))
		_, _, meta, ok := decodeEntry(entry)
		if !found || !ok || meta.Version != maxTried[k].Load() {
			t.Errorf("key %d holds version %d (found %v), want the highest tried, %d", k, meta.Version, found, maxTried[k].Load())
		}
	}
}

// TestConcurrentMixedOperations runs every operation at once on keys that
// also get evicted, for the race detector and the counters' consistency.
func TestConcurrentMixedOperations(t *testing.T) {
	c, fake := newTestCache(t, Config{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 2))
			key := make([]byte, 8)
			val := make([]byte, 2000)
			buf := make([]byte, 0, 4096)
			for i := range 20000 {
				binary.LittleEndian.PutUint64(key, rng.Uint64N(50000))
				v := uint64(i)
				switch rng.IntN(8) {
				case 0:
					_ = c.Set(key, val, Meta{Version: v, SoftExpireAt: ms(0), HardExpireAt: ms(1 << 40)})
				case 1:
					_, _ = c.SetIfNewer(key, val, Meta{Version: v})
				case 2:
					c.Invalidate(key, v)
				case 3:
					c.Delete(key)
				case 4:
					if g == 0 {
						fake.Advance(1)
					}
				default:
					buf, _, _ = c.Get(buf[:0], key)
				}
			}
		}()
	}
	wg.Wait()
	var s Stats
	c.UpdateStats(&s)
	if s.Hits+s.Stale+s.Misses != s.Gets || s.Gets == 0 {
		t.Fatalf("Gets %d != hits %d + stale %d + misses %d", s.Gets, s.Hits, s.Stale, s.Misses)
	}
	if s.BytesSize > s.MaxBytesSize {
		t.Fatalf("BytesSize %d over budget %d", s.BytesSize, s.MaxBytesSize)
	}
}
