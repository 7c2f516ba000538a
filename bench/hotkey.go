package bench

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2"
)

// The hot-key scenario (failure 2): reads drawn from Zipf(s=1.1) over a
// million keys against 3 nodes. The node that owns the hottest keys takes
// far more than its share; with hot-key L1 on, the nodes flag those keys
// and the clients serve them from L1, so the requests reaching each node
// even out. The figure is the busiest node's requests over the mean, with
// L1 off and on, measured alternately in the same run.

func hotkeyScenario() Scenario {
	return Scenario{Name: "hotkey", Summary: "max/mean node load under Zipf(1.1) over 1M keys, hot-key L1 off and on", Run: runHotkey}
}

func runHotkey(ctx context.Context, o Options) (*Result, error) {
	fs := flag.NewFlagSet("hotkey", flag.ContinueOnError)
	keys := fs.Int("keys", 1_000_000, "key population")
	skew := fs.Float64("s", 1.1, "Zipf exponent")
	clients := fs.Int("clients", 4, "tier clients (app servers)")
	workers := fs.Int("workers", 8, "reading goroutines per client")
	dur := fs.Duration("duration", 4*time.Second, "measured time per setup and run")
	if err := fs.Parse(o.Args); err != nil {
		return nil, err
	}
	runs := o.RunsOr(3)
	if o.Quick {
		*dur, runs = time.Second, 1
	}
	region, err := startL2Region(3, l2.TierOptions{})
	if err != nil {
		return nil, err
	}
	defer region.Close()

	setups := []struct {
		name string
		l1   keyspace.L1Policy
	}{{"l1_off", keyspace.L1Off}, {"l1_on", keyspace.L1Hot}}
	ratios := map[string][]float64{}
	for run := range runs {
		for i := range setups {
			s := setups[(i+run)%len(setups)]
			ratio, perNode, err := hotkeyOnce(ctx, region, s.l1, *keys, *skew, *clients, *workers, *dur, uint64(run))
			if err != nil {
				return nil, err
			}
			o.Progressf("hotkey run %d %-7s max/mean %.3f, requests per node %v\n", run+1, s.name, ratio, perNode)
			ratios[s.name] = append(ratios[s.name], ratio)
		}
	}
	res := NewResult("hotkey", runs)
	for _, s := range setups {
		res.Figures["max_mean_load_"+s.name] = Mean(ratios[s.name])
		res.Series["max_mean_load_"+s.name] = ratios[s.name]
	}
	res.Notes["workload"] = fmt.Sprintf("Zipf(s=%.2f) over %d keys, %d clients x %d goroutines, %v per setup, 3 L2 nodes; load = tier commands reaching each node", *skew, *keys, *clients, *workers, *dur)
	return res, nil
}

// hotkeyOnce runs the workload with one L1 policy: a warm-up as long as the
// measurement, so the cold tail's fills and the hot-key detection settle,
// then the measured period. It returns max/mean of the tier commands each
// node served while measured.
func hotkeyOnce(ctx context.Context, region *l2Region, policy keyspace.L1Policy, keys int, s float64, k, workers int, dur time.Duration, seed uint64) (float64, []uint64, error) {
	table := &keyspace.Table{Default: keyspace.Settings{TTL: 10 * time.Minute, L1: policy}}
	cs := make([]*tiercache.Client, k)
	for i := range cs {
		c, err := tiercache.New(tiercache.Config{Nodes: region.Members(), Keyspaces: table})
		if err != nil {
			return 0, nil, err
		}
		defer c.Close()
		cs[i] = c
	}
	origin := tiercache.LoaderFunc(func(_ context.Context, key string) ([]byte, error) {
		return []byte("value of " + key), nil
	})
	prefix := "z" + string(policy) + ":"
	run := func(d time.Duration, stream uint64) error {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		var wg sync.WaitGroup
		errs := make(chan error, k*workers)
		for ci, c := range cs {
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(seed, stream<<32|uint64(ci*workers+w)))
					zipf := rand.NewZipf(rng, s, 1, uint64(keys-1))
					buf := make([]byte, 0, 64)
					key := make([]byte, 0, 32)
					for ctx.Err() == nil {
						key = strconv.AppendUint(append(key[:0], prefix...), zipf.Uint64(), 10)
						var err error
						buf, err = c.GetAppend(ctx, buf[:0], string(key), origin)
						if err != nil && ctx.Err() == nil {
							errs <- err
							return
						}
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		return <-errs
	}
	if err := run(dur, 1); err != nil {
		return 0, nil, fmt.Errorf("warm-up: %w", err)
	}
	before := region.tierCommands()
	if err := run(dur, 2); err != nil {
		return 0, nil, err
	}
	after := region.tierCommands()
	per := make([]uint64, len(after))
	var total, most uint64
	for i := range after {
		per[i] = after[i] - before[i]
		total += per[i]
		most = max(most, per[i])
	}
	if total == 0 {
		return 0, per, fmt.Errorf("no requests reached the nodes")
	}
	return float64(most) / (float64(total) / float64(len(per))), per, nil
}
