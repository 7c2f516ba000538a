package tiercache

import (
	"context"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2"
)

// heatUp reads key until the node flags it hot and c serves it from L1.
func heatUp(t *testing.T, c *Client, key string, origin Loader) {
	t.Helper()
	ctx := context.Background()
	waitFor(t, key+" in L1", func() bool {
		before := c.Stats().L1Hits
		for range 20 {
			if _, err := c.Get(ctx, key, origin); err != nil {
				t.Fatal(err)
			}
		}
		return c.Stats().L1Hits > before
	})
}

func hotClient(t *testing.T, r *testRegion, clk clock.Clock) *Client {
	c := r.client(t, Config{Clock: clk, PrewarmInterval: -1})
	waitFor(t, "subscriptions", c.trackingUpAll)
	return c
}

func TestHotKeyServedFromL1AndInvalidatedByPush(t *testing.T) {
	r := startRegion(t, 3, l2.TierOptions{})
	a := hotClient(t, r, nil)
	b := r.client(t, Config{L1MaxBytes: -1})
	origin := newCountingLoader()
	ctx := context.Background()
	origin.set("hot:1", "old")
	heatUp(t, a, "hot:1", origin)
	loads := origin.loads.Load()
	l2Before := a.Stats().L2Hits
	for range 1000 {
		if v, _ := a.Get(ctx, "hot:1", origin); string(v) != "old" {
			t.Fatalf("L1 read %q", v)
		}
	}
	if a.Stats().L2Hits != l2Before {
		t.Fatalf("hot key reads reached the node: %d", a.Stats().L2Hits-l2Before)
	}

	// The database changes; the writer invalidates; the node pushes.
	origin.set("hot:1", "new")
	pushes := a.Stats().Pushes
	if _, err := b.Invalidate(ctx, "hot:1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "push", func() bool { return a.Stats().Pushes > pushes })
	if v, _ := a.Get(ctx, "hot:1", origin); string(v) != "new" {
		t.Fatalf("after push: %q", v)
	}
	if origin.loads.Load() != loads+1 {
		t.Fatalf("origin loads %d, want %d", origin.loads.Load(), loads+1)
	}
}

func TestLostPushBoundedByHotTTL(t *testing.T) {
	r := startRegion(t, 3, l2.TierOptions{})
	clk := clock.NewFake(time.Now())
	a := hotClient(t, r, clk)
	b := r.client(t, Config{L1MaxBytes: -1})
	origin := newCountingLoader()
	ctx := context.Background()
	origin.set("hot:2", "old")
	heatUp(t, a, "hot:2", origin)

	a.losePushes.Store(true) // the push is lost; the connection stays up
	origin.set("hot:2", "new")
	if _, err := b.Invalidate(ctx, "hot:2"); err != nil {
		t.Fatal(err)
	}
	var sent uint64
	waitFor(t, "push sent", func() bool {
		sent = 0
		for _, n := range r.nodes {
			sent += n.TierStats().Pushes
		}
		return sent > 0
	})
	if v, _ := a.Get(ctx, "hot:2", origin); string(v) != "old" {
		t.Fatalf("L1 should still hold the old value without the push, got %q", v)
	}
	clk.Advance(keyspace.DefaultHotL1TTL)
	if v, _ := a.Get(ctx, "hot:2", origin); string(v) != "new" {
		t.Fatalf("after the hot TTL: %q", v)
	}
}

func TestCutSubscriptionDropsNodeKeys(t *testing.T) {
	r := startRegion(t, 3, l2.TierOptions{})
	a := hotClient(t, r, nil)
	origin := newCountingLoader()
	ctx := context.Background()
	heatUp(t, a, "hot:3", origin)
	n := a.topo.Load().owner([]byte("hot:3"))
	conn := n.trackConn.Load()
	if conn == nil {
		t.Fatal("no subscription")
	}
	drops := a.Stats().TrackDrops
	conn.nc.Close()
	waitFor(t, "subscription loss noticed", func() bool { return a.Stats().TrackDrops > drops })
	if _, _, st := a.l1.Get(nil, []byte("hot:3")); st.String() != "miss" {
		t.Fatalf("L1 still holds the key after the cut: %v", st)
	}
	// It comes back and the key can be admitted again.
	waitFor(t, "resubscribed", a.trackingUpAll)
	heatUp(t, a, "hot:3", origin)
	_ = ctx
}

func TestCooledKeyLeavesL1(t *testing.T) {
	clk := clock.NewFake(time.Now())
	r := startRegionClock(t, 1, l2.TierOptions{}, clk)
	a := hotClient(t, r, clk)
	origin := newCountingLoader()
	ctx := context.Background()
	heatUp(t, a, "warm:1", origin)
	// No reads for a while: the node's detector cools the key, and once
	// L1's copy turns stale, the background re-read from the node drops
	// it. The L1 hits of the warm-up go to the node with that re-read,
	// sampled (one in 16, counted as 16), and by design (no flapping)
	// they can keep the key hot one more hot TTL; the re-read after that
	// reports at most this test's one read, far below the threshold. So
	// the key leaves by the second round, whatever the sampling drew.
	for round := 1; ; round++ {
		st := a.Stats()
		clk.Advance(keyspace.DefaultHotL1TTL * 9 / 10)
		if _, err := a.Get(ctx, "warm:1", origin); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "background re-read", func() bool {
			return a.Stats().Refreshes > st.Refreshes && !a.refreshes.InFlight("warm:1")
		})
		if a.Stats().L1Drops > st.L1Drops {
			break
		}
		if round == 2 {
			t.Fatalf("key still in L1 after two hot TTLs without reads: %+v", a.Stats())
		}
	}
	if _, _, st := a.l1.Get(nil, []byte("warm:1")); st.String() != "miss" {
		t.Fatalf("cooled key still in L1: %v", st)
	}
}
