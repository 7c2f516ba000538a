package l2

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/hlc"
)

// TestTierSetMinVerOrdersAfterTheSessionsWrite: TC.SET ... MINVER v gets a
// version above v even when v came from another region in the same
// millisecond with a higher logical counter and a higher region id, the
// case in which the node's own clock would order the write first.
func TestTierSetMinVerOrdersAfterTheSessionsWrite(t *testing.T) {
	n, fake := fakeNode(t, func(c *Config) { c.RegionID = 1 })
	rdb := newClient(t, n.Addr(), nil)
	ms := fake.Now().UnixMilli()
	other := hlc.Make(ms, 5, 2) // written in region 2, same millisecond

	// Without MINVER the node's version loses to the other region's.
	if st, v := doSet(t, rdb, "k", 0, "plain", 0, 0); st != "OK" || uint64(v) >= other {
		t.Fatalf("plain TC.SET: %s %d; the test needs it below %d", st, v, other)
	}
	st, v := doSet(t, rdb, "k", 0, "after", 0, 0, "MINVER", other)
	if st != "OK" || uint64(v) <= other {
		t.Fatalf("TC.SET MINVER %d: %s %d, want a greater version", other, st, v)
	}
	if hlc.Millis(uint64(v)) != ms || hlc.Region(uint64(v)) != 1 {
		t.Fatalf("version %d: ms %d region %d; want this node's region in the same ms %d", v, hlc.Millis(uint64(v)), hlc.Region(uint64(v)), ms)
	}
	// The node's clock stays past it: a later plain write is newer still.
	if _, v2 := doSet(t, rdb, "k2", 0, "x", 0, 0); v2 <= v {
		t.Fatalf("later write %d not after %d", v2, v)
	}
	// A lease fill may carry MINVER too; it is observed the same way.
	g := doGet(t, rdb, "k3", 0)
	if st, v3 := doSet(t, rdb, "k3", 0, "fill", 0, 0, "LEASE", g.token, "MINVER", hlc.Make(ms, 900, 3)); st != "OK" || uint64(v3) <= hlc.Make(ms, 900, 3) {
		t.Fatalf("fill with MINVER: %s %d", st, v3)
	}
}

func TestTierSetMinVerRejectsBadValues(t *testing.T) {
	n, fake := fakeNode(t, nil)
	rdb := newClient(t, n.Addr(), nil)
	ctx := context.Background()
	ahead := hlc.Make(fake.Now().Add(2*time.Minute).UnixMilli(), 0, 0)
	for _, c := range []struct {
		args []any
		says string
	}{
		{[]any{"MINVER", ahead}, "ahead of this node's clock"},
		{[]any{"MINVER", "x"}, "ERR"},
		{[]any{"MINVER", -1}, "ERR"},
		{[]any{"MINVER"}, "ERR"},
	} {
		err := rdb.Do(ctx, append([]any{"TC.SET", "k", 0, "v", 0, 0}, c.args...)...).Err()
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("TC.SET %v: %v, want an error saying %q", c.args, err, c.says)
		}
	}
	if _, ok := n.store.Get([]byte("k")); ok {
		t.Fatal("a refused TC.SET stored its value")
	}
	// Within the bound (a region whose clock runs a little ahead) is fine.
	near := hlc.Make(fake.Now().Add(time.Second).UnixMilli(), 0, 0)
	if st, v := doSet(t, rdb, "k", 0, "v", 0, 0, "MINVER", near); st != "OK" || uint64(v) <= near {
		t.Fatalf("MINVER 1s ahead: %s %d", st, v)
	}
}

// TestTierDelMinVer: TC.DEL takes MINVER as TC.SET does, so a session's
// invalidation outranks its write made in another region in the same ms.
func TestTierDelMinVer(t *testing.T) {
	n, fake := fakeNode(t, func(c *Config) { c.RegionID = 1 })
	rdb := newClient(t, n.Addr(), nil)
	ctx := context.Background()
	ms := fake.Now().UnixMilli()
	other := hlc.Make(ms, 7, 2)
	res, err := rdb.Do(ctx, "TC.DEL", "k", 0, "MINVER", other).Slice()
	if err != nil {
		t.Fatal(err)
	}
	if v := uint64(res[1].(int64)); res[0] != "OK" || v <= other || hlc.Millis(v) != ms {
		t.Fatalf("TC.DEL MINVER %d: %v", other, res)
	}
	// The tombstone refuses the other region's value when it arrives.
	n.ApplyGlobal([]GlobalChange{{Key: []byte("k"), Value: []byte("older"), Version: other}})
	if _, ok := n.store.Get([]byte("k")); ok {
		t.Fatal("the session's earlier write survived its invalidation")
	}
	for _, bad := range [][]any{
		{"TC.DEL", "k2", 0, "MINVER"},
		{"TC.DEL", "k2", 0, "MINVER", "x"},
		{"TC.DEL", "k2", 0, "NOPE", 1},
		{"TC.DEL", "k2", 0, "MINVER", hlc.Make(ms+120_000, 0, 0)},
	} {
		if err := rdb.Do(ctx, bad...).Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR") {
			t.Errorf("%v: %v, want ERR", bad, err)
		}
	}
	if _, ok := n.store.Tombstone([]byte("k2")); ok {
		t.Fatal("a refused TC.DEL left a tombstone")
	}
}
