package l3

import (
	"fmt"
	"testing"

	"github.com/tiercache/tiercache/federation"
)

func change(key, value string, version uint64) federation.Change {
	return federation.Change{Key: []byte(key), Value: []byte(value), Version: version}
}

func TestApplyLastWriterWinsAndDuplicates(t *testing.T) {
	n, _ := newTestNode(t, Config{})
	apply := func(cs ...federation.Change) {
		t.Helper()
		if err := n.Apply("eu-west", cs); err != nil {
			t.Fatal(err)
		}
	}
	apply(change("k", "v2", 2), change("k", "v1", 1), change("k", "v2", 2))
	if rep := mustGet(t, n, "k", ModeRead); string(rep.Item.Value) != "v2" || rep.Item.Version != 2 {
		t.Fatalf("after out-of-order and duplicate changes: %+v", rep)
	}
	apply(federation.Change{Key: []byte("k"), Version: 3, Delete: true}, change("k", "v2", 2))
	if rep := mustGet(t, n, "k", ModeRead); rep.Status != StatusMiss {
		t.Fatalf("a replayed older value beat the tombstone: %+v", rep)
	}
	apply(change("k", "v4", 4))
	if rep := mustGet(t, n, "k", ModeRead); string(rep.Item.Value) != "v4" {
		t.Fatalf("newer value after tombstone: %+v", rep)
	}
	apply(federation.Change{Key: []byte("k")}, federation.Change{Version: 9})
	if st := n.Stats(); st.Applied != 6 || st.BadChanges != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestApplyDropsLeases(t *testing.T) {
	n, _ := newTestNode(t, Config{})
	lease := mustGet(t, n, "k", ModeLease)
	// Client.Set in some region committed and wrote v5; the holder's load
	// may predate that commit.
	if err := n.Apply("ap-south", []federation.Change{change("k", "committed", 5)}); err != nil {
		t.Fatal(err)
	}
	if rep := mustFill(t, n, "k", lease.Token, item("pre-commit", 6)); rep.Status != StatusNoLease {
		t.Fatalf("fill after a replicated write: %+v, want NOLEASE", rep)
	}
	if rep := mustGet(t, n, "k", ModeRead); string(rep.Item.Value) != "committed" {
		t.Fatalf("%+v", rep)
	}
}

// twoNodeRing returns a ring of n and another node, and a key each owns.
func twoNodeRing(t *testing.T, n *Node) (r *Ring, mine, theirs string) {
	t.Helper()
	r, err := NewRing(1, []Member{{ID: n.ID(), Region: n.Region()}, {ID: "other", Region: "elsewhere"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; mine == "" || theirs == ""; i++ {
		k := fmt.Sprint("key-", i)
		if r.Owner([]byte(k)).ID == n.ID() {
			mine = k
		} else {
			theirs = k
		}
	}
	return r, mine, theirs
}

func TestApplyKeepsOnlyOwnedKeys(t *testing.T) {
	n, _ := newTestNode(t, Config{})
	r, mine, theirs := twoNodeRing(t, n)
	// Before a ring the node owns everything: it holds theirs from then.
	if err := n.Apply("x", []federation.Change{change(theirs, "old copy", 1)}); err != nil {
		t.Fatal(err)
	}
	n.SetRing(r)
	if err := n.Apply("x", []federation.Change{change(mine, "m", 2), change(theirs, "new", 3), change("unseen-"+theirs, "u", 4)}); err != nil {
		t.Fatal(err)
	}
	if rep := mustGet(t, n, mine, ModeRead); string(rep.Item.Value) != "m" {
		t.Fatalf("owned key: %+v", rep)
	}
	if rep := mustGet(t, n, theirs, ModeRead); rep.Status != StatusMiss {
		t.Fatalf("a stale copy of a key the node no longer owns was kept: %+v", rep)
	}
	if st := n.Stats(); st.Applied != 2 || st.NotOwned < 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSourceRangeAndDigestsMatchFederation(t *testing.T) {
	n, _ := newTestNode(t, Config{})
	want := federation.NewDigestTable(16)
	var cs []federation.Change
	for i := range 200 {
		c := change(fmt.Sprint("k", i), "v", uint64(i+1))
		cs = append(cs, c)
		want.Toggle(c.Key, c.Version)
	}
	if err := n.Apply("x", cs); err != nil {
		t.Fatal(err)
	}
	got, exp := make([]uint64, 16), make([]uint64, 16)
	n.Digests(got)
	want.Fill(exp)
	for i := range got {
		if got[i] != exp[i] {
			t.Fatalf("bucket %d: digest %x, want %x", i, got[i], exp[i])
		}
	}
	// Every bucket's Range yields exactly its keys, and the buckets
	// together yield every key once.
	seen := map[string]int{}
	for b := range 16 {
		lo, hi := federation.BucketRange(b, 16)
		n.Range(lo, hi, func(c federation.Change) bool {
			if h := federation.KeyHash(c.Key); h < lo || h > hi {
				t.Errorf("key %s outside bucket %d", c.Key, b)
			}
			seen[string(c.Key)]++
			return true
		})
	}
	if len(seen) != 200 {
		t.Fatalf("buckets covered %d keys, want 200", len(seen))
	}
	for k, c := range seen {
		if c != 1 {
			t.Fatalf("key %s seen %d times", k, c)
		}
	}
	count := 0
	n.Range(0, ^uint64(0), func(federation.Change) bool { count++; return count < 10 })
	if count != 10 {
		t.Fatalf("Range did not stop when fn said so: %d", count)
	}
}
