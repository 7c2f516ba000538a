package tiercache

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l1"
	"github.com/tiercache/tiercache/l2"
)

func TestTTLJitterSpreadsExpiries(t *testing.T) {
	ks := keyspace.Settings{TTL: 10 * time.Second, SoftTTL: 8 * time.Second, TTLJitter: time.Second}
	seen := map[int64]bool{}
	for range 200 {
		soft, hard := ttls(ks)
		if hard < 10_000 || hard > 11_000 || hard-soft != 2_000 {
			t.Fatalf("soft %d hard %d", soft, hard)
		}
		seen[hard/100] = true
	}
	if len(seen) < 5 {
		t.Fatalf("jitter spread the hard TTL over only %d 100 ms buckets", len(seen))
	}
	if soft, hard := ttls(keyspace.Settings{TTL: time.Minute}); soft != 60_000 || hard != 60_000 {
		t.Fatalf("no jitter: soft %d hard %d", soft, hard)
	}
}

// TestEarlyRefreshLoadsOncePerRegion moves a shared fake clock to within a
// load time of a value's expiry: several clients read it, XFetch has one
// refresh it before it expires, and the lease (REFRESH of the version seen)
// keeps the others from loading it again.
func TestEarlyRefreshLoadsOncePerRegion(t *testing.T) {
	clk := clock.NewFake(time.Now())
	r := startRegionClock(t, 3, l2.TierOptions{}, clk)
	table := &keyspace.Table{Default: keyspace.Settings{TTL: 10 * time.Second, L1: keyspace.L1Off}}
	var clients []*Client
	for range 3 {
		clients = append(clients, r.client(t, Config{Keyspaces: table, Clock: clk, PrewarmInterval: -1}))
	}
	origin := newCountingLoader()
	origin.delay = 20 * time.Millisecond
	ctx := context.Background()
	for i, c := range clients {
		// Each client learns the load time (XFetch's delta) from a
		// load of its own.
		if _, err := c.Get(ctx, "warmup:"+itoa(i), origin); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := clients[0].Get(ctx, "x:1", origin); err != nil {
		t.Fatal(err)
	}
	clients[0].quiesce(t)
	loads := origin.loads.Load()
	for _, c := range clients {
		c.Get(ctx, "x:1", origin) // far from expiry: no refresh
	}
	clk.Advance(10*time.Second - 10*time.Millisecond)
	for range 10 {
		for _, c := range clients {
			if v, err := c.Get(ctx, "x:1", origin); err != nil || string(v) != "v(x:1)" {
				t.Fatalf("%q %v", v, err)
			}
		}
	}
	for _, c := range clients {
		c.quiesce(t)
	}
	if n := origin.loads.Load() - loads; n != 1 {
		t.Fatalf("origin loads %d, want 1 early refresh", n)
	}
	// The refreshed value lives a full TTL from the refresh.
	clk.Advance(5 * time.Second)
	if _, err := clients[1].Get(ctx, "x:1", nil); err != nil {
		t.Fatalf("refreshed value gone: %v", err)
	}
}

func TestPrewarmRefreshesHotKeysBeforeExpiry(t *testing.T) {
	clk := clock.NewFake(time.Now())
	r := startRegionClock(t, 1, l2.TierOptions{}, clk)
	table := &keyspace.Table{Default: keyspace.Settings{TTL: 30 * time.Second, EarlyRefresh: -1}}
	var clients []*Client
	for range 3 {
		c := r.client(t, Config{Keyspaces: table, Clock: clk})
		c.prewarmByHand.Store(true) // the test drives prewarmOnce on its fake clock
		waitFor(t, "subscriptions", c.trackingUpAll)
		clients = append(clients, c)
	}
	origin := newCountingLoader()
	for _, c := range clients {
		heatUp(t, c, "p:1", origin)
	}
	for _, c := range clients {
		if n := c.prewarmOnce(); n != 0 {
			t.Fatalf("pre-warmed %d keys far from expiry", n)
		}
	}
	loads := origin.loads.Load()
	// The key stays hot: its readers renew it in L1 as time passes ...
	for range 9 {
		clk.Advance(3 * time.Second)
		for _, c := range clients {
			heatUp(t, c, "p:1", origin)
			c.quiesce(t)
		}
	}
	if got := origin.loads.Load() - loads; got != 0 {
		t.Fatalf("%d loads before the pre-warm", got)
	}
	// ... and near the node value's expiry every client's pre-warmer
	// fires; the region loads once.
	clk.Advance(1500 * time.Millisecond)
	started := 0
	for _, c := range clients {
		started += c.prewarmOnce()
	}
	if started == 0 {
		t.Fatal("no pre-warm started near expiry")
	}
	for _, c := range clients {
		c.quiesce(t)
	}
	if got := origin.loads.Load() - loads; got != 1 {
		t.Fatalf("pre-warm cost %d origin loads, want 1", got)
	}
	clk.Advance(5 * time.Second) // past the old expiry
	if _, err := clients[0].Get(context.Background(), "p:1", nil); err != nil {
		t.Fatalf("pre-warmed key missing after its old expiry: %v", err)
	}
}

func TestLoaderHints(t *testing.T) {
	r := startRegion(t, 1, l2.TierOptions{})
	c := r.client(t, Config{Keyspaces: &keyspace.Table{Default: keyspace.Settings{L1: keyspace.L1Off}}})
	var got Hints
	loader := LoaderFunc(func(ctx context.Context, key string) ([]byte, error) {
		got = HintsFrom(ctx)
		return []byte("v"), nil
	})
	if _, err := c.Get(context.Background(), "h:1", loader); err != nil {
		t.Fatal(err)
	}
	if !got.Leased || got.Background || got.Degraded {
		t.Fatalf("hints of a leased load: %+v", got)
	}
	if HintsFrom(context.Background()) != (Hints{}) {
		t.Fatal("hints from a bare context")
	}
}

// busyServer answers every command with BUSY, as a node over its in-flight
// limit does.
func busyServer(t *testing.T) (string, *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var cmds atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				buf := make([]byte, 4096)
				for {
					n, err := nc.Read(buf)
					if err != nil {
						return
					}
					// One command per read is enough for this client.
					if string(buf[:min(n, 16)]) != "*1\r\n$8\r\nTC.TRACK"[:min(n, 16)] {
						cmds.Add(1)
					}
					nc.Write([]byte("-BUSY node overloaded: too many commands in flight, try again later\r\n"))
				}
			}()
		}
	}()
	return ln.Addr().String(), &cmds
}

func TestBusyIsRetriedWithBackoffThenDegraded(t *testing.T) {
	addr, cmds := busyServer(t)
	c, err := New(Config{Nodes: []Node{{ID: "b", Addr: addr}}, L1MaxBytes: -1, BusyRetries: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	origin := newCountingLoader()
	v, err := c.Get(context.Background(), "k", origin)
	if err != nil || string(v) != "v(k)" {
		t.Fatalf("read from a busy node: %q %v", v, err)
	}
	st := c.Stats()
	if st.Busy != 4 || cmds.Load() != 4 {
		t.Fatalf("BUSY replies %d, commands %d: want 4 (one try, three retries)", st.Busy, cmds.Load())
	}
	if st.DegradedLoads != 1 || st.BreakersOpen != 0 {
		t.Fatalf("stats %+v: want one degraded load and the breaker closed (the node answered)", st)
	}
	if _, err := c.Invalidate(context.Background(), "k"); !errors.Is(err, ErrBusy) {
		t.Fatalf("invalidate on a busy node: %v", err)
	}
}

func TestSetTopologySwapsRing(t *testing.T) {
	r := startRegion(t, 3, l2.TierOptions{})
	c := r.client(t, Config{Keyspaces: &keyspace.Table{Default: keyspace.Settings{L1: keyspace.L1Off}}})
	origin := newCountingLoader()
	ctx := context.Background()
	c.Get(ctx, "t:1", origin)
	old := c.topo.Load()
	// The control plane removes n3: the client routes to the remaining
	// two and keeps the handles of the nodes that stayed.
	nodes := r.clientNodes()[:2]
	if err := c.SetTopology(Topology{Epoch: 7, Nodes: nodes}); err != nil {
		t.Fatal(err)
	}
	nt := c.topo.Load()
	if nt.epoch != 7 || len(nt.nodes) != 2 || nt.nodes["n1"] != old.nodes["n1"] {
		t.Fatalf("topology after swap: epoch %d, %d nodes", nt.epoch, len(nt.nodes))
	}
	if !old.nodes["n3"].pool.closed.Load() {
		t.Fatal("the removed node's pool is open")
	}
	for i := range 50 {
		if _, err := c.Get(ctx, "t:"+itoa(i), origin); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetTopology(Topology{}); !errors.Is(err, ErrNoNodes) {
		t.Fatalf("empty topology: %v", err)
	}
}

func itoa(i int) string {
	return string(rune('0'+i/10)) + string(rune('0'+i%10))
}

// TestStaleL1RefreshesStaleL2 covers stale-while-revalidate through both
// tiers: an L1 copy past its soft TTL is served while one background read
// of the node finds the node's value stale too, takes the refresh lease and
// reloads it, instead of handing the lease back.
func TestStaleL1RefreshesStaleL2(t *testing.T) {
	clk := clock.NewFake(time.Now())
	r := startRegionClock(t, 1, l2.TierOptions{}, clk)
	table := &keyspace.Table{Default: keyspace.Settings{SoftTTL: 2 * time.Second, HardTTL: time.Minute, L1: keyspace.L1All, EarlyRefresh: -1}}
	c := r.client(t, Config{Keyspaces: table, Clock: clk, PrewarmInterval: -1})
	waitFor(t, "subscriptions", c.trackingUpAll)
	origin := newCountingLoader()
	ctx := context.Background()
	origin.set("s:1", "one")
	c.Get(ctx, "s:1", origin) // miss: load, fill, admit to L1
	c.quiesce(t)
	if _, _, st := c.l1.Get(nil, []byte("s:1")); st != l1.Hit {
		t.Fatalf("not in L1 after the fill: %v", st)
	}
	origin.set("s:1", "two")
	loads := origin.loads.Load()
	clk.Advance(3 * time.Second)
	if v, err := c.Get(ctx, "s:1", origin); err != nil || string(v) != "one" {
		t.Fatalf("stale read: %q %v", v, err)
	}
	c.quiesce(t)
	if got := origin.loads.Load() - loads; got != 1 {
		t.Fatalf("%d origin loads, want one background refresh", got)
	}
	waitFor(t, "refreshed value", func() bool {
		v, _ := c.Get(ctx, "s:1", nil)
		return string(v) == "two"
	})
}
