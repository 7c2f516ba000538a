package kscount

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tiercache/tiercache/internal/keyspace"
)

func table(names ...string) *keyspace.Table {
	t := &keyspace.Table{Spaces: map[string]keyspace.Settings{}}
	for _, n := range names {
		t.Spaces[n] = keyspace.Settings{}
	}
	return t
}

func TestSlotsAreStableAndBounded(t *testing.T) {
	var x Index
	if x.Slot(nil, []byte("user:1")) != 0 {
		t.Fatal("an empty index must map every key to Other")
	}
	t1 := table("user", "page")
	if s := x.Slot(t1, []byte("page:9")); x.Names()[s] != "page" {
		t.Fatalf("page:9 in slot %d of %v", s, x.Names())
	}
	user := x.Slot(t1, []byte("user:1"))
	if x.Names()[user] != "user" || x.Slot(t1, []byte("cart:1")) != 0 || x.Slot(t1, []byte("user")) != user {
		t.Fatalf("slots %v", x.Names())
	}
	// A new table keeps the old slots (dropped keyspaces included) and
	// adds its new names.
	t2 := table("cart", "user")
	if x.Slot(t2, []byte("user:2")) != user || x.Names()[x.Slot(t2, []byte("cart:1"))] != "cart" || x.Slot(t2, []byte("page:1")) == 0 {
		t.Fatalf("after a new table: %v", x.Names())
	}
	var many []string
	for i := range 2 * MaxNamed {
		many = append(many, fmt.Sprintf("ks%02d", i))
	}
	x.Learn(table(many...))
	if len(x.Names()) != Slots {
		t.Fatalf("%d slots, want the bound %d", len(x.Names()), Slots)
	}
	if x.Slot(nil, []byte("ks61:1")) != 0 {
		t.Fatal("a keyspace past the bound must count as Other")
	}
	if x.Names()[0] != Other {
		t.Fatal("slot 0 must be Other")
	}
}

func TestRowsAddUp(t *testing.T) {
	var r, sum Row
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				r.Add(3)
			}
		})
	}
	wg.Wait()
	r.Add(0)
	r.AddTo(&sum)
	r.AddTo(&sum)
	if r.Load(3) != 4000 || r.Load(1) != 0 || sum.Load(3) != 8000 || sum.Load(0) != 2 {
		t.Fatalf("counts %d %d %d %d", r.Load(3), r.Load(1), sum.Load(3), sum.Load(0))
	}
}

func TestSlotDoesNotAllocate(t *testing.T) {
	var x Index
	tb := table("user")
	key := []byte("user:42")
	x.Slot(tb, key)
	if a := testing.AllocsPerRun(1000, func() { x.Slot(tb, key) }); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}
