package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// demoReport is the final summary printed by --report json.
type demoReport struct {
	DurationS   float64            `json:"duration_s"`
	OpsTotal    uint64             `json:"ops_total"`
	Reads       uint64             `json:"reads"`
	Writes      uint64             `json:"writes"`
	HitRatio    float64            `json:"hit_ratio"`
	OriginLoads uint64             `json:"origin_loads"`
	Errors      uint64             `json:"errors"`
	Regions     []demoRegionReport `json:"regions"`
}

type demoRegionReport struct {
	Name  string           `json:"name"`
	Nodes []demoNodeReport `json:"nodes"`
}

type demoNodeReport struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
	Ops  uint64 `json:"ops"`
}

// demoWorkload is a cache-aside app: read the cache, on a miss read the
// origin and fill; on a write, commit to the origin and then delete the key.
type demoWorkload struct {
	o       demoOptions
	region  *demoRegion
	clients []*redis.Client

	reads, writes, hits, originLoads, errs atomic.Uint64
	originMu                               sync.Mutex
	originRows                             map[int]int // row id → version
}

func newDemoWorkload(o demoOptions, r *demoRegion) *demoWorkload {
	w := &demoWorkload{o: o, region: r, originRows: map[int]int{}}
	for _, n := range r.nodes {
		w.clients = append(w.clients, redis.NewClient(&redis.Options{
			Addr: n.Addr(), PoolSize: o.workers, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
		}))
	}
	return w
}

func (w *demoWorkload) run(ctx context.Context, progress io.Writer) demoReport {
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < w.o.workers; i++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			w.worker(ctx, seed)
		}(uint64(i) + 1)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	prevOps, prevLoads := uint64(0), uint64(0)
	prevNode := make([]uint64, len(w.region.nodes))
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			ops := w.reads.Load() + w.writes.Load()
			loads := w.originLoads.Load()
			line := fmt.Sprintf("t=%3.0fs  ops/s %7d  hit %5.1f%%  origin/s %6d  errors %d  load",
				time.Since(start).Seconds(), ops-prevOps, 100*w.hitRatio(), loads-prevLoads, w.errs.Load())
			var total uint64
			cur := make([]uint64, len(w.region.nodes))
			for i, n := range w.region.nodes {
				cur[i] = ownerOps(n)
				total += cur[i] - prevNode[i]
			}
			for i := range cur {
				line += fmt.Sprintf("  %s %4.1f%%", w.region.ids[i], 100*safeDiv(float64(cur[i]-prevNode[i]), float64(total)))
			}
			fmt.Fprintln(progress, line)
			prevOps, prevLoads, prevNode = ops, loads, cur
		}
	}
	wg.Wait()
	for _, c := range w.clients {
		_ = c.Close()
	}
	rep := demoReport{
		DurationS: time.Since(start).Seconds(), Reads: w.reads.Load(), Writes: w.writes.Load(),
		HitRatio: w.hitRatio(), OriginLoads: w.originLoads.Load(), Errors: w.errs.Load(),
	}
	rep.OpsTotal = rep.Reads + rep.Writes
	rr := demoRegionReport{Name: w.region.name}
	for i, n := range w.region.nodes {
		rr.Nodes = append(rr.Nodes, demoNodeReport{ID: w.region.ids[i], Addr: n.Addr(), Ops: ownerOps(n)})
	}
	rep.Regions = append(rep.Regions, rr)
	return rep
}

func (w *demoWorkload) hitRatio() float64 {
	return safeDiv(float64(w.hits.Load()), float64(w.reads.Load()))
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func (w *demoWorkload) worker(ctx context.Context, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x7469657263616368))
	zipf := rand.NewZipf(rng, w.o.zipfS, 1, uint64(w.o.keys-1))
	for ctx.Err() == nil {
		row := int(zipf.Uint64())
		key := "user:" + strconv.Itoa(row)
		// Plain Redis clients may talk to any node: it forwards to the owner.
		c := w.clients[rng.IntN(len(w.clients))]
		if rng.IntN(100) < w.o.writePct {
			w.write(ctx, c, key, row)
			continue
		}
		w.read(ctx, c, key, row)
	}
}

func (w *demoWorkload) read(ctx context.Context, c *redis.Client, key string, row int) {
	w.reads.Add(1)
	_, err := c.Get(ctx, key).Result()
	switch {
	case err == nil:
		w.hits.Add(1)
		return
	case !errors.Is(err, redis.Nil):
		if ctx.Err() == nil {
			w.errs.Add(1)
		}
		return
	}
	val := w.loadOrigin(ctx, row)
	if err := c.Set(ctx, key, val, w.o.ttl).Err(); err != nil && ctx.Err() == nil {
		w.errs.Add(1)
	}
}

// write commits to the origin first and invalidates after, the order that
// keeps a concurrent reader from caching the old row indefinitely.
func (w *demoWorkload) write(ctx context.Context, c *redis.Client, key string, row int) {
	w.writes.Add(1)
	w.originMu.Lock()
	w.originRows[row]++
	w.originMu.Unlock()
	if err := c.Del(ctx, key).Err(); err != nil && ctx.Err() == nil {
		w.errs.Add(1)
	}
}

func (w *demoWorkload) loadOrigin(ctx context.Context, row int) string {
	w.originLoads.Add(1)
	t := time.NewTimer(w.o.originMs)
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	t.Stop()
	w.originMu.Lock()
	v := w.originRows[row]
	w.originMu.Unlock()
	return "row " + strconv.Itoa(row) + " v" + strconv.Itoa(v) + " " + strings.Repeat("x", 32)
}
