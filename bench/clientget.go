package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2"
)

// The client GET comparison: one goroutine reading a 64-byte value that is
// an L2 hit, through tiercache.Client.Get against an L2 node, and through
// go-redis GET against a real redis-server, alternating in blocks so drift
// of the shared machine falls on both. The figures are the latency
// percentiles of each and their ratios (tiercache over redis).

func clientgetScenario() Scenario {
	return Scenario{Name: "clientget", Summary: "client Get over an L2 hit vs go-redis GET on redis-server: p50/p99", Run: runClientGet}
}

func runClientGet(ctx context.Context, o Options) (*Result, error) {
	fs := flag.NewFlagSet("clientget", flag.ContinueOnError)
	ops := fs.Int("ops", 20_000, "reads per side per run")
	if err := fs.Parse(o.Args); err != nil {
		return nil, err
	}
	runs := o.RunsOr(3)
	if o.Quick {
		*ops, runs = 2000, 1
	}
	region, err := startL2Region(1, l2.TierOptions{})
	if err != nil {
		return nil, err
	}
	defer region.Close()
	tc, err := tiercache.New(tiercache.Config{
		Nodes:     region.Members(),
		Keyspaces: &keyspace.Table{Default: keyspace.Settings{TTL: time.Hour, L1: keyspace.L1Off, EarlyRefresh: -1}},
	})
	if err != nil {
		return nil, err
	}
	defer tc.Close()
	value := make([]byte, 64)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	if _, err := tc.Set(ctx, "bench:key", value); err != nil {
		return nil, err
	}
	tcRead := func() error {
		_, err := tc.Get(ctx, "bench:key", nil)
		return err
	}

	res := NewResult("clientget", runs)
	var rdRead func() error
	bin, lookErr := exec.LookPath("redis-server")
	switch {
	case lookErr == nil:
		addr, stop, err := startRedis(ctx, bin)
		if err != nil {
			return nil, err
		}
		defer stop()
		rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
		defer rdb.Close()
		if err := rdb.Set(ctx, "bench:key", value, 0).Err(); err != nil {
			return nil, err
		}
		rdRead = func() error { return rdb.Get(ctx, "bench:key").Err() }
		res.Notes["peer"] = versionOf(bin) + ", go-redis v9"
	case os.Getenv("TIERCACHE_REQUIRE_REDIS") == "1":
		return nil, fmt.Errorf("%w: redis-server not on PATH and TIERCACHE_REQUIRE_REDIS=1", ErrPeerMissing)
	default:
		o.Progressf("clientget: redis-server not found; measuring tiercache alone (set TIERCACHE_REQUIRE_REDIS=1 to fail instead)\n")
		res.Notes["skipped"] = "redis-server not found: no peer figures"
	}

	var tcLat, rdLat []time.Duration
	const block = 1000
	for run := range runs {
		for done := 0; done < *ops; done += block {
			first, second := tcRead, rdRead
			firstLat, secondLat := &tcLat, &rdLat
			if (run+done/block)%2 == 1 {
				first, second, firstLat, secondLat = rdRead, tcRead, &rdLat, &tcLat
			}
			for _, side := range []struct {
				read func() error
				lat  *[]time.Duration
			}{{first, firstLat}, {second, secondLat}} {
				if side.read == nil {
					continue
				}
				for range block {
					t0 := time.Now()
					if err := side.read(); err != nil {
						return nil, err
					}
					*side.lat = append(*side.lat, time.Since(t0))
				}
			}
		}
		o.Progressf("clientget run %d done\n", run+1)
	}
	tc50, tc99 := Percentile(tcLat, 50), Percentile(tcLat, 99)
	res.Figures["get_p50_us_tiercache"] = float64(tc50) / 1e3
	res.Figures["get_p99_us_tiercache"] = float64(tc99) / 1e3
	if rdRead != nil {
		rd50, rd99 := Percentile(rdLat, 50), Percentile(rdLat, 99)
		res.Figures["get_p50_us_redis"] = float64(rd50) / 1e3
		res.Figures["get_p99_us_redis"] = float64(rd99) / 1e3
		res.Figures["get_p50_ratio"] = Ratio(float64(tc50), float64(rd50))
		res.Figures["get_p99_ratio"] = Ratio(float64(tc99), float64(rd99))
		res.addLatencyCurve("get_latency_us_redis", rdLat, time.Microsecond)
	}
	res.addLatencyCurve("get_latency_us_tiercache", tcLat, time.Microsecond)
	res.Notes["workload"] = fmt.Sprintf("one goroutine, 64-byte value, L2 hit (L1 off), %d reads per side per run in alternating blocks of %d", *ops, block)
	if tc, ok := res.Figures["get_p50_us_tiercache"]; !ok || tc == 0 {
		return nil, errors.New("clientget: no measurement")
	}
	return res, nil
}
