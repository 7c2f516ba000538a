package bench

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2"
)

// The rebalance scenario (scaling challenges, section 6): a steady Zipf
// read load through tier clients against 5 L2 nodes, every key of the
// population cached, plus a fixed share of reads of never-seen keys (new
// content) that gives the origin a steady baseline. A 6th node joins. Two
// setups, each on a fresh region, alternating:
//
//   - naive: the ring is swapped with no migration, so the moved keys
//     miss on their new owner and go to the origin;
//   - tiercache: every node's l2.Migrator moves the Diff ranges (the new
//     owner pulls through from the previous one on a miss, the previous
//     owner pushes hottest first, rate limited).
//
// Figures: the share of cached keys moved over the ideal 1/6, and the
// origin's peak load after the change over its steady rate before it.

func rebalanceScenario() Scenario {
	return Scenario{Name: "rebalance", Summary: "adding a 6th node under Zipf load: keys moved over ideal, origin peak over steady, naive vs tiercache", Run: runRebalance}
}

type rebalanceParams struct {
	keys          int
	skew          float64
	rate          int // reads per second, all clients together
	coldEvery     int // one read in coldEvery is of a never-seen key
	clients       int
	workers       int
	steady, after time.Duration
	bucket        time.Duration
	migrateRate   float64 // keys/s per node; 0: l2's default
}

func runRebalance(ctx context.Context, o Options) (*Result, error) {
	fs := flag.NewFlagSet("rebalance", flag.ContinueOnError)
	p := rebalanceParams{}
	fs.IntVar(&p.keys, "keys", 50_000, "cached key population")
	fs.Float64Var(&p.skew, "s", 1.1, "Zipf exponent")
	fs.IntVar(&p.rate, "rate", 8000, "reads per second (paced)")
	fs.IntVar(&p.coldEvery, "cold-every", 20, "one read in N is of a new key (the origin's steady load)")
	fs.IntVar(&p.clients, "clients", 2, "tier clients (app servers)")
	fs.IntVar(&p.workers, "workers", 8, "reading goroutines per client")
	fs.DurationVar(&p.steady, "steady", 3*time.Second, "measured steady time before the change")
	fs.DurationVar(&p.after, "after", 4*time.Second, "measured time after the change")
	fs.DurationVar(&p.bucket, "bucket", time.Second, "origin load bucket for the peak (a multiple of 100ms)")
	fs.Float64Var(&p.migrateRate, "migrate-keys-per-sec", 0, "push rate limit per node (0: l2.DefaultMigrateKeysPerSec); a low one shows pull-through holding the origin")
	if err := fs.Parse(o.Args); err != nil {
		return nil, err
	}
	if p.bucket < fineBucket || p.keys < 2 || p.rate <= 0 || p.coldEvery <= 0 || p.clients <= 0 || p.workers <= 0 {
		return nil, fmt.Errorf("rebalance: bad flags (bucket >= 100ms, keys >= 2, positive rate, cold-every, clients, workers)")
	}
	runs := o.RunsOr(2)
	if o.Quick {
		p.keys, p.rate, p.steady, p.after, p.bucket, runs = 5000, 3000, time.Second, 1500*time.Millisecond, 500*time.Millisecond, 1
	}
	setups := []string{"naive", "tiercache"}
	peaks, fine := map[string][]float64{}, map[string][]float64{}
	var moved, pulls []float64
	var migrate []float64
	curves := map[string][]float64{} // origin loads per fineBucket, first run
	var curveSplit int               // samples before the ring change
	for run := range runs {
		for i := range setups {
			name := setups[(i+run)%len(setups)]
			r, err := rebalanceOnce(ctx, p, name == "tiercache", uint64(run))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			o.Progressf("rebalance run %d %-9s steady %.0f loads/%v, peak after %.0f (%.2fx), keys moved %.3f of ideal, migration %v\n",
				run+1, name, r.steady, p.bucket, r.peak, r.peak/r.steady, r.movedShare*6, r.migration.Round(time.Millisecond))
			if run == 0 { // the report plots the first run of each setup
				curves[name] = append(append([]float64(nil), r.before...), r.after...)
				curveSplit = len(r.before)
			}
			peaks[name] = append(peaks[name], Ratio(r.peak, r.steady))
			fine[name] = append(fine[name], Ratio(r.peakFine, r.steadyFine))
			if name == "tiercache" {
				moved = append(moved, r.movedShare*6)
				pulls = append(pulls, float64(r.pullHits))
				migrate = append(migrate, Millis(r.migration))
			}
		}
	}
	res := NewResult("rebalance", runs)
	res.Figures["keys_moved_over_ideal"] = Mean(moved)
	res.Figures["origin_peak_over_steady_naive"] = Mean(peaks["naive"])
	res.Figures["origin_peak_over_steady_tiercache"] = Mean(peaks["tiercache"])
	res.Figures["migration_ms_tiercache"] = Mean(migrate)
	res.Figures["pull_through_hits_tiercache"] = Mean(pulls)
	for _, s := range setups {
		res.Figures["origin_peak_100ms_over_steady_"+s] = Mean(fine[s])
		res.Series["origin_peak_over_steady_"+s] = peaks[s]
	}
	if n := min(len(curves["naive"]), len(curves["tiercache"])); n > 0 {
		t := make([]float64, n)
		for i := range t { // each bucket at its end, 0 = the ring change
			t[i] = float64(i-curveSplit+1) * fineBucket.Seconds()
		}
		res.Series["origin_t_s"] = t
		res.Series["origin_per_100ms_naive"] = curves["naive"][:n]
		res.Series["origin_per_100ms_tiercache"] = curves["tiercache"][:n]
	}
	res.Notes["workload"] = fmt.Sprintf("Zipf(s=%.2f) over %d cached keys + 1 in %d reads of a new key, %d reads/s paced, %d clients x %d goroutines, L1 off; 5 L2 nodes + 1 joining; %v steady, %v after, peak per %v bucket (and per 100ms); push limit %v keys/s per node (0: default)",
		p.skew, p.keys, p.coldEvery, p.rate, p.clients, p.workers, p.steady, p.after, p.bucket, p.migrateRate)
	res.Notes["ideal"] = "a 6th node of equal weight should take 1/6 of the keys; keys_moved_over_ideal is the pushed share over 1/6"
	return res, nil
}

type rebalanceRun struct {
	steady, peak float64 // origin loads per bucket
	// steadyFine and peakFine are the same per fineBucket.
	steadyFine, peakFine float64
	movedShare           float64 // keys pushed over keys cached
	migration            time.Duration
	pullHits             uint64
	before, after        []float64 // origin loads per fineBucket
}

// rebalanceOnce runs one setup on a fresh region of 5 nodes plus a joiner.
func rebalanceOnce(ctx context.Context, p rebalanceParams, migrate bool, seed uint64) (*rebalanceRun, error) {
	region, err := startL2Region(6, l2.TierOptions{})
	if err != nil {
		return nil, err
	}
	defer region.Close()
	all := make([]l2.Peer, 6)
	for i, m := range region.Members() {
		all[i] = l2.Peer{ID: m.ID, Addr: m.Addr}
	}
	five := all[:5]
	for _, n := range region.nodes[:5] {
		if err := n.SetPeers(five); err != nil {
			return nil, err
		}
	}
	if err := region.nodes[5].SetPeers(all[5:]); err != nil { // the joiner knows nobody yet
		return nil, err
	}
	var migs []*l2.Migrator
	if migrate {
		for _, n := range region.nodes {
			m, err := l2.NewMigrator(n, l2.MigrateConfig{KeysPerSec: p.migrateRate})
			if err != nil {
				return nil, err
			}
			defer m.Close()
			migs = append(migs, m)
		}
	}
	table := &keyspace.Table{Default: keyspace.Settings{TTL: 10 * time.Minute, L1: keyspace.L1Off}}
	cs := make([]*tiercache.Client, p.clients)
	for i := range cs {
		c, err := tiercache.New(tiercache.Config{Nodes: region.Members()[:5], Keyspaces: table})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		cs[i] = c
	}
	var loads atomic.Int64
	origin := tiercache.LoaderFunc(func(_ context.Context, key string) ([]byte, error) {
		loads.Add(1)
		return []byte("value of " + key), nil
	})
	if err := preload(ctx, cs[0], origin, p.keys); err != nil {
		return nil, fmt.Errorf("preload: %w", err)
	}

	wctx, stop := context.WithCancel(ctx)
	defer stop()
	errs := make(chan error, p.clients*p.workers)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) * float64(p.clients*p.workers) / float64(p.rate))
	for ci, c := range cs {
		for w := range p.workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := zipfReader(wctx, c, origin, p, interval, seed, ci*p.workers+w); err != nil {
					errs <- err
				}
			}()
		}
	}
	// Let the pacing settle, then sample the origin per bucket.
	time.Sleep(p.bucket)
	before := sampleLoads(&loads, fineBucket, p.steady)

	var cached int64 // keys cached when the ring changes
	for _, n := range region.nodes {
		cached += n.Stats().Store.Keys
	}
	t0 := time.Now()
	if migrate {
		for i := 5; i >= 0; i-- { // the joiner first, as its agent would
			if err := migs[i].Transition(2, five, all); err != nil {
				return nil, err
			}
		}
	} else {
		for i := 5; i >= 0; i-- {
			if err := region.nodes[i].ApplyTopology(2, all); err != nil {
				return nil, err
			}
		}
	}
	for _, c := range cs {
		if err := c.SetTopology(tiercache.Topology{Epoch: 2, Nodes: region.Members()}); err != nil {
			return nil, err
		}
	}
	var migration time.Duration
	var migDone sync.WaitGroup
	if migrate {
		migDone.Add(1)
		go func() {
			defer migDone.Done()
			for _, m := range migs {
				m.Wait(wctx)
			}
			migration = time.Since(t0)
		}()
	}
	after := sampleLoads(&loads, fineBucket, p.after)
	stop()
	wg.Wait()
	migDone.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	r := &rebalanceRun{migration: migration, before: before, after: after}
	r.steady, r.peak = steadyAndPeak(before, after, int(p.bucket/fineBucket))
	r.steadyFine, r.peakFine = steadyAndPeak(before, after, 1)
	var pushed int64
	for _, m := range migs {
		pr := m.Progress()
		pushed += pr.Keys
		r.pullHits += pr.PullHits
	}
	if migrate && cached > 0 {
		r.movedShare = float64(pushed) / float64(cached)
	}
	return r, nil
}

// preload caches every key of the population once.
func preload(ctx context.Context, c *tiercache.Client, origin tiercache.Loader, keys int) error {
	var wg sync.WaitGroup
	var failed atomic.Value
	const par = 16
	for w := range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < keys; i += par {
				if _, err := c.Get(ctx, hotKey(i), origin); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		return err
	}
	return nil
}

func hotKey(i int) string { return "rb:" + strconv.Itoa(i) }

// zipfReader reads at one read per interval until ctx ends: Zipf keys of
// the population, and every coldEvery-th read a key never read before.
func zipfReader(ctx context.Context, c *tiercache.Client, origin tiercache.Loader, p rebalanceParams, interval time.Duration, seed uint64, id int) error {
	rng := rand.New(rand.NewPCG(seed, uint64(id)))
	zipf := rand.NewZipf(rng, p.skew, 1, uint64(p.keys-1))
	buf := make([]byte, 0, 64)
	next := time.Now()
	for i := 0; ctx.Err() == nil; i++ {
		key := hotKey(int(zipf.Uint64()))
		if i%p.coldEvery == 0 {
			key = "rb-new:" + strconv.Itoa(id) + ":" + strconv.Itoa(i)
		}
		var err error
		if buf, err = c.GetAppend(ctx, buf[:0], key, origin); err != nil && ctx.Err() == nil {
			return err
		}
		next = next.Add(interval)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		} else if d < -50*time.Millisecond {
			next = time.Now() // fell behind: do not burst to catch up
		}
	}
	return nil
}

// fineBucket is the sampling period; coarser buckets sum fine ones.
const fineBucket = 100 * time.Millisecond

// steadyAndPeak sums every k fine samples into one bucket and returns the
// mean bucket before and the largest after.
func steadyAndPeak(before, after []float64, k int) (steady, peak float64) {
	sum := func(xs []float64) []float64 {
		var out []float64
		for i := 0; i+k <= len(xs); i += k {
			var s float64
			for _, x := range xs[i : i+k] {
				s += x
			}
			out = append(out, s)
		}
		return out
	}
	for _, v := range sum(after) {
		peak = max(peak, v)
	}
	return Mean(sum(before)), peak
}

// sampleLoads returns the origin loads in each bucket of d.
func sampleLoads(loads *atomic.Int64, bucket, d time.Duration) []float64 {
	var out []float64
	prev := loads.Load()
	next := time.Now()
	for range int(d / bucket) {
		next = next.Add(bucket)
		time.Sleep(time.Until(next))
		cur := loads.Load()
		out = append(out, float64(cur-prev))
		prev = cur
	}
	return out
}
