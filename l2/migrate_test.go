package l2

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/l2/ring"
	"github.com/tiercache/tiercache/l2/store"
)

// migRegion is a region under test plus a spare node, with helpers to load
// keys where the old ring puts them.
type migRegion struct {
	t     *testing.T
	nodes map[string]*Node
	old   []Peer
	new   []Peer
}

// newMigRegion starts n nodes (n1..n<n>) that know each other and one
// more, n<n+1>, that knows nobody yet. old is the n-node membership, new
// the n+1-node one.
func newMigRegion(t *testing.T, n int, mutate func(*Config)) *migRegion {
	r := &migRegion{t: t, nodes: map[string]*Node{}}
	for i := 1; i <= n+1; i++ {
		cfg := Config{ID: fmt.Sprintf("n%d", i), ActiveExpiry: -1}
		if mutate != nil {
			mutate(&cfg)
		}
		node := startNode(t, cfg)
		r.nodes[cfg.ID] = node
		p := Peer{ID: cfg.ID, Addr: node.Addr()}
		if i <= n {
			r.old = append(r.old, p)
		}
		r.new = append(r.new, p)
	}
	for _, p := range r.old {
		if err := r.nodes[p.ID].SetPeers(r.old); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func mustRing(t *testing.T, peers []Peer) *ring.Ring {
	t.Helper()
	r, err := peersRing(peers)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fill stores count keys on their owners under peers' ring, with versions
// from the owner's clock; it returns key → owner.
func (r *migRegion) fill(peers []Peer, prefix string, count int) map[string]string {
	rg := mustRing(r.t, peers)
	owners := map[string]string{}
	for i := range count {
		k := fmt.Sprintf("%s:%d", prefix, i)
		owner := rg.Owner([]byte(k))
		n := r.nodes[owner]
		if err := n.store.Set([]byte(k), store.Item{Value: []byte("v:" + k), Version: n.versions.Now()}); err != nil {
			r.t.Fatal(err)
		}
		owners[k] = owner
	}
	return owners
}

// migrators attaches a migrator to every node.
func (r *migRegion) migrators(cfg MigrateConfig, sleep func(context.Context, time.Duration) error) map[string]*Migrator {
	if sleep == nil {
		sleep = sleepCtx
	}
	ms := map[string]*Migrator{}
	for id, n := range r.nodes {
		m, err := newMigrator(n, cfg, sleep)
		if err != nil {
			r.t.Fatal(err)
		}
		r.t.Cleanup(func() { m.Close() })
		ms[id] = m
	}
	return ms
}

// transition runs Transition on every node, the joining ones first (as
// the control plane's watchers would, in some order).
func transition(t *testing.T, ms map[string]*Migrator, ids []string, epoch uint64, old, new []Peer) {
	t.Helper()
	for _, id := range ids {
		if err := ms[id].Transition(epoch, old, new); err != nil {
			t.Fatalf("%s: Transition: %v", id, err)
		}
	}
}

func waitAll(t *testing.T, ms map[string]*Migrator) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for id, m := range ms {
		if err := m.Wait(ctx); err != nil {
			t.Fatalf("%s: Wait: %v", id, err)
		}
	}
}

var unlimited = MigrateConfig{KeysPerSec: -1, BytesPerSec: -1}

func TestMigrateMovesExactlyDiffRanges(t *testing.T) {
	r := newMigRegion(t, 3, nil)
	owners := r.fill(r.old, "k", 3000)
	ms := r.migrators(unlimited, nil)
	transition(t, ms, []string{"n4", "n1", "n2", "n3"}, 2, r.old, r.new)
	waitAll(t, ms)

	oldR, newR := mustRing(t, r.old), mustRing(t, r.new)
	moves := ring.Diff(oldR, newR)
	var spans []span
	for i, mv := range moves {
		spans = appendSpans(spans, mv.Range, i)
	}
	sortSpans(spans)
	inDiff := func(k string) bool {
		sp, ok := findSpan(spans, newR.Hash([]byte(k)))
		if ok && !moves[sp.src].Range.Contains(newR.Hash([]byte(k))) {
			t.Fatalf("span lookup disagrees with Range.Contains for %s", k)
		}
		return ok
	}
	var moved int64
	for k, was := range owners {
		now := newR.Owner([]byte(k))
		if (now != was) != inDiff(k) {
			t.Fatalf("%s: owner %s -> %s but in Diff = %v", k, was, now, inDiff(k))
		}
		it, ok := r.nodes[now].store.Peek([]byte(k))
		if !ok || string(it.Value) != "v:"+k {
			t.Fatalf("%s: new owner %s has %q, %v", k, now, it.Value, ok)
		}
		if now != was {
			moved++
			if r.nodes[was].store.Exists([]byte(k)) {
				t.Fatalf("%s: previous owner %s kept its copy", k, was)
			}
		}
	}
	if got := int64(r.nodes["n4"].store.Len()); got != moved {
		t.Fatalf("n4 holds %d keys, want exactly the %d moved", got, moved)
	}
	var pushed int64
	for id, m := range ms {
		p := m.Progress()
		if p.State != MigrationDone || p.RangesDone != p.RangesTotal || p.Keys != p.KeysTotal {
			t.Fatalf("%s: progress %+v", id, p)
		}
		pushed += p.Keys
	}
	if pushed != moved {
		t.Fatalf("pushed %d keys, %d moved", pushed, moved)
	}
	if frac := float64(moved) / 3000; frac < 0.2 || frac > 0.3 {
		t.Fatalf("moved %.3f of the keys, want about 1/4", frac)
	}
}

// fakeSleep advances no clock but records each wait the push asked for
// and runs hook before returning.
type fakeSleep struct {
	mu    sync.Mutex
	waits []time.Duration
	hook  func(call int)
	clock *clock.Fake // advanced by each wait, when set
}

func (f *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.waits = append(f.waits, d)
	n, hook := len(f.waits), f.hook
	if f.clock != nil {
		f.clock.Advance(d)
	}
	f.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return ctx.Err()
}

// twoNodes is a 1-node region where n2 replaces n1: every key moves.
func twoNodes(t *testing.T, keys int, cfg MigrateConfig, fs *fakeSleep) (*migRegion, *Migrator, *Migrator) {
	r := newMigRegion(t, 1, nil)
	r.fill(r.old, "k", keys)
	r.new = r.new[1:]
	ms := r.migrators(cfg, fs.sleep)
	return r, ms["n1"], ms["n2"]
}

func TestMigratePushesHottestFirst(t *testing.T) {
	fs := &fakeSleep{}
	r, from, to := twoNodes(t, 200, MigrateConfig{KeysPerSec: -1, BytesPerSec: -1, BatchKeys: 10}, fs)
	hot := map[string]bool{}
	for i := 0; i < 200; i += 10 { // 20 hot keys
		k := fmt.Sprintf("k:%d", i)
		hot[k] = true
		for range 40 {
			r.nodes["n1"].store.Get([]byte(k))
		}
	}
	n2 := r.nodes["n2"]
	var seen [][]string
	fs.hook = func(call int) {
		var ks []string
		n2.store.Range(0, 0, func(key []byte, _ store.Item, _ uint32) bool {
			ks = append(ks, string(key))
			return true
		})
		seen = append(seen, ks)
	}
	if err := from.Transition(1, r.old, r.new); err != nil {
		t.Fatal(err)
	}
	waitAll(t, map[string]*Migrator{"n1": from, "n2": to})
	// Before batch 3 the first two batches (20 keys) have landed: the hot ones.
	if len(seen) < 3 || len(seen[2]) != 20 {
		t.Fatalf("keys on n2 before each batch: %v", seen)
	}
	for _, k := range seen[2] {
		if !hot[k] {
			t.Fatalf("%s pushed among the first 20 but not hot", k)
		}
	}
	if n2.store.Len() != 200 {
		t.Fatalf("n2 has %d keys", n2.store.Len())
	}
}

func TestMigrateRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  MigrateConfig
		want time.Duration
	}{
		// 200 keys in batches of 10 at 100 keys/s: 19 batches wait 0.1 s each.
		{"keys", MigrateConfig{KeysPerSec: 100, BytesPerSec: -1, BatchKeys: 10}, 1900 * time.Millisecond},
		// Keys "k:0".."k:199" with values "v:k:..": 10 keys of 11..13
		// bytes; at 1000 bytes/s the byte limit dominates.
		{"bytes", MigrateConfig{KeysPerSec: -1, BytesPerSec: 1000, BatchKeys: 10}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := &fakeSleep{}
			r, from, to := twoNodes(t, 200, tc.cfg, fs)
			// The fake sleep advances the migrator's clock by each wait.
			fake := clock.NewFake(testEpoch)
			from.clk, fs.clock = fake, fake
			if err := from.Transition(1, r.old, r.new); err != nil {
				t.Fatal(err)
			}
			waitAll(t, map[string]*Migrator{"n1": from, "n2": to})
			p := from.Progress()
			if p.Batches != 20 || p.Keys != 200 {
				t.Fatalf("progress %+v", p)
			}
			var total time.Duration
			for _, w := range fs.waits {
				total += w
			}
			lo, hi := tc.want, tc.want
			if tc.want == 0 {
				// Every batch but the last waits for its predecessor's
				// bytes; a batch holds at most 10 × 12 bytes.
				hi = time.Duration(float64(p.Bytes) / 1000 * float64(time.Second))
				lo = hi - 120*time.Millisecond
			}
			if total < lo-time.Millisecond || total > hi+time.Millisecond {
				t.Fatalf("waited %v in %d batches, want %v..%v", total, len(fs.waits), lo, hi)
			}
		})
	}
}

func TestMigratePauseStopsResumeContinues(t *testing.T) {
	fs := &fakeSleep{}
	r, from, to := twoNodes(t, 100, MigrateConfig{KeysPerSec: -1, BytesPerSec: -1, BatchKeys: 10}, fs)
	paused := make(chan struct{})
	fs.hook = func(call int) {
		if call == 3 {
			from.Pause() // between the limiter and the send of batch 3
			close(paused)
		}
	}
	if err := from.Transition(1, r.old, r.new); err != nil {
		t.Fatal(err)
	}
	<-paused
	p := from.Progress()
	if p.State != MigrationPaused || p.Keys != 20 {
		t.Fatalf("paused progress %+v", p)
	}
	if n := r.nodes["n2"].store.Len(); n != 20 {
		t.Fatalf("n2 got %d keys while paused", n)
	}
	// A write on the new owner while the push is held: the older pushed
	// item must not overwrite it, nor a delete be undone.
	var newer, deleted string
	for i := 99; i >= 0 && (newer == "" || deleted == ""); i-- {
		k := fmt.Sprintf("k:%d", i)
		if r.nodes["n2"].store.Exists([]byte(k)) {
			continue
		}
		n2 := r.nodes["n2"]
		if newer == "" {
			newer = k
			n2.store.SetIfNewer([]byte(k), store.Item{Value: []byte("newer"), Version: n2.versions.Now()})
		} else {
			deleted = k
			n2.store.DeleteVersion([]byte(k), n2.versions.Now())
		}
	}
	from.Resume()
	waitAll(t, map[string]*Migrator{"n1": from, "n2": to})
	if p := from.Progress(); p.State != MigrationDone || p.Keys != 100 {
		t.Fatalf("progress after resume %+v", p)
	}
	n2 := r.nodes["n2"].store
	if it, _ := n2.Peek([]byte(newer)); string(it.Value) != "newer" {
		t.Fatalf("%s = %q: a pushed older item overwrote a newer write", newer, it.Value)
	}
	if n2.Exists([]byte(deleted)) {
		t.Fatalf("%s: a pushed older item undid a delete", deleted)
	}
	if n2.Len() != 99 {
		t.Fatalf("n2 has %d keys, want 99", n2.Len())
	}
}

func TestMigrateConfigValidate(t *testing.T) {
	for _, c := range []MigrateConfig{{BatchKeys: -1}, {BatchBytes: -1}, {PullWindow: -1}, {ReportEvery: -1}} {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("%+v: %v", c, err)
		}
	}
	if err := (MigrateConfig{}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateUnreachableOwnerFailsFastAndKeepsCopies(t *testing.T) {
	fs := &fakeSleep{}
	r, from, _ := twoNodes(t, 100, MigrateConfig{KeysPerSec: -1, BytesPerSec: -1, BatchKeys: 10}, fs)
	r.nodes["n2"].Close()
	if err := from.Transition(1, r.old, r.new); err != nil {
		t.Fatal(err)
	}
	waitAll(t, map[string]*Migrator{"n1": from})
	p := from.Progress()
	if p.State != MigrationDone || p.Failed != 100 || p.Keys != 0 || p.Batches != 0 {
		t.Fatalf("progress %+v", p)
	}
	// One batch tried three times, the other nine not at all.
	if n := len(fs.waits); n != 3 {
		t.Fatalf("%d waits, want 3 (one limiter wait, two retry backoffs)", n)
	}
	if n := r.nodes["n1"].store.Len(); n != 100 {
		t.Fatalf("n1 dropped copies it never handed over: %d left", n)
	}
}
