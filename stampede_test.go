package tiercache

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2"
)

// stampede primes key, lets it expire (by moving the shared fake clock) and
// fires readers concurrent Gets at it from k clients, returning the origin
// loads the burst caused.
func stampede(t *testing.T, k, readers int, def Defences, ks keyspace.Settings) int64 {
	clk := clock.NewFake(time.Now())
	r := startRegionClock(t, 3, l2.TierOptions{}, clk)
	table := &keyspace.Table{Default: ks}
	clients := make([]*Client, k)
	for i := range clients {
		clients[i] = r.client(t, Config{Keyspaces: table, Defences: map[string]Defences{"": def}, Clock: clk, PrewarmInterval: -1})
	}
	origin := newCountingLoader()
	origin.delay = 30 * time.Millisecond
	ctx := context.Background()
	if _, err := clients[0].Get(ctx, "news:1", origin); err != nil {
		t.Fatal(err)
	}
	clients[0].quiesce(t) // the fill is in
	clk.Advance(ks.Hard() + time.Second)
	before := origin.loads.Load()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range readers {
		c := clients[i%k]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if v, err := c.Get(ctx, "news:1", origin); err != nil || string(v) != "v(news:1)" {
				t.Errorf("read: %q %v", v, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return origin.loads.Load() - before
}

func TestStampedeOneLoadPerExpiry(t *testing.T) {
	ks := keyspace.Settings{TTL: time.Minute}
	if got := stampede(t, 4, 400, Defences{}, ks); got != 1 {
		t.Fatalf("tiercache defaults: %d origin loads for one expiry, want 1", got)
	}
}

func TestStampedeBaselines(t *testing.T) {
	off := keyspace.Settings{TTL: time.Minute, EarlyRefresh: -1, L1: keyspace.L1Off}
	naive := stampede(t, 4, 400, Defences{NoLeases: true, NoSingleflight: true}, off)
	sf := stampede(t, 4, 400, Defences{NoLeases: true}, off)
	t.Logf("origin loads per expiry: naive %d, singleflight only %d", naive, sf)
	if naive < 40 {
		t.Errorf("naive: %d loads; the unprotected cache should stampede", naive)
	}
	// Singleflight coalesces each process's readers: about one load per
	// client (fewer when one client's fill lands before another asks, a
	// few more when a reader arrives after its process's load finished).
	if sf < 1 || sf > 3*4 || sf > naive/4 {
		t.Errorf("singleflight only: %d loads, want about one per client (4 clients), well under naive %d", sf, naive)
	}
}
