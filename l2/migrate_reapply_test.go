package l2

import (
	"fmt"
	"testing"
)

// TestMigrateSameEpochReapplyKeepsPush re-applies the running migration's
// topology (what every up node does when raftmeta publishes a
// keyspace-only change, which keeps the epoch) in the middle of a
// rate-limited push: the push must go on to move every key, not be
// canceled and reported done.
func TestMigrateSameEpochReapplyKeepsPush(t *testing.T) {
	const keys = 200
	r := newMigRegion(t, 1, nil) // n1 holds everything; n2 joins
	owners := r.fill(r.old, "k", keys)
	fs := &fakeSleep{}
	ms := r.migrators(MigrateConfig{KeysPerSec: 100, BytesPerSec: -1, BatchKeys: 10}, fs.sleep)
	n1, n2 := r.nodes["n1"], r.nodes["n2"]

	const epoch = 2
	reapplied := make(chan error, 3)
	fs.hook = func(call int) {
		if call != 3 { // after two batches, while the limiter holds the third
			return
		}
		for _, n := range []*Node{n2, n1} {
			reapplied <- n.ApplyTopology(epoch, r.new)
		}
		if p := ms["n1"].Progress(); p.State != MigrationRunning || p.Keys != 20 {
			reapplied <- fmt.Errorf("progress right after the re-apply: %+v", p)
		}
	}
	transition(t, ms, []string{"n2", "n1"}, epoch, r.old, r.new)
	waitAll(t, ms)
	close(reapplied)
	calls := 0
	for err := range reapplied {
		if err != nil {
			t.Fatal(err)
		}
		calls++
	}
	if calls != 2 {
		t.Fatalf("the push never reached its third batch (%d re-applies)", calls)
	}

	newR := mustRing(t, r.new)
	var moved int64
	for k, was := range owners {
		now := newR.Owner([]byte(k))
		if now == was {
			continue
		}
		moved++
		if it, ok := r.nodes[now].store.Peek([]byte(k)); !ok || string(it.Value) != "v:"+k {
			t.Fatalf("%s: new owner %s has %q, %v", k, now, it.Value, ok)
		}
		if r.nodes[was].store.Exists([]byte(k)) {
			t.Fatalf("%s: previous owner %s kept its copy", k, was)
		}
	}
	if moved < 30 {
		t.Fatalf("only %d keys move to n2: too few batches to test a re-apply mid-push", moved)
	}
	p := ms["n1"].Progress()
	if p.State != MigrationDone || p.Epoch != epoch || p.Keys != moved || p.KeysTotal != moved || p.RangesDone != p.RangesTotal {
		t.Fatalf("n1's progress %+v, want done with %d keys", p, moved)
	}
	if got := int64(n2.store.Len()); got != moved {
		t.Fatalf("n2 holds %d keys, want the %d moved", got, moved)
	}
}
