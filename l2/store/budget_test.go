package store

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

var policies = []Policy{PolicyS3FIFO, PolicyLRU}

func TestBudgetHoldsUnderHeavyInserts(t *testing.T) {
	for _, p := range policies {
		t.Run(string(p), func(t *testing.T) {
			const budget = 1 << 20
			s, _ := newTestStore(t, Config{MaxBytes: budget, Shards: 4, Policy: p})
			r := rand.New(rand.NewPCG(1, 2))
			for i := range 50_000 {
				v := make([]byte, r.IntN(2000))
				if err := s.Set([]byte(fmt.Sprint("k", i)), Item{Value: v}); err != nil {
					t.Fatal(err)
				}
				if i%1000 == 0 {
					checkShards(t, s)
					checkGhosts(t, s)
				}
			}
			checkShards(t, s)
			st := stats(s)
			if st.Bytes > budget || st.Bytes < budget*3/4 {
				t.Fatalf("Bytes = %d, want close under %d", st.Bytes, budget)
			}
			if st.Evictions == 0 || st.Keys+st.Evictions != 50_000 {
				t.Fatalf("keys %d + evictions %d != 50000 inserts", st.Keys, st.Evictions)
			}
		})
	}
}

// checkShards verifies each shard's bookkeeping against its contents.
func checkShards(t *testing.T, s *Store) {
	t.Helper()
	for si := range s.shards {
		sh := &s.shards[si]
		sh.mu.RLock()
		var used int64
		live, byQueue := 0, [numQueues]int64{}
		for i := range sh.entries {
			e := &sh.entries[i]
			if e.q == qFree {
				continue
			}
			used += e.size()
			byQueue[e.q] += e.size()
			if e.live() {
				live++
			}
			if j, ok := sh.index[e.keyString()]; !ok || j != int32(i) {
				t.Errorf("shard %d: entry %d (%q) not indexed", si, i, e.keyString())
			}
			if (e.live() && e.expireAt != 0) != (e.ttlPos != nilIndex) {
				t.Errorf("shard %d: entry %d expiry index out of step", si, i)
			}
		}
		for q := qSmall; q < numQueues; q++ {
			if byQueue[q] != sh.queues[q].bytes {
				t.Errorf("shard %d queue %d: %d bytes counted, %d held", si, q, sh.queues[q].bytes, byQueue[q])
			}
		}
		if used != sh.used || live != sh.live || len(sh.index) != len(sh.entries)-len(sh.free) {
			t.Errorf("shard %d: used %d/%d live %d/%d index %d/%d", si, sh.used, used, sh.live, live, len(sh.index), len(sh.entries)-len(sh.free))
		}
		if sh.used > sh.budget {
			t.Errorf("shard %d: %d bytes over its %d budget", si, sh.used, sh.budget)
		}
		sh.mu.RUnlock()
	}
}

// TestConcurrentMixedOps runs every operation from several goroutines; run
// with -race. Afterwards the bookkeeping must still add up.
func TestConcurrentMixedOps(t *testing.T) {
	for _, p := range policies {
		t.Run(string(p), func(t *testing.T) {
			s, c := newTestStore(t, Config{MaxBytes: 256 << 10, Shards: 4, Policy: p})
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(g), 7))
					for i := range 20_000 {
						k := []byte(fmt.Sprint("k", r.IntN(3000)))
						switch op := r.IntN(100); {
						case op < 50:
							if it, ok := s.Get(k); ok && len(it.Value) > 0 && it.Value[0] != 'v' {
								t.Error("torn value")
								return
							}
						case op < 70:
							_ = s.Set(k, Item{Value: []byte("value"), ExpireAt: ms(c, time.Duration(r.IntN(3))*time.Second)})
						case op < 78:
							_, _ = s.SetIfNewer(k, Item{Value: []byte("vv"), Version: uint64(i)})
						case op < 84:
							s.DeleteVersion(k, uint64(i))
						case op < 88:
							s.Delete(k)
						case op < 94:
							_, _, _ = s.Update(k, func(old Item, ok bool) (Item, Op) {
								return Item{Value: append([]byte("v"), old.Value...)[:min(len(old.Value)+1, 50)]}, Put
							})
						case op < 96:
							s.Range(uint64(r.Uint64()), uint64(r.Uint64()), func([]byte, Item, uint32) bool { return r.IntN(50) != 0 })
						case op < 97:
							s.expireTick()
						case op < 98:
							s.RandomKey()
						default:
							c.Advance(time.Millisecond * 100)
						}
					}
				}()
			}
			wg.Wait()
			checkShards(t, s)
		})
	}
}

// checkGhosts verifies that no ghost queue remembers more keys than its
// shard holds, which EntryOverhead counts on. Deletes can leave a ghost
// longer until its next eviction, so this holds for insert-only runs.
func checkGhosts(t *testing.T, s *Store) {
	t.Helper()
	for si := range s.shards {
		sh := &s.shards[si]
		sh.mu.RLock()
		if sh.ghost.n > sh.live || len(sh.ghost.set) > sh.ghost.n {
			t.Errorf("shard %d: ghost holds %d hashes (%d in its set) for %d entries", si, sh.ghost.n, len(sh.ghost.set), sh.live)
		}
		sh.mu.RUnlock()
	}
}
