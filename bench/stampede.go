package bench

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2"
)

// The stampede scenario (failure 1): K tier clients, standing in for app
// servers, each with many goroutines, fire a burst of concurrent reads at
// one key the moment its entry expires, against a real 3-node region on
// loopback. The origin counts its loads. Three setups run side by side,
// alternating: no protection (plain cache-aside), per-process singleflight
// only, and tiercache's defaults (leases, singleflight, XFetch...).

func stampedeScenario() Scenario {
	return Scenario{Name: "stampede", Summary: "origin loads per expiry of one hot key: no protection, singleflight, tiercache", Run: runStampede}
}

type stampedeMode struct {
	name string
	def  tiercache.Defences
	ks   keyspace.Settings
}

func stampedeModes(ttl time.Duration) []stampedeMode {
	off := keyspace.Settings{TTL: ttl, EarlyRefresh: -1, L1: keyspace.L1Off}
	return []stampedeMode{
		{"naive", tiercache.Defences{NoLeases: true, NoSingleflight: true, NoPrewarm: true}, off},
		{"singleflight", tiercache.Defences{NoLeases: true, NoPrewarm: true}, off},
		{"tiercache", tiercache.Defences{}, keyspace.Settings{TTL: ttl}},
	}
}

func runStampede(ctx context.Context, o Options) (*Result, error) {
	fs := flag.NewFlagSet("stampede", flag.ContinueOnError)
	clients := fs.Int("clients", 8, "tier clients (app servers)")
	readers := fs.Int("readers", 10_000, "concurrent reads per expiry")
	loadMs := fs.Int("load-ms", 100, "origin load time in ms (the article: 10,000 queries in 100 ms)")
	if err := fs.Parse(o.Args); err != nil {
		return nil, err
	}
	runs := o.RunsOr(3)
	if o.Quick {
		*clients, *readers, runs = 4, 1000, 1
	}
	region, err := startL2Region(3, l2.TierOptions{})
	if err != nil {
		return nil, err
	}
	defer region.Close()

	const ttl = 400 * time.Millisecond
	modes := stampedeModes(ttl)
	loads := map[string][]float64{}
	var tcLatencies []time.Duration
	for run := range runs {
		for i := range modes {
			m := modes[(i+run)%len(modes)] // rotate the order: drift falls on all
			n, lat, err := stampedeOnce(ctx, region, m, *clients, *readers, time.Duration(*loadMs)*time.Millisecond, ttl, fmt.Sprintf("news:%d", run))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m.name, err)
			}
			o.Progressf("stampede run %d %-12s %6d origin loads for %d reads\n", run+1, m.name, n, *readers)
			loads[m.name] = append(loads[m.name], float64(n))
			if m.name == "tiercache" {
				tcLatencies = append(tcLatencies, lat...)
			}
		}
	}
	res := NewResult("stampede", runs)
	for _, m := range modes {
		res.Figures["origin_loads_per_expiry_"+m.name] = Mean(loads[m.name])
		res.Series["origin_loads_"+m.name] = loads[m.name]
	}
	res.Figures["read_p99_ms_tiercache"] = Millis(Percentile(tcLatencies, 99))
	res.Figures["read_p50_ms_tiercache"] = Millis(Percentile(tcLatencies, 50))
	res.addLatencyCurve("read_latency_ms_tiercache", tcLatencies, time.Millisecond)
	res.Notes["workload"] = fmt.Sprintf("%d clients, %d concurrent reads of one key at its expiry, origin load %d ms, 3 L2 nodes on loopback", *clients, *readers, *loadMs)
	return res, nil
}

// stampedeOnce primes key under mode m, waits for it to expire and fires
// the burst; it returns the origin loads the burst caused and each read's
// latency.
func stampedeOnce(ctx context.Context, region *l2Region, m stampedeMode, k, readers int, load, ttl time.Duration, key string) (int64, []time.Duration, error) {
	key = m.name + ":" + key
	cs := make([]*tiercache.Client, k)
	for i := range cs {
		c, err := tiercache.New(tiercache.Config{
			Nodes:     region.Members(),
			Keyspaces: &keyspace.Table{Default: m.ks},
			Defences:  map[string]tiercache.Defences{"": m.def},
			PoolSize:  32,
		})
		if err != nil {
			return 0, nil, err
		}
		defer c.Close()
		cs[i] = c
	}
	var loads atomic.Int64
	origin := slowOrigin(&loads, load)
	if _, err := cs[0].Get(ctx, key, origin); err != nil {
		return 0, nil, err
	}
	time.Sleep(ttl + 50*time.Millisecond) // the entry expires everywhere
	before := loads.Load()
	lat := make([]time.Duration, readers)
	var failed atomic.Int64
	var ready, wg sync.WaitGroup
	start := make(chan struct{})
	for i := range readers {
		c := cs[i%k]
		ready.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ready.Done()
			<-start
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			t0 := time.Now()
			if _, err := c.Get(rctx, key, origin); err != nil {
				failed.Add(1)
			}
			lat[i] = time.Since(t0)
		}()
	}
	ready.Wait()
	close(start)
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return 0, nil, fmt.Errorf("%d of %d reads failed", f, readers)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return loads.Load() - before, lat, nil
}

// slowOrigin is the stampede scenarios' origin: every load counts in
// loads and takes load to answer (or until the reader gives up).
func slowOrigin(loads *atomic.Int64, load time.Duration) tiercache.LoaderFunc {
	return func(ctx context.Context, _ string) ([]byte, error) {
		loads.Add(1)
		select {
		case <-time.After(load):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return []byte("the article"), nil
	}
}

// l2Region is a region of L2 nodes on loopback ports, for the scenarios.
type l2Region struct {
	nodes   []*l2.Node
	members []tiercache.Node
}

// startL2Region starts n nodes that know each other.
func startL2Region(n int, opts l2.TierOptions) (*l2Region, error) {
	r := &l2Region{}
	var peers []l2.Peer
	for i := range n {
		id := fmt.Sprintf("n%d", i+1)
		node, err := l2.NewNode(l2.Config{ID: id, MaxMemory: 512 << 20})
		if err == nil {
			err = node.Start()
		}
		if err != nil {
			r.Close()
			return nil, err
		}
		r.nodes = append(r.nodes, node)
		peers = append(peers, l2.Peer{ID: id, Addr: node.Addr()})
		r.members = append(r.members, tiercache.Node{ID: id, Addr: node.Addr()})
	}
	for _, node := range r.nodes {
		if err := node.SetPeers(peers); err != nil {
			r.Close()
			return nil, err
		}
		if err := node.SetTierOptions(opts); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// Members returns the region's nodes as the tier client names them.
func (r *l2Region) Members() []tiercache.Node { return r.members }

// tierCommands returns how many tier-protocol commands each node has run.
func (r *l2Region) tierCommands() []uint64 {
	out := make([]uint64, len(r.nodes))
	for i, n := range r.nodes {
		pc := n.Stats().PerCommand
		out[i] = pc["tc.get"] + pc["tc.set"] + pc["tc.del"] + pc["tc.unlease"]
	}
	return out
}

// Close stops every node.
func (r *l2Region) Close() {
	for _, n := range r.nodes {
		n.Close()
	}
}
