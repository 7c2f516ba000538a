package bench

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/federated"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l3"
)

// The global stampede (DESIGN.md, "A read" 5, stampede scope global): one
// key expires in every region of the local-3 assembly at once and readers
// in all three regions miss it together. With scope region each region's
// L2 lease lets one load through (3 per expiry); with scope global the L3
// owner's lease lets one through worldwide. Both keyspaces run in the same
// deployment, alternating.

func stampedeGlobalScenario() Scenario {
	return Scenario{Name: "stampede-global", Summary: "origin loads per expiry of one key missed in all three regions: stampede scope region vs global", Run: runStampedeGlobal}
}

func runStampedeGlobal(ctx context.Context, o Options) (*Result, error) {
	fs := flag.NewFlagSet("stampede-global", flag.ContinueOnError)
	readers := fs.Int("readers", 300, "concurrent reads per region per expiry")
	loadMs := fs.Int("load-ms", 100, "origin load time in ms")
	if err := fs.Parse(o.Args); err != nil {
		return nil, err
	}
	runs := o.RunsOr(5)
	if o.Quick {
		*readers, runs = 50, 1
	}
	const ttl = 500 * time.Millisecond
	base := keyspace.Settings{TTL: ttl, L1: keyspace.L1Off, EarlyRefresh: -1}
	global := base
	global.StampedeScope = keyspace.ScopeGlobal
	ks := &keyspace.Table{Default: base, Spaces: map[string]keyspace.Settings{"global": global, "region": base}}
	d, err := startFederated(ctx, federated.Options{Keyspaces: ks})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	clients := make([]*tiercache.Client, len(d.Regions()))
	for i, r := range d.Regions() {
		// The op deadline is raised from the default 500 ms: this scenario
		// measures coalescing across regions, and on a loaded 2-core
		// machine a scheduler stall past 500 ms turns a lease waiter into a
		// degraded read that loads on its own (the degraded path, measured
		// by the degraded scenario), which is not what is counted here.
		c, err := tiercache.New(tiercache.Config{Nodes: regionNodes(r), Keyspaces: ks, PoolSize: 64, OpTimeout: 3 * time.Second})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		clients[i] = c
	}
	loads := map[string][]float64{}
	scopes := []string{"region", "global"}
	for run := range runs {
		for i := range scopes {
			scope := scopes[(i+run)%len(scopes)]
			n, err := globalStampedeOnce(ctx, d, clients, fmt.Sprintf("%s:%d", scope, run), *readers, time.Duration(*loadMs)*time.Millisecond, ttl)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", scope, err)
			}
			o.Progressf("stampede-global run %d scope %-6s %3d origin loads for %d reads in 3 regions\n", run+1, scope, n, 3**readers)
			loads[scope] = append(loads[scope], float64(n))
		}
	}
	res := NewResult("stampede-global", runs)
	for _, s := range scopes {
		res.Figures["origin_loads_per_expiry_"+s] = Mean(loads[s])
		res.Series["origin_loads_"+s] = loads[s]
	}
	res.Notes["workload"] = fmt.Sprintf("%d concurrent reads per region (3 regions, local-3 simulated WAN) of one key at its expiry, origin load %d ms, L1 off; target: 1 load per expiry with scope global", *readers, *loadMs)
	return res, nil
}

// globalStampedeOnce reads key in every region (so each holds it), waits
// for it to expire in every tier, then misses it in all regions at once
// and returns the origin loads of that burst.
func globalStampedeOnce(ctx context.Context, d *federated.Deployment, clients []*tiercache.Client, key string, readers int, load, ttl time.Duration) (int64, error) {
	var loads atomic.Int64
	origin := slowOrigin(&loads, load)
	for _, c := range clients {
		if _, err := c.Get(ctx, key, origin); err != nil {
			return 0, err
		}
	}
	// The expiry itself: wait out the TTL, then until the key's global
	// owner has dropped it too.
	time.Sleep(ttl)
	r0 := d.Regions()[0]
	for deadline := time.Now().Add(5 * time.Second); ; {
		rep, err := r0.Client.Get(ctx, l3.GetRequest{Key: []byte(key)})
		if err == nil && rep.Status != l3.StatusHit && rep.Status != l3.StatusStale {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s never expired at its global owner", key)
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := loads.Load()
	var failed atomic.Int64
	var ready, wg sync.WaitGroup
	start := make(chan struct{})
	for _, c := range clients {
		for range readers {
			ready.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				ready.Done()
				<-start
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if _, err := c.Get(rctx, key, origin); err != nil {
					failed.Add(1)
				}
			}()
		}
	}
	ready.Wait()
	close(start)
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return 0, fmt.Errorf("%d of %d reads failed", f, len(clients)*readers)
	}
	return loads.Load() - before, nil
}
