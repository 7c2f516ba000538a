package store

import (
	"fmt"
	"runtime"
	"testing"
	"unsafe"
)

func TestEntryFillsOneCacheLine(t *testing.T) {
	if size := unsafe.Sizeof(entry{}); size != 64 {
		t.Fatalf("entry is %d bytes; a read should touch one 64-byte line", size)
	}
}

// TestMemoryWithinBudget fills a store with small entries, where the fixed
// overhead matters most, and checks that the heap it holds stays close to
// MaxBytes: EntryOverhead must cover the index, arena, queues and ghost.
func TestMemoryWithinBudget(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("measures the heap; slow under -race")
	}
	for _, valueLen := range []int{0, 16, 100} {
		t.Run(fmt.Sprint("value", valueLen), func(t *testing.T) {
			const budget = 32 << 20
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			s, _ := newTestStore(t, Config{MaxBytes: budget})
			value := make([]byte, valueLen)
			// Twice the budget, so the ghost queues fill too.
			n := int(2 * budget / charge(12, valueLen))
			for i := range n {
				_ = s.Set(fmt.Appendf(nil, "key:%08d", i), Item{Value: value})
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			st := stats(s)
			t.Logf("value %3d B: %d keys, charged %.1f MiB, heap %.1f MiB (%.2fx), %.0f B/entry beyond key+value",
				valueLen, st.Keys, float64(st.Bytes)/(1<<20), float64(held)/(1<<20), float64(held)/float64(st.Bytes),
				float64(held-st.Bytes+st.Keys*EntryOverhead)/float64(st.Keys))
			if held > budget*11/10 {
				t.Errorf("store holds %d bytes of heap for a %d budget", held, budget)
			}
			runtime.KeepAlive(s)
		})
	}
}
