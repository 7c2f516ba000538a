package tiercache

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/hlc"
	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l2/store"
)

// relay is a global tier that misses every read and keeps what its region
// publishes, for the test to deliver to the other region (the federation's
// change stream, run by hand so the order of arrival is the test's).
type relay struct {
	mu        sync.Mutex
	published []l2.GlobalChange
}

func (r *relay) Get(context.Context, []byte, l2.GlobalMode) (l2.GlobalReply, error) {
	return l2.GlobalReply{Status: l2.GlobalMiss}, nil
}
func (r *relay) Fill(context.Context, []byte, uint64, store.Item) error { return nil }
func (r *relay) Release(context.Context, []byte, uint64) error          { return nil }
func (r *relay) Publish(c l2.GlobalChange) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.Key, c.Value = slices.Clone(c.Key), slices.Clone(c.Value)
	r.published = append(r.published, c)
	return nil
}

// take returns and forgets what was published.
func (r *relay) take() []l2.GlobalChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.published
	r.published = nil
	return out
}

// versionedRegion is one L2 node of region id on clk, publishing to a relay,
// with a sticky client.
type versionedRegion struct {
	node  *l2.Node
	relay *relay
	c     *Client
}

func startVersionedRegion(t *testing.T, name string, id int, clk clock.Clock) *versionedRegion {
	t.Helper()
	n, err := l2.NewNode(l2.Config{ID: fmt.Sprintf("%s-n1", name), RegionID: id, MaxMemory: 16 << 20, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	r := &versionedRegion{node: n, relay: &relay{}}
	n.SetGlobal(r.relay)
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if err := n.SetTierOptions(l2.TierOptions{}); err != nil {
		t.Fatal(err)
	}
	r.c, err = New(Config{
		Nodes:     []Node{{ID: fmt.Sprintf("%s-n1", name), Addr: n.Addr()}},
		Keyspaces: stickyKS, Region: name, StickyKeys: [][]byte{stickyKey},
		Clock: clk, L1MaxBytes: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.c.Close() })
	return r
}

// read returns key's value in region r, failing the test if it would load.
func (r *versionedRegion) read(t *testing.T, key string) string {
	t.Helper()
	v, err := r.c.Get(context.Background(), key, LoaderFunc(func(context.Context, string) ([]byte, error) {
		t.Errorf("%s: a load for %s, which both regions hold", r.c.cfg.Region, key)
		return nil, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

// TestSessionWritesInTwoRegionsInOneMillisecond: a session writes a key in
// region A, carries its token to region B and writes the key again, all in
// one millisecond of a pinned clock. A's region id is the higher, so by the
// versions' tie-break alone A's write would win everywhere; the session's
// MINVER makes B's version the greater, and the last write wins in both
// regions whichever order the changes arrive in.
func TestSessionWritesInTwoRegionsInOneMillisecond(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	a := startVersionedRegion(t, "ap-south", 2, clk)
	b := startVersionedRegion(t, "eu-west", 1, clk)

	// Without a session the same two writes are ordered by region: this is
	// what the test would see if Session.Set did not carry MINVER.
	va, err := a.c.Set(ctx, "user:plain", []byte("first"))
	if err != nil {
		t.Fatal(err)
	}
	vb, err := b.c.Set(ctx, "user:plain", []byte("second"))
	if err != nil {
		t.Fatal(err)
	}
	if hlc.Millis(va) != hlc.Millis(vb) || vb > va {
		t.Fatalf("plain writes %d then %d: the test needs them in one ms with the later one lower", va, vb)
	}

	sa := a.c.NewSession()
	v1, err := sa.Set(ctx, "user:7", []byte("first"))
	if err != nil {
		t.Fatal(err)
	}
	sb := b.c.RestoreSession(sa.Token())
	v2, err := sb.Set(ctx, "user:7", []byte("second"))
	if err != nil {
		t.Fatal(err)
	}
	if hlc.Millis(v1) != hlc.Millis(v2) {
		t.Fatalf("versions %d and %d not in one millisecond: the clock moved", v1, v2)
	}
	if v2 <= v1 {
		t.Fatalf("the session's later write got version %d, not above its earlier %d", v2, v1)
	}
	// B's own later write, through the same session, stays after both.
	v3, err := sb.Set(ctx, "user:8", []byte("x"))
	if err != nil || v3 <= v2 {
		t.Fatalf("next session write %d, %v; want above %d", v3, err, v2)
	}

	// The federation delivers each region's writes to the other; A's
	// change reaches B after B's own write.
	fromA, fromB := a.relay.take(), b.relay.take()
	b.node.ApplyGlobal(fromA)
	a.node.ApplyGlobal(fromB)
	for _, r := range []*versionedRegion{a, b} {
		if got := r.read(t, "user:7"); got != "second" {
			t.Errorf("%s holds %q, want the session's last write", r.c.cfg.Region, got)
		}
	}
}

// TestSessionInvalidateOrdersLaterSets: a session's Invalidate counts as a
// write for the next Set's MINVER too.
func TestSessionInvalidateOrdersLaterSets(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	a := startVersionedRegion(t, "ap-south", 2, clk)
	b := startVersionedRegion(t, "eu-west", 1, clk)
	sa := a.c.NewSession()
	tomb, err := sa.Invalidate(ctx, "user:9")
	if err != nil {
		t.Fatal(err)
	}
	v, err := b.c.RestoreSession(sa.Token()).Set(ctx, "user:9", []byte("after"))
	if err != nil || v <= tomb {
		t.Fatalf("set after the session's invalidate: %d, %v; want above the tombstone %d", v, err, tomb)
	}
}

// TestSessionInvalidateAfterAWriteInAnotherRegion: a session sets a key in
// A and invalidates it in B within one millisecond; the tombstone outranks
// the value in both regions, so neither serves the invalidated value.
func TestSessionInvalidateAfterAWriteInAnotherRegion(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	a := startVersionedRegion(t, "ap-south", 2, clk)
	b := startVersionedRegion(t, "eu-west", 1, clk)
	sa := a.c.NewSession()
	v1, err := sa.Set(ctx, "user:10", []byte("gone"))
	if err != nil {
		t.Fatal(err)
	}
	tomb, err := b.c.RestoreSession(sa.Token()).Invalidate(ctx, "user:10")
	if err != nil || tomb <= v1 || hlc.Millis(tomb) != hlc.Millis(v1) {
		t.Fatalf("invalidate after the session's write: %d, %v; want above %d in the same ms", tomb, err, v1)
	}
	b.node.ApplyGlobal(a.relay.take())
	a.node.ApplyGlobal(b.relay.take())
	for _, r := range []*versionedRegion{a, b} {
		v, err := r.c.Get(ctx, "user:10", LoaderFunc(func(context.Context, string) ([]byte, error) { return []byte("origin"), nil }))
		if err != nil || string(v) != "origin" {
			t.Errorf("%s: %q, %v; want a load, the cached value invalidated", r.c.cfg.Region, v, err)
		}
	}
}
