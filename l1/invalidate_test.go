package l1

import (
	"fmt"
	"testing"
	"time"
)

// step is one action in an invalidation scenario, with what it must return.
type step struct {
	op      string // "set", "fill" (SetIfNewer), "inv", "del", "get", "wait"
	version uint64
	hard    time.Duration // fills and sets: hard expiry after the scenario start; 0 = never
	wait    time.Duration
	want    bool   // fill: stored; inv: removed
	status  Status // get
	val     string // set/fill: the value; get: the value it must see
}

func TestInvalidateOrdering(t *testing.T) {
	scenarios := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"invalidation removes older value", Config{}, []step{
			{op: "fill", version: 5, val: "v5", want: true},
			{op: "inv", version: 7, want: true},
			{op: "get", status: Miss},
		}},
		{"invalidation keeps newer and equal values", Config{}, []step{
			{op: "fill", version: 7, val: "v7", want: true},
			{op: "inv", version: 7, want: false},
			{op: "inv", version: 6, want: false},
			{op: "get", status: Hit, val: "v7"},
		}},
		{"late fill of older data is refused by the tombstone", Config{}, []step{
			{op: "inv", version: 7, want: false}, // nothing to remove, tombstone left
			{op: "fill", version: 5, val: "v5", want: false},
			{op: "get", status: Miss},
			{op: "fill", version: 7, val: "v7", want: true}, // the invalidating write itself
			{op: "get", status: Hit, val: "v7"},
		}},
		{"tombstone expires after its TTL", Config{TombstoneTTL: time.Second}, []step{
			{op: "inv", version: 7},
			{op: "wait", wait: 999 * time.Millisecond},
			{op: "fill", version: 5, val: "v5", want: false},
			{op: "wait", wait: time.Millisecond},
			{op: "fill", version: 5, val: "v5", want: true},
			{op: "get", status: Hit, val: "v5"},
		}},
		{"older invalidation does not weaken a newer tombstone", Config{}, []step{
			{op: "inv", version: 9},
			{op: "inv", version: 8, want: false},
			{op: "fill", version: 8, val: "v8", want: false},
			{op: "inv", version: 10},
			{op: "fill", version: 9, val: "v9", want: false},
			{op: "fill", version: 11, val: "v11", want: true},
		}},
		{"fills only move forward", Config{}, []step{
			{op: "fill", version: 3, val: "v3", want: true},
			{op: "fill", version: 2, val: "v2", want: false},
			{op: "fill", version: 3, val: "v3b", want: true},
			{op: "get", status: Hit, val: "v3b"},
			{op: "fill", version: 0, val: "unversioned", want: false},
		}},
		{"an expired newer value does not block a fill", Config{}, []step{
			{op: "fill", version: 9, val: "v9", hard: time.Second, want: true},
			{op: "wait", wait: time.Second},
			{op: "fill", version: 4, val: "v4", want: true},
			{op: "get", status: Hit, val: "v4"},
		}},
		{"version 0 deletes unconditionally, tombstone included", Config{}, []step{
			{op: "fill", version: 9, val: "v9", want: true},
			{op: "inv", version: 0, want: true},
			{op: "get", status: Miss},
			{op: "inv", version: 20},
			{op: "inv", version: 0, want: false},
			{op: "fill", version: 1, val: "v1", want: true},
		}},
		{"without tombstones a late fill wins", Config{TombstoneTTL: -1}, []step{
			{op: "fill", version: 5, val: "v5", want: true},
			{op: "inv", version: 7, want: true},
			{op: "get", status: Miss},
			{op: "fill", version: 5, val: "v5", want: true},
			{op: "get", status: Hit, val: "v5"},
		}},
		{"Set overrides a tombstone, Delete removes it", Config{}, []step{
			{op: "inv", version: 7},
			{op: "set", version: 1, val: "forced"},
			{op: "get", status: Hit, val: "forced"},
			{op: "inv", version: 7, want: true},
			{op: "del"},
			{op: "fill", version: 2, val: "v2", want: true},
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			c, fake := newTestCache(t, sc.cfg)
			key := []byte("user:1")
			for i, s := range sc.steps {
				where := fmt.Sprintf("step %d (%s v%d)", i, s.op, s.version)
				meta := Meta{Version: s.version}
				if s.hard != 0 {
					meta.HardExpireAt = ms(s.hard)
				}
				switch s.op {
				case "set":
					mustSet(t, c, key, s.val, meta)
				case "fill":
					stored, err := c.SetIfNewer(key, []byte(s.val), meta)
					if err != nil || stored != s.want {
						t.Fatalf("%s: SetIfNewer = %v, %v; want %v", where, stored, err, s.want)
					}
				case "inv":
					if removed := c.Invalidate(key, s.version); removed != s.want {
						t.Fatalf("%s: Invalidate = %v, want %v", where, removed, s.want)
					}
				case "del":
					c.Delete(key)
				case "get":
					got, _, status := c.Get(nil, key)
					if status != s.status || string(got) != s.val {
						t.Fatalf("%s: Get = %q %v, want %q %v", where, got, status, s.val, s.status)
					}
				case "wait":
					fake.Advance(s.wait)
				default:
					t.Fatalf("%s: unknown op", where)
				}
			}
		})
	}
}
