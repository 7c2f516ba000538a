package tiercache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2"
)

func TestReadThroughFillAndHit(t *testing.T) {
	r := startRegion(t, 3, l2.TierOptions{})
	c := r.client(t, Config{})
	origin := newCountingLoader()
	ctx := context.Background()
	for i := range 3 {
		v, err := c.Get(ctx, "user:1", origin)
		if err != nil {
			t.Fatal(err)
		}
		if string(v) != "v(user:1)" {
			t.Fatalf("read %d: %q", i, v)
		}
	}
	if n := origin.loads.Load(); n != 1 {
		t.Fatalf("origin loads %d, want 1", n)
	}
	st := c.Stats()
	if st.Leases != 1 || st.Fills != 1 || st.L2Hits != 2 {
		t.Fatalf("stats %+v", st)
	}
	// A second client (another app server) hits L2 without loading.
	c2 := r.client(t, Config{})
	if v, err := c2.Get(ctx, "user:1", origin); err != nil || string(v) != "v(user:1)" {
		t.Fatalf("second client: %q %v", v, err)
	}
	if n := origin.loads.Load(); n != 1 {
		t.Fatalf("origin loads %d after second client, want 1", n)
	}
}

func TestInvalidateAndSetAfterCommit(t *testing.T) {
	r := startRegion(t, 3, l2.TierOptions{})
	c := r.client(t, Config{})
	origin := newCountingLoader()
	ctx := context.Background()
	origin.set("user:2", "old")
	if v, _ := c.Get(ctx, "user:2", origin); string(v) != "old" {
		t.Fatalf("first read %q", v)
	}
	origin.set("user:2", "new") // the commit
	v1, err := c.Invalidate(ctx, "user:2")
	if err != nil || v1 == 0 {
		t.Fatalf("invalidate: %d %v", v1, err)
	}
	if v, _ := c.Get(ctx, "user:2", origin); string(v) != "new" {
		t.Fatalf("read after invalidate %q", v)
	}
	v2, err := c.Set(ctx, "user:2", []byte("newer"))
	if err != nil || v2 <= v1 {
		t.Fatalf("set: version %d (after %d) %v", v2, v1, err)
	}
	if v, _ := c.Get(ctx, "user:2", origin); string(v) != "newer" {
		t.Fatalf("read after set %q", v)
	}
	if n := origin.loads.Load(); n != 2 {
		t.Fatalf("origin loads %d, want 2", n)
	}
}

func TestNoLoaderMisses(t *testing.T) {
	r := startRegion(t, 1, l2.TierOptions{})
	c := r.client(t, Config{})
	if _, err := c.Get(context.Background(), "k", nil); !errors.Is(err, ErrNoLoader) {
		t.Fatalf("err %v", err)
	}
	if r.nodes[0].TierStats().LeasesGranted != 0 {
		t.Fatal("a read without a loader took a lease")
	}
}

func TestLoaderErrorReleasesLease(t *testing.T) {
	r := startRegion(t, 1, l2.TierOptions{})
	c := r.client(t, Config{})
	origin := newCountingLoader()
	origin.fail.Store(true)
	ctx := context.Background()
	if _, err := c.Get(ctx, "k", origin); !errors.Is(err, errOrigin) {
		t.Fatalf("err %v", err)
	}
	// The lease is given back, so the next reader loads at once instead
	// of waiting out the lease period.
	waitFor(t, "lease release", func() bool { return r.nodes[0].TierStats().LeasesHeld == 0 })
	origin.fail.Store(false)
	if v, err := c.Get(ctx, "k", origin); err != nil || string(v) != "v(k)" {
		t.Fatalf("retry: %q %v", v, err)
	}
	// Loaded at once: granted the lease, never told to wait out one.
	if st := c.Stats(); st.Waits != 0 || st.Leases != 2 {
		t.Fatalf("retry: %d waits, %d leases; want 0 and 2", st.Waits, st.Leases)
	}
}

func TestGetMulti(t *testing.T) {
	r := startRegion(t, 3, l2.TierOptions{})
	c := r.client(t, Config{})
	origin := newCountingLoader()
	ctx := context.Background()
	keys := []string{"a:1", "a:2", "a:3", "a:4", "a:5", "a:6"}
	for _, k := range keys[:3] {
		if _, err := c.Get(ctx, k, origin); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.GetMulti(ctx, keys, origin)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if string(got[k]) != "v("+k+")" {
			t.Fatalf("%s: %q", k, got[k])
		}
	}
	if n := origin.loads.Load(); n != 6 {
		t.Fatalf("origin loads %d, want 6", n)
	}
}

func TestSoftTTLServesStaleAndRefreshesOnce(t *testing.T) {
	// The node's clock is fake: the value turns stale when the test says
	// so, and the refreshed value cannot turn stale again on a busy
	// machine.
	clk := clock.NewFake(time.Now())
	r := startRegionClock(t, 1, l2.TierOptions{}, clk)
	table := &keyspace.Table{Spaces: map[string]keyspace.Settings{
		"s": {SoftTTL: 400 * time.Millisecond, HardTTL: time.Minute, EarlyRefresh: -1, L1: keyspace.L1Off},
	}}
	c := r.client(t, Config{Keyspaces: table, Clock: clk})
	origin := newCountingLoader()
	ctx := context.Background()
	origin.set("s:1", "one")
	if v, _ := c.Get(ctx, "s:1", origin); string(v) != "one" {
		t.Fatalf("%q", v)
	}
	// The fill runs in the background; the value must be in the node
	// before the clock moves, or it would land fresh after the move.
	waitFor(t, "fill", func() bool { return c.Stats().Fills == 1 })
	origin.set("s:1", "two")
	clk.Advance(450 * time.Millisecond)
	for range 20 {
		v, err := c.Get(ctx, "s:1", origin)
		if err != nil {
			t.Fatal(err)
		}
		if string(v) != "one" && string(v) != "two" {
			t.Fatalf("%q", v)
		}
	}
	waitFor(t, "background refresh", func() bool {
		v, _ := c.Get(ctx, "s:1", nil)
		return string(v) == "two"
	})
	if n := origin.loads.Load(); n != 2 {
		t.Fatalf("origin loads %d, want 2 (one fill, one refresh); stats %+v; node %+v", n, c.Stats(), r.nodes[0].TierStats())
	}
}

func TestConfigValidate(t *testing.T) {
	good := []Node{{ID: "a", Addr: "127.0.0.1:1"}}
	for _, cfg := range []Config{
		{},
		{Nodes: []Node{{ID: "", Addr: "127.0.0.1:1"}}},
		{Nodes: []Node{{ID: "a", Addr: "nope"}}},
		{Nodes: []Node{{ID: "a", Addr: "127.0.0.1:1"}, {ID: "a", Addr: "127.0.0.1:2"}}},
		{Nodes: good, OpTimeout: -1},
		{Nodes: good, L1MaxBytes: 100},
		{Nodes: good, Keyspaces: &keyspace.Table{Default: keyspace.Settings{TTL: -1}}},
	} {
		if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", cfg, err)
		}
		if _, err := New(cfg); err == nil {
			t.Errorf("New accepted %+v", cfg)
		}
	}
	if err := (Config{Nodes: good}).Validate(); err != nil {
		t.Fatal(err)
	}
}
