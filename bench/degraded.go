package bench

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2"
)

// The degraded scenario (failure 3, cascading failure: where a dead node's
// keys go). A 3-node region plus one gutter node outside the ring, on
// loopback, under a paced Zipf read load from several tier clients and a
// trickle of writes that commit to a versioned in-memory origin and then
// Invalidate. One ring node is killed (its port closes) and stays down for
// the outage window. Both degraded modes of the client run in the same
// run, alternating, each on a fresh region: DegradedLoader (capped origin
// loads, uncached) and DegradedGutter (the gutter node first). Figures,
// per mode, over the outage window:
//
//   - origin_loads_per_s_<mode>: the database load during the outage
//     (origin_loads_per_s_before_<mode>: the same load before the kill).
//   - error_share_<mode>: failed reads over reads.
//   - read_p99_ms_<mode>: read latency, failed reads included.
//   - survivor_load_change_<mode>: the two survivors' tier commands per
//     read during the outage over before it (1 = nobody took over the
//     dead node's keys).
//   - stale_reads_<mode>: reads that returned a version older than one
//     whose commit and invalidation had both finished before the read
//     began (stale_reads_dead_keys_<mode>: of those, keys of the dead
//     node).
//   - gutter_hit_share: gutter hits over reads of the dead node's keys.

func degradedScenario() Scenario {
	return Scenario{Name: "degraded", Summary: "one ring node down: capped loader vs gutter node (origin load, errors, p99, stale reads)", Run: runDegraded}
}

// degradedCfg is one run's shape.
type degradedCfg struct {
	keys, clients, readers, readRate, writeRate, degradedLoads int
	skew                                                       float64
	loadDelay, deadline, warm, window, gutterTTL               time.Duration
}

var degradedModes = []tiercache.DegradedMode{tiercache.DegradedLoader, tiercache.DegradedGutter}

func runDegraded(ctx context.Context, o Options) (*Result, error) {
	fs := flag.NewFlagSet("degraded", flag.ContinueOnError)
	cfg := degradedCfg{}
	fs.IntVar(&cfg.keys, "keys", 20_000, "key population")
	fs.Float64Var(&cfg.skew, "s", 1.1, "Zipf exponent of reads and writes")
	fs.IntVar(&cfg.clients, "clients", 4, "tier clients (app servers)")
	fs.IntVar(&cfg.readers, "readers", 64, "reading goroutines, over the clients (more per client than DegradedLoads, or the cap could never bite)")
	fs.IntVar(&cfg.readRate, "read-rate", 4000, "reads per second, all readers")
	fs.IntVar(&cfg.writeRate, "write-rate", 100, "writes (commit + Invalidate) per second")
	fs.IntVar(&cfg.degradedLoads, "degraded-loads", 0, "Config.DegradedLoads per client (0: default)")
	fs.DurationVar(&cfg.loadDelay, "load", 5*time.Millisecond, "origin load time")
	fs.DurationVar(&cfg.deadline, "deadline", 200*time.Millisecond, "per-read deadline")
	fs.DurationVar(&cfg.warm, "warm", 3*time.Second, "load before the kill (its second half is the baseline)")
	fs.DurationVar(&cfg.window, "window", 12*time.Second, "outage window measured")
	fs.DurationVar(&cfg.gutterTTL, "gutter-ttl", tiercache.DefaultGutterTTL, "gutter entry TTL")
	if err := fs.Parse(o.Args); err != nil {
		return nil, err
	}
	runs := o.RunsOr(2)
	if o.Quick {
		cfg.keys, cfg.readRate, cfg.warm, cfg.window, runs = 2000, 1000, time.Second, 1500*time.Millisecond, 1
		// A smoke run may share the machine with -race builds: a
		// looser deadline keeps scheduling stalls from reading as
		// failures.
		cfg.deadline = time.Second
	}
	timelines, curves := map[tiercache.DegradedMode][]float64{}, map[tiercache.DegradedMode][]float64{}
	agg := map[tiercache.DegradedMode]*degradedRun{}
	for _, m := range degradedModes {
		agg[m] = &degradedRun{}
	}
	for run := range runs {
		for i := range degradedModes {
			m := degradedModes[(i+run)%len(degradedModes)] // rotate: drift falls on both
			r, err := degradedOnce(ctx, cfg, m, run)
			if err != nil {
				return nil, fmt.Errorf("%v run %d: %w", m, run+1, err)
			}
			o.Progressf("degraded run %d %-6v %7.0f origin loads/s (%.0f before), %d/%d reads failed, p99 %v, %d stale, survivors x%.2f\n",
				run+1, m, r.loadsPerS(), r.beforeLoadsPerS(), r.errors, r.reads, Percentile(r.lat, 99).Round(time.Microsecond),
				r.stale, r.survivorChange())
			agg[m].add(r)
			if run == 0 { // the report plots the first run of each mode
				timelines[m], curves[m] = r.timeline, r.perS
			}
		}
	}
	res := NewResult("degraded", runs)
	for _, m := range degradedModes {
		r, s := agg[m], m.String()
		res.Figures["origin_loads_per_s_"+s] = r.loadsPerS()
		res.Figures["origin_loads_per_s_before_"+s] = r.beforeLoadsPerS()
		res.Figures["error_share_"+s] = Ratio(float64(r.errors), float64(r.reads))
		res.Figures["read_p99_ms_"+s] = Millis(Percentile(r.lat, 99))
		res.Figures["read_p50_ms_"+s] = Millis(Percentile(r.lat, 50))
		res.Figures["survivor_load_change_"+s] = r.survivorChange()
		res.Figures["stale_reads_"+s] = float64(r.stale)
		res.Figures["stale_reads_dead_keys_"+s] = float64(r.staleDead)
		if r.lastErr != "" {
			res.Notes["last_error_"+s] = r.lastErr
		}
	}
	if n := min(len(curves[tiercache.DegradedGutter]), len(curves[tiercache.DegradedLoader])); n > 0 {
		res.Series["timeline_s"] = timelines[tiercache.DegradedGutter][:n]
		for _, m := range degradedModes {
			res.Series["origin_per_s_"+m.String()] = curves[m][:n]
		}
	}
	g := agg[tiercache.DegradedGutter]
	res.Figures["gutter_hit_share"] = Ratio(float64(g.gutter.Hits), float64(g.deadReads))
	res.Figures["origin_loads_ratio_gutter_over_loader"] = Ratio(g.loadsPerS(), agg[tiercache.DegradedLoader].loadsPerS())
	res.Notes["setup"] = fmt.Sprintf("3 L2 nodes + 1 gutter node on loopback, L1 off; %d keys, Zipf s=%.2f; %d clients, %d reads/s, %d writes/s; origin load %v; read deadline %v; outage window %v; gutter TTL %v",
		cfg.keys, cfg.skew, cfg.clients, cfg.readRate, cfg.writeRate, cfg.loadDelay, cfg.deadline, cfg.window, cfg.gutterTTL)
	res.Notes["gutter"] = fmt.Sprintf("%+v", g.gutter)
	return res, nil
}

// degradedRun is what one mode measured in one run (or, summed, in all).
type degradedRun struct {
	reads, errors, stale, staleDead, deadReads int64
	lat                                        []time.Duration
	loads, beforeLoads                         int64
	window, before                             time.Duration
	survDuring, survBefore                     float64 // survivors' tier commands per read
	gutter                                     tiercache.GutterStats
	runs                                       int
	lastErr                                    string // a sample of what failed reads said
	// timeline (seconds from the kill, each bucket at its end) and the
	// origin's loads per second in each bucket: one run's, for the plot.
	timeline, perS []float64
}

func (r *degradedRun) loadsPerS() float64 { return Ratio(float64(r.loads), r.window.Seconds()) }
func (r *degradedRun) beforeLoadsPerS() float64 {
	return Ratio(float64(r.beforeLoads), r.before.Seconds())
}
func (r *degradedRun) survivorChange() float64 { return Ratio(r.survDuring, r.survBefore) }

// add sums o into r; per-read shares are averaged over runs.
func (r *degradedRun) add(o *degradedRun) {
	n := float64(r.runs)
	r.runs++
	r.survDuring = (r.survDuring*n + o.survDuring) / (n + 1)
	r.survBefore = (r.survBefore*n + o.survBefore) / (n + 1)
	r.reads, r.errors, r.stale, r.staleDead = r.reads+o.reads, r.errors+o.errors, r.stale+o.stale, r.staleDead+o.staleDead
	r.deadReads += o.deadReads
	r.lat = append(r.lat, o.lat...)
	if o.lastErr != "" {
		r.lastErr = o.lastErr
	}
	r.loads, r.beforeLoads = r.loads+o.loads, r.beforeLoads+o.beforeLoads
	r.window, r.before = r.window+o.window, r.before+o.before
	addGutterStats(&r.gutter, o.gutter)
}

// addGutterStats sums g into dst.
func addGutterStats(dst *tiercache.GutterStats, g tiercache.GutterStats) {
	dst.Hits += g.Hits
	dst.Fills += g.Fills
	dst.Fallbacks += g.Fallbacks
	dst.Deletes += g.Deletes
	dst.DelFailures += g.DelFailures
}

// versionedOrigin is the database: each key's committed version, and the
// version whose invalidation has finished (a read that starts later must
// not return less). A value is its version in decimal.
type versionedOrigin struct {
	committed, acked []atomic.Uint64
	loads            atomic.Int64
	delay            time.Duration
}

func (o *versionedOrigin) Load(ctx context.Context, key string) ([]byte, error) {
	o.loads.Add(1)
	i, err := strconv.Atoi(key[strings.IndexByte(key, ':')+1:])
	if err != nil || i < 0 || i >= len(o.committed) {
		return nil, fmt.Errorf("no such key %q", key)
	}
	// The row is read first, then the query's time passes: a commit in
	// between is the race leases guard against.
	v := o.committed[i].Load()
	select {
	case <-time.After(o.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return strconv.AppendUint(nil, v, 10), nil
}

// Phases of a run: reads are counted in the baseline and the outage.
const (
	phaseWarm = iota
	phaseBefore
	phaseOutage
	phaseDone
)

func degradedOnce(ctx context.Context, cfg degradedCfg, mode tiercache.DegradedMode, run int) (*degradedRun, error) {
	region, err := startL2Region(3, l2.TierOptions{})
	if err != nil {
		return nil, err
	}
	defer region.Close()
	gutter, err := l2.NewNode(l2.Config{ID: "g1", MaxMemory: 64 << 20})
	if err == nil {
		err = gutter.Start()
	}
	if err != nil {
		return nil, err
	}
	defer gutter.Close()

	origin := &versionedOrigin{committed: make([]atomic.Uint64, cfg.keys), acked: make([]atomic.Uint64, cfg.keys), delay: cfg.loadDelay}
	clients := make([]*tiercache.Client, cfg.clients)
	for i := range clients {
		c, err := tiercache.New(tiercache.Config{
			Nodes: region.Members(),
			// A long TTL: with every key preloaded, misses come from
			// invalidations only, not expiry.
			Keyspaces:     &keyspace.Table{Default: keyspace.Settings{TTL: time.Minute, L1: keyspace.L1Off}},
			L1MaxBytes:    -1,
			OpTimeout:     cfg.deadline,
			DegradedLoads: cfg.degradedLoads,
			Degraded:      mode,
			GutterNodes:   []tiercache.Node{{ID: "g1", Addr: gutter.Addr()}},
			GutterTTL:     cfg.gutterTTL,
		})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		clients[i] = c
	}
	victim := run % len(region.nodes)
	ring := region.nodes[(victim+1)%len(region.nodes)].Ring()
	dead := make([]bool, cfg.keys)
	keys := make([]string, cfg.keys)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i)
		dead[i] = ring.Owner([]byte(keys[i])) == region.members[victim].ID
	}

	if err := preloadZero(ctx, clients[0], keys); err != nil {
		return nil, err
	}

	var phase atomic.Int32
	type tally struct {
		reads, errors, stale, staleDead, deadReads int64
		lat                                        []time.Duration
		lastErr                                    string
	}
	tallies := make([][phaseDone]tally, cfg.readers)
	lctx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	pace := func(rate int, body func(rng *rand.Rand, z *rand.Zipf), seed uint64) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(run)))
			z := rand.NewZipf(rng, cfg.skew, 1, uint64(cfg.keys-1))
			interval := time.Second / time.Duration(max(rate, 1))
			next := time.Now()
			for lctx.Err() == nil {
				body(rng, z)
				next = next.Add(interval)
				if d := time.Until(next); d > 0 {
					sleepOrDone(lctx, d)
				} else if d < -10*interval {
					next = time.Now() // fallen behind: do not burst to catch up
				}
			}
		}()
	}
	for w := range cfg.readers {
		c := clients[w%len(clients)]
		pace(cfg.readRate/cfg.readers, func(_ *rand.Rand, z *rand.Zipf) {
			i := int(z.Uint64())
			p := phase.Load()
			floor := origin.acked[i].Load()
			rctx, cancel := context.WithTimeout(lctx, cfg.deadline)
			start := time.Now()
			v, err := c.Get(rctx, keys[i], origin)
			took := time.Since(start)
			cancel()
			// Only the baseline and the outage are tallied: a read that
			// began after the window closed (phaseDone, before the load
			// stops) has no row.
			if (p != phaseBefore && p != phaseOutage) || lctx.Err() != nil {
				return
			}
			t := &tallies[w][p]
			t.reads++
			t.lat = append(t.lat, took)
			if dead[i] {
				t.deadReads++
			}
			if err != nil {
				t.errors++
				t.lastErr = err.Error()
				return
			}
			if got, perr := strconv.ParseUint(string(v), 10, 64); perr != nil || got < floor {
				t.stale++
				if dead[i] {
					t.staleDead++
				}
			}
		}, uint64(w))
	}
	// Writers commit, then invalidate (the order the client asks for),
	// then record the version no later read may fall below. A failed
	// Invalidate (the owner is down) is what an app would retry; it
	// still counts, since nothing the app can do makes the dead owner
	// hear it.
	for w := range max(cfg.writeRate/50, 1) {
		c := clients[w%len(clients)]
		pace(cfg.writeRate/max(cfg.writeRate/50, 1), func(_ *rand.Rand, z *rand.Zipf) {
			i := int(z.Uint64())
			ver := origin.committed[i].Add(1)
			wctx, cancel := context.WithTimeout(lctx, cfg.deadline)
			c.Invalidate(wctx, keys[i])
			cancel()
			for a := origin.acked[i].Load(); a < ver && !origin.acked[i].CompareAndSwap(a, ver); a = origin.acked[i].Load() {
			}
		}, uint64(1000+w))
	}

	survivors := func() float64 {
		cmds := region.tierCommands()
		s := 0.0
		for i, n := range cmds {
			if i != victim {
				s += float64(n)
			}
		}
		return s
	}
	const sampleEvery = 250 * time.Millisecond
	var stamps []time.Time
	var perS []float64
	stopSampling, sampled := make(chan struct{}), make(chan struct{})
	go func() { // the origin's load over time, until the outage ends
		defer close(sampled)
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		prev := origin.loads.Load()
		for {
			select {
			case <-stopSampling:
				return
			case now := <-tick.C:
				cur := origin.loads.Load()
				stamps, perS = append(stamps, now), append(perS, float64(cur-prev)/sampleEvery.Seconds())
				prev = cur
			}
		}
	}()
	var sampleOnce sync.Once
	endSampling := func() { sampleOnce.Do(func() { close(stopSampling) }); <-sampled }
	defer endSampling()
	sleepOrDone(ctx, cfg.warm/2)
	phase.Store(phaseBefore)
	t0, l0, s0 := time.Now(), origin.loads.Load(), survivors()
	sleepOrDone(ctx, cfg.warm-cfg.warm/2)
	region.nodes[victim].Close()
	phase.Store(phaseOutage)
	t1, l1, s1 := time.Now(), origin.loads.Load(), survivors()
	sleepOrDone(ctx, cfg.window)
	phase.Store(phaseDone)
	t2, l2n, s2 := time.Now(), origin.loads.Load(), survivors()
	endSampling()
	stopLoad()
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	out := &degradedRun{loads: l2n - l1, beforeLoads: l1 - l0, window: t2.Sub(t1), before: t1.Sub(t0), perS: perS}
	for _, s := range stamps {
		out.timeline = append(out.timeline, s.Sub(t1).Seconds())
	}
	var readsBefore int64
	for w := range tallies {
		b, d := tallies[w][phaseBefore], tallies[w][phaseOutage]
		readsBefore += b.reads
		out.reads, out.errors, out.stale, out.staleDead = out.reads+d.reads, out.errors+d.errors, out.stale+d.stale, out.staleDead+d.staleDead
		out.deadReads += d.deadReads
		out.lat = append(out.lat, d.lat...)
		if d.lastErr != "" {
			out.lastErr = d.lastErr
		}
	}
	out.survBefore = Ratio(s1-s0, float64(readsBefore))
	out.survDuring = Ratio(s2-s1, float64(out.reads))
	for _, c := range clients {
		addGutterStats(&out.gutter, c.GutterStats())
	}
	return out, nil
}

// preloadZero caches every key at version 0, so the origin's load before the
// kill is the writes' invalidations alone and the outage's extra load
// stands out (a cold cache would bury it under first reads).
func preloadZero(ctx context.Context, c *tiercache.Client, keys []string) error {
	const workers = 8
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := w; i < len(keys); i += workers {
				if _, err := c.Set(ctx, keys[i], []byte("0")); err != nil {
					errs <- fmt.Errorf("preload %s: %w", keys[i], err)
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// sleepOrDone sleeps d or until ctx ends.
func sleepOrDone(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
