// Package kscount counts events per keyspace for the metrics, cheaply and
// with bounded cardinality: each keyspace named in a keyspace table gets a
// slot (up to MaxNamed of them), every other key counts under Other, and a
// counter is an atomic in a fixed array indexed by slot. Finding a key's
// slot is one map lookup that does not allocate; adding is one atomic add
// on a fixed array (a Row).
package kscount

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tiercache/tiercache/internal/keyspace"
)

// MaxNamed is how many keyspaces get a slot (and a label value) of their
// own; later ones count under Other.
const MaxNamed = 15

// Slots is the size of a counter row: Other plus MaxNamed.
const Slots = MaxNamed + 1

// Other is the label of slot 0: keys of keyspaces the table does not
// name (a keyspace literally named "other" shares it).
const Other = "other"

// Index maps keyspace names to slots. Slots are only ever added, so a
// counter's label never changes meaning; a keyspace dropped from the table
// keeps its slot. The zero value is ready and maps every key to Other.
type Index struct {
	mu      sync.Mutex // serialises Learn
	learned atomic.Pointer[keyspace.Table]
	slots   atomic.Pointer[map[string]int] // name → slot ≥ 1; replaced, never modified
	names   atomic.Pointer[[]string]       // slot → name; names[0] is Other
}

// Learn gives slots to t's keyspaces that have none yet, in name order,
// while slots remain.
func (x *Index) Learn(t *keyspace.Table) {
	if t == nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	old := x.slots.Load()
	slots := map[string]int{}
	names := []string{Other}
	if old != nil {
		slots = maps.Clone(*old)
		names = slices.Clone(*x.names.Load())
	}
	for _, name := range slices.Sorted(maps.Keys(t.Spaces)) {
		if _, ok := slots[name]; ok || name == Other || len(names) >= Slots {
			continue
		}
		slots[name] = len(names)
		names = append(names, name)
	}
	x.names.Store(&names)
	x.slots.Store(&slots)
	x.learned.Store(t)
}

// Sync learns t if it is not the table learned last (tables are
// immutable, so a pointer comparison tells a new one); nil is ignored.
func (x *Index) Sync(t *keyspace.Table) {
	if t != nil && x.learned.Load() != t {
		x.Learn(t)
	}
}

// Slot returns the slot of key's keyspace, after Sync(t).
func (x *Index) Slot(t *keyspace.Table, key []byte) int {
	x.Sync(t)
	m := x.slots.Load()
	if m == nil {
		return 0
	}
	return (*m)[string(keyspace.Of(key))] // 0 (Other) when absent
}

// Names returns the label of every slot in use, by slot.
func (x *Index) Names() []string {
	if p := x.names.Load(); p != nil {
		return *p
	}
	return []string{Other}
}

// Row counts one kind of event per slot. The zero value is ready, so a
// component embeds its rows in its counters struct.
type Row [Slots]atomic.Uint64

// Add counts one event in slot.
func (r *Row) Add(slot int) { r[slot].Add(1) }

// Load returns the count in slot.
func (r *Row) Load(slot int) uint64 { return r[slot].Load() }

// AddTo adds r's counts to dst.
func (r *Row) AddTo(dst *Row) {
	for i := range r {
		if v := r[i].Load(); v != 0 {
			dst[i].Add(v)
		}
	}
}
