package bench

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/federated"
	"github.com/tiercache/tiercache/internal/keyspace"
)

// The partition scenario (DESIGN.md, "A write" 2; failure handling): every
// region writes and invalidates its keys after committing them to a shared
// origin while one region is cut off from the others; the link heals and
// the outboxes replay. converge_s is the time from the heal until every
// region reads, for every key, what the origin holds; stale keys and lost
// invalidations are what is still wrong when the scenario gives up.

func partitionScenario() Scenario {
	return Scenario{Name: "partition", Summary: "cut one region off under writes everywhere, heal, time to converge", Run: runPartition}
}

const deletedValue = "<deleted>"

func runPartition(ctx context.Context, o Options) (*Result, error) {
	fs := flag.NewFlagSet("partition", flag.ContinueOnError)
	rate := fs.Int("rate", 100, "writes per second per region")
	cut := fs.Duration("cut", 5*time.Second, "how long the region is cut off")
	keys := fs.Int("keys", 200, "keys per region")
	isolated := fs.String("region", "ap-south", "the region cut off")
	if err := fs.Parse(o.Args); err != nil {
		return nil, err
	}
	if o.Quick {
		*cut, *keys = time.Second, 50
	}
	ks := &keyspace.Table{Default: keyspace.Settings{TTL: time.Minute, L1: keyspace.L1Off, EarlyRefresh: -1}}
	d, err := startFederated(ctx, federated.Options{Keyspaces: ks})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var db sync.Map // the origin: key -> value, deletedValue once invalidated
	origin := tiercache.LoaderFunc(func(_ context.Context, key string) ([]byte, error) {
		v, _ := db.Load(key)
		s, _ := v.(string)
		if s == "" {
			s = deletedValue
		}
		return []byte(s), nil
	})
	clients := map[string]*tiercache.Client{}
	for _, r := range d.Regions() {
		c, err := regionClient(r, ks)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		clients[r.Name] = c
	}
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, len(clients))
	for name, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- commitAndWrite(wctx, c, &db, name, *rate, *keys)
		}()
	}
	time.Sleep(*cut / 4)
	if err := d.WAN.Isolate(*isolated); err != nil {
		stop()
		wg.Wait()
		return nil, err
	}
	o.Progressf("partition: %s cut off for %v\n", *isolated, *cut)
	time.Sleep(*cut)
	stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return nil, err
		}
	}
	d.WAN.HealAll()
	healed := time.Now()
	// Converged when every link has delivered everything published before
	// the heal (the replay of the outboxes); then one pass checks it.
	cctx, ccancel := context.WithTimeout(ctx, 60*time.Second)
	defer ccancel()
	for _, r := range d.Regions() {
		for _, l := range r.Endpoint.Links() {
			if err := l.WaitDelivered(cctx, l.Stats().Enqueued); err != nil {
				return nil, fmt.Errorf("%s→%s did not converge: %w", r.Name, l.Region(), err)
			}
		}
	}
	converge := time.Since(healed)
	var stale, lost int
	db.Range(func(k, v any) bool {
		for _, c := range clients {
			got, err := c.Get(ctx, k.(string), origin)
			if err != nil || string(got) != v.(string) {
				stale++
				if v.(string) == deletedValue {
					lost++
				}
			}
		}
		return true
	})
	res := NewResult("partition", 1)
	res.Figures["converge_s"] = converge.Seconds()
	res.Figures["stale_keys_after_converge"] = float64(stale)
	res.Figures["invalidations_lost"] = float64(lost)
	res.Figures["partition_s"] = cut.Seconds()
	res.Notes["workload"] = fmt.Sprintf("%d commits/s per region (every 4th an invalidation) over %d keys each; %s cut off for %v; targets: 0 stale keys, 0 invalidations lost", *rate, *keys, *isolated, *cut)
	return res, nil
}

// commitAndWrite commits to the origin, then writes (or, every fourth
// time, invalidates) the cache, at rate per second until ctx ends.
func commitAndWrite(ctx context.Context, c *tiercache.Client, db *sync.Map, region string, rate, keys int) error {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		key := fmt.Sprintf("p:%s:%d", region, i%keys)
		var err error
		if i%4 == 3 {
			db.Store(key, deletedValue)
			_, err = c.Invalidate(ctx, key)
		} else {
			v := fmt.Sprintf("%s-%d", region, i)
			db.Store(key, v)
			_, err = c.Set(ctx, key, []byte(v))
		}
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("write in %s: %w", region, err)
		}
	}
}
