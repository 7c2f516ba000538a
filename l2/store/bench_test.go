package store

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// Benchmarks of the hot paths against a plain map behind one RWMutex, the
// simplest thing that could work. Run with
//
//	go test -run '^$' -bench . -benchmem ./l2/store/

const benchKeys = 1 << 16

func benchKeySet() [][]byte {
	keys := make([][]byte, benchKeys)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "user:%08d", i)
	}
	return keys
}

// benchOrder is a shared random permutation; each goroutine walks it from
// its own offset so goroutines touch different keys.
func benchOrder() []uint32 {
	r := rand.New(rand.NewPCG(1, 1))
	order := make([]uint32, benchKeys)
	for i := range order {
		order[i] = uint32(r.IntN(benchKeys))
	}
	return order
}

// mutexMap is the baseline: one map, one lock.
type mutexMap struct {
	mu sync.RWMutex
	m  map[string][]byte
}

func (m *mutexMap) get(k []byte) ([]byte, bool) {
	m.mu.RLock()
	v, ok := m.m[string(k)]
	m.mu.RUnlock()
	return v, ok
}

func (m *mutexMap) set(k, v []byte) {
	v = append([]byte(nil), v...)
	m.mu.Lock()
	m.m[string(k)] = v
	m.mu.Unlock()
}

// benchTarget is one store under test. get returns the value's first
// byte, as a server that writes the value out would read it.
type benchTarget struct {
	name string
	get  func([]byte) (byte, bool)
	set  func([]byte, []byte)
}

func first(v []byte, ok bool) (byte, bool) {
	if !ok || len(v) == 0 {
		return 0, ok
	}
	return v[0], true
}

func benchTargets(b testing.TB) []benchTarget {
	var ts []benchTarget
	for _, p := range policies {
		s, _ := newTestStore(b, Config{Policy: p, MaxBytes: 64 << 20})
		ts = append(ts, benchTarget{
			name: string(p),
			get:  func(k []byte) (byte, bool) { it, ok := s.Get(k); return first(it.Value, ok) },
			set:  func(k, v []byte) { _ = s.Set(k, Item{Value: v}) },
		})
	}
	m := &mutexMap{m: map[string][]byte{}}
	ts = append(ts, benchTarget{
		name: "rwmutex-map",
		get:  func(k []byte) (byte, bool) { return first(m.get(k)) },
		set:  m.set,
	})
	return ts
}

var benchGoroutine atomic.Uint32

// runParallel runs op from GOMAXPROCS goroutines. Besides wall time it
// reports cpu-ns/op, the process's CPU time per operation, which stays
// meaningful when other processes crowd the machine.
func runParallel(b *testing.B, keys [][]byte, order []uint32, op func(k []byte)) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		i := benchGoroutine.Add(7919) // a prime stride spreads the starts
		for pb.Next() {
			op(keys[order[i%benchKeys]])
			i++
		}
	})
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func BenchmarkGet(b *testing.B) {
	keys, order := benchKeySet(), benchOrder()
	value := make([]byte, 100)
	for _, t := range benchTargets(b) {
		for _, k := range keys {
			t.set(k, value)
		}
		b.Run(t.name, func(b *testing.B) {
			runParallel(b, keys, order, func(k []byte) {
				if _, ok := t.get(k); !ok {
					b.Fatal("miss")
				}
			})
		})
	}
}

func BenchmarkSet(b *testing.B) {
	keys, order := benchKeySet(), benchOrder()
	value := make([]byte, 100)
	for _, t := range benchTargets(b) {
		b.Run(t.name, func(b *testing.B) {
			runParallel(b, keys, order, func(k []byte) { t.set(k, value) })
		})
	}
}

// BenchmarkMixed is 90% Get, 10% Set, about what a cache node sees.
func BenchmarkMixed(b *testing.B) {
	keys, order := benchKeySet(), benchOrder()
	value := make([]byte, 100)
	for _, t := range benchTargets(b) {
		for _, k := range keys {
			t.set(k, value)
		}
		b.Run(t.name, func(b *testing.B) {
			var n atomic.Uint32
			runParallel(b, keys, order, func(k []byte) {
				if n.Add(1)%10 == 0 {
					t.set(k, value)
				} else {
					t.get(k)
				}
			})
		})
	}
}
