package l2

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/l2/store"
)

// movedKey returns a key of owners that moves from a node other than to
// to the node to.
func movedKey(t *testing.T, r *migRegion, owners map[string]string, to string, skip map[string]bool) (key, from string) {
	t.Helper()
	newR := mustRing(t, r.new)
	for k, was := range owners {
		if !skip[k] && was != to && newR.Owner([]byte(k)) == to {
			return k, was
		}
	}
	t.Fatal("no moved key")
	return "", ""
}

func TestMigratePullThroughServesKeyNotYetPushed(t *testing.T) {
	r := newMigRegion(t, 3, nil)
	owners := r.fill(r.old, "k", 2000)
	ms := r.migrators(unlimited, nil)
	for _, m := range ms {
		m.Pause() // nothing is pushed: every read of a moved key must pull
	}
	transition(t, ms, []string{"n4", "n1", "n2", "n3"}, 2, r.old, r.new)

	skip := map[string]bool{}
	key, from := movedKey(t, r, owners, "n4", skip)
	skip[key] = true
	old := r.nodes[from]
	expire := old.nowMillis() + 60_000
	it := store.Item{Value: []byte("with ttl"), Version: old.versions.Now(), ExpireAt: expire, SoftExpireAt: expire - 30_000}
	if err := old.store.Set([]byte(key), it); err != nil {
		t.Fatal(err)
	}
	n4 := r.nodes["n4"]
	rdb := newClient(t, n4.Addr(), nil)
	g := doGet(t, rdb, key, 0, "NOLEASE")
	if g.status != "HIT" || g.value != "with ttl" || uint64(g.version) != it.Version {
		t.Fatalf("pull-through read: %+v, want HIT of version %d", g, it.Version)
	}
	if g.hard < 59_000 || g.hard > 60_000 || g.soft < 29_000 || g.soft > 30_000 {
		t.Fatalf("TTLs not preserved: soft %d hard %d", g.soft, g.hard)
	}
	if got, ok := n4.store.Peek([]byte(key)); !ok || got.Version != it.Version || got.ExpireAt != expire {
		t.Fatalf("new owner kept %+v, %v", got, ok)
	}

	// A key the previous owner deleted just before the switch: the pull
	// brings the tombstone, so a late fill of older data is refused.
	gone, gfrom := movedKey(t, r, owners, "n4", skip)
	skip[gone] = true
	tomb := r.nodes[gfrom].versions.Now()
	r.nodes[gfrom].store.DeleteVersion([]byte(gone), tomb)
	if g := doGet(t, rdb, gone, 0, "NOLEASE"); g.status != "MISS" {
		t.Fatalf("deleted key: %+v", g)
	}
	if v, ok := n4.store.Tombstone([]byte(gone)); !ok || v != tomb {
		t.Fatalf("tombstone not carried over: %d %v", v, ok)
	}
	if p := ms["n4"].Progress(); p.Pulls != 2 || p.PullHits != 1 {
		t.Fatalf("pull counters %+v", p)
	}

	for _, m := range ms {
		m.Resume()
	}
	waitAll(t, ms)
	if ps := ms["n4"].pulls.Load(); ps != nil {
		t.Fatalf("pull-through still on after every push finished: %d spans", len(ps.spans))
	}
	// Pull-through is over: a miss now costs no peer round trip.
	other, _ := movedKey(t, r, owners, "n4", skip)
	n4.store.Delete([]byte(other))
	doGet(t, rdb, other, 0, "NOLEASE")
	if p := ms["n4"].Progress(); p.Pulls != 2 {
		t.Fatalf("pulled after the migration: %+v", p)
	}
}

func TestMigrateFollowsApplyTopology(t *testing.T) {
	r := newMigRegion(t, 3, nil)
	owners := r.fill(r.old, "k", 2000)
	ms := r.migrators(unlimited, nil)
	// The joining node first, as its agent would; it knew no old ring.
	for _, id := range []string{"n4", "n1", "n2", "n3"} {
		if err := r.nodes[id].ApplyTopology(2, r.new); err != nil {
			t.Fatal(err)
		}
	}
	waitAll(t, ms)
	newR := mustRing(t, r.new)
	for k := range owners {
		if !r.nodes[newR.Owner([]byte(k))].store.Exists([]byte(k)) {
			t.Fatalf("%s not on its new owner", k)
		}
	}
	if p := ms["n1"].Progress(); p.Epoch != 2 || p.State != MigrationDone || p.Keys == 0 {
		t.Fatalf("n1 progress %+v", p)
	}
}

func TestMigrateDrainPushesBeforeLeaving(t *testing.T) {
	r := newMigRegion(t, 3, nil)
	all, three := r.new, r.old // n4 joins for real, then drains
	for _, p := range all {
		if err := r.nodes[p.ID].SetPeers(all); err != nil {
			t.Fatal(err)
		}
	}
	owners := r.fill(all, "k", 2000)
	ms := r.migrators(unlimited, nil)
	if err := ms["n4"].Drain(3, three); err != nil {
		t.Fatal(err)
	}
	for _, p := range three {
		if err := r.nodes[p.ID].ApplyTopology(3, three); err != nil {
			t.Fatal(err)
		}
	}
	waitAll(t, ms)
	newR := mustRing(t, three)
	drained := 0
	for k, was := range owners {
		if !r.nodes[newR.Owner([]byte(k))].store.Exists([]byte(k)) {
			t.Fatalf("%s (was on %s) lost", k, was)
		}
		if was == "n4" {
			drained++
		}
	}
	if p := ms["n4"].Progress(); p.Keys != int64(drained) || drained == 0 || r.nodes["n4"].store.Len() != 0 {
		t.Fatalf("drain pushed %+v of %d keys; %d left on n4", p, drained, r.nodes["n4"].store.Len())
	}
}

func TestMigrateCloseStopsEverything(t *testing.T) {
	r := newMigRegion(t, 1, nil)
	r.fill(r.old, "k", 100)
	ms := r.migrators(unlimited, nil)
	ms["n1"].Pause()
	if err := ms["n1"].Transition(1, r.old, r.new[1:]); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ms["n1"].Wait(ctx); err != nil {
		t.Fatalf("push still running after Close: %v", err)
	}
	if err := ms["n1"].Transition(2, r.old, r.new); !errors.Is(err, ErrClosed) {
		t.Fatalf("Transition after Close: %v", err)
	}
	if v, ok := migrators.Load(r.nodes["n1"]); ok {
		t.Fatalf("closed migrator still registered: %v", v)
	}
	// goleak (TestMain) checks that no goroutine outlives the test.
}

// fakeControl is a control plane in memory.
type fakeControl struct {
	mu      sync.Mutex
	paused  bool
	reports []MigrationProgress
}

func (f *fakeControl) Report(_ context.Context, p MigrationProgress) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, p)
	return nil
}

func (f *fakeControl) Paused(context.Context) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paused, nil
}

func TestMigrateControlPausesAndReports(t *testing.T) {
	r := newMigRegion(t, 1, nil)
	r.fill(r.old, "k", 50)
	ctl := &fakeControl{paused: true}
	// ReportEvery is long: the test runs the control step itself.
	ms := r.migrators(MigrateConfig{KeysPerSec: -1, BytesPerSec: -1, Control: ctl, ReportEvery: time.Hour}, nil)
	m := ms["n1"]
	ctx := context.Background()
	m.syncControl(ctx)
	if err := m.Transition(1, r.old, r.new[1:]); err != nil {
		t.Fatal(err)
	}
	m.syncControl(ctx)
	if p := m.Progress(); p.State != MigrationPaused || p.Keys != 0 {
		t.Fatalf("paused by the control plane, progress %+v", p)
	}
	ctl.mu.Lock()
	ctl.paused = false
	ctl.mu.Unlock()
	m.syncControl(ctx)
	waitAll(t, ms)
	m.syncControl(ctx)
	ctl.mu.Lock()
	defer ctl.mu.Unlock()
	last := ctl.reports[len(ctl.reports)-1]
	if last.State != MigrationDone || last.Keys != 50 || last.Node != "n1" || last.Epoch != 1 {
		t.Fatalf("last report %+v", last)
	}
	if first := ctl.reports[0]; first.State != MigrationPaused {
		t.Fatalf("first report %+v", first)
	}
}

func TestMigratePullThroughServesPlainGet(t *testing.T) {
	r := newMigRegion(t, 1, nil)
	owners := r.fill(r.old, "k", 200)
	ms := r.migrators(unlimited, nil)
	ms["n1"].Pause()
	transition(t, ms, []string{"n2", "n1"}, 2, r.old, r.new)
	key, _ := movedKey(t, r, owners, "n2", nil)
	got, err := newClient(t, r.nodes["n2"].Addr(), nil).Get(context.Background(), key).Result()
	if err != nil || got != "v:"+key {
		t.Fatalf("GET %s on the new owner: %q, %v", key, got, err)
	}
	ms["n1"].Resume()
	waitAll(t, ms)
}
