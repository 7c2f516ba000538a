package tiercache

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2"
)

// startGutter starts a gutter node: a plain L2 node with no peers.
func startGutter(t *testing.T, clk clock.Clock) *l2.Node {
	t.Helper()
	return startNode(t, l2.Config{ID: "g1", MaxMemory: 16 << 20, Clock: clk})
}

// waitFills waits for the client's background fills to land.
func waitFills(t *testing.T, c *Client) {
	t.Helper()
	waitFor(t, "fills done", func() bool { return c.fillsInFlight.Load() == 0 })
}

func TestGutterServesDeadNodesKeys(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	r := startRegionClock(t, 3, l2.TierOptions{}, clk)
	g := startGutter(t, clk)
	const ttl = 2 * time.Second
	c := r.client(t, Config{
		// Degraded left zero: the gutter is the default.
		Keyspaces:   &keyspace.Table{Default: keyspace.Settings{L1: keyspace.L1Off}},
		GutterNodes: []Node{{ID: "g1", Addr: g.Addr()}},
		GutterTTL:   ttl,
		Clock:       clk,
	})
	var key string
	for i := 0; key == ""; i++ {
		if k := fmt.Sprintf("g:%d", i); c.topo.Load().ring.Owner([]byte(k)) == "n2" {
			key = k
		}
	}
	origin := newCountingLoader()
	origin.set(key, "v1")
	ctx := context.Background()
	r.nodes[1].Close()

	read := func(want string, loads int64) {
		t.Helper()
		v, err := c.Get(ctx, key, origin)
		if err != nil || string(v) != want {
			t.Fatalf("Get = %q, %v; want %q", v, err, want)
		}
		if n := origin.loads.Load(); n != loads {
			t.Fatalf("origin loads %d, want %d", n, loads)
		}
		waitFills(t, c)
	}
	// The first read of the dead node's key loads and fills the gutter;
	// the next ones are gutter hits, the origin untouched.
	read("v1", 1)
	for range 3 {
		read("v1", 1)
	}
	if st := c.GutterStats(); st.Hits != 3 || st.Fills != 1 {
		t.Fatalf("gutter stats %+v, want 3 hits and 1 fill", st)
	}
	if got := g.Stats().PerCommand["tc.get"]; got != 4 {
		t.Fatalf("gutter served %d TC.GETs, want 4", got)
	}

	// An invalidation while the owner is down fails (retry it) but
	// removes the gutter entry: the next read sees the new value.
	origin.set(key, "v2")
	if _, err := c.Invalidate(ctx, key); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Invalidate with the owner down: %v", err)
	}
	if st := c.GutterStats(); st.Deletes != 1 || st.DelFailures != 0 {
		t.Fatalf("gutter stats %+v, want 1 delete", st)
	}
	read("v2", 2)
	read("v2", 2)

	// A gutter entry lives GutterTTL, no longer.
	clk.Advance(ttl - time.Millisecond)
	read("v2", 2)
	clk.Advance(2 * time.Millisecond)
	read("v2", 3)

	// A Set for the key deletes it from the gutter as well.
	origin.set(key, "v3")
	if _, err := c.Set(ctx, key, []byte("v3")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Set with the owner down: %v", err)
	}
	read("v3", 4)

	// With the gutter down too, reads fall back to the capped loader.
	g.Close()
	read("v3", 5)
	read("v3", 6)
	if st := c.GutterStats(); st.Fallbacks < 2 {
		t.Fatalf("gutter stats %+v, want 2 fallbacks", st)
	}
}

// TestGutterUntouchedWhileOwnersServe checks that the gutter stays out of
// the way of a healthy region: no reads, and writes do not pay a gutter
// delete.
func TestGutterUntouchedWhileOwnersServe(t *testing.T) {
	r := startRegion(t, 2, l2.TierOptions{})
	g := startGutter(t, nil)
	c := r.client(t, Config{
		Keyspaces:   &keyspace.Table{Default: keyspace.Settings{L1: keyspace.L1Off}},
		Degraded:    DegradedGutter,
		GutterNodes: []Node{{ID: "g1", Addr: g.Addr()}},
	})
	origin := newCountingLoader()
	ctx := context.Background()
	for i := range 20 {
		k := fmt.Sprintf("h:%d", i)
		if _, err := c.Get(ctx, k, origin); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Invalidate(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if pc := g.Stats().PerCommand; pc["tc.get"]+pc["tc.del"]+pc["tc.set"] != 0 {
		t.Fatalf("gutter saw traffic with every owner up: %v", pc)
	}
}

func TestGutterConfig(t *testing.T) {
	ring := []Node{{ID: "n1", Addr: "127.0.0.1:1"}}
	for name, cfg := range map[string]Config{
		"ring node":         {Nodes: ring, Degraded: DegradedGutter, GutterNodes: []Node{{ID: "g1", Addr: "127.0.0.1:1"}}},
		"unknown mode":      {Nodes: ring, Degraded: 7},
		"negative ttl":      {Nodes: ring, Degraded: DegradedGutter, GutterNodes: []Node{{ID: "g1", Addr: "127.0.0.1:2"}}, GutterTTL: -1},
		"bad gutter addr":   {Nodes: ring, Degraded: DegradedGutter, GutterNodes: []Node{{ID: "g1", Addr: "nowhere"}}},
		"duplicate gutters": {Nodes: ring, Degraded: DegradedGutter, GutterNodes: []Node{{ID: "g1", Addr: "127.0.0.1:2"}, {ID: "g1", Addr: "127.0.0.1:3"}}},
	} {
		if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: Validate = %v", name, err)
		}
	}
	ok := Config{Nodes: ring, Degraded: DegradedGutter, GutterNodes: []Node{{ID: "g1", Addr: "127.0.0.1:2"}}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid gutter config: %v", err)
	}
	if d := ok.withDefaults().GutterTTL; d != DefaultGutterTTL {
		t.Fatalf("default gutter TTL %v", d)
	}
	// No gutter nodes, or the loader chosen: no gutter, the capped
	// loader answers.
	gutters := []Node{{ID: "g1", Addr: "127.0.0.1:2"}}
	for name, cfg := range map[string]Config{
		"no gutter nodes": {Nodes: ring},
		"loader chosen":   {Nodes: ring, Degraded: DegradedLoader, GutterNodes: gutters},
	} {
		c, err := New(cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.gutter != nil {
			t.Errorf("%s: client has a gutter", name)
		}
		c.Close()
	}
}
