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

// The lag scenario (DESIGN.md, "A write" 2): every region of the local-3
// profile writes at a steady rate through its L2 owners while the change
// stream carries each write to the other regions over the simulated WAN.
// Each link reports its replication lag (enqueue at the writer to apply at
// the peer, from the peer's acknowledgement); the headline is the link
// furthest over its target, the profile's one-way delay plus 20 ms.

func lagScenario() Scenario {
	return Scenario{Name: "lag", Summary: "replication lag per link under steady writes vs the one-way delay", Run: runLag}
}

func runLag(ctx context.Context, o Options) (*Result, error) {
	fs := flag.NewFlagSet("lag", flag.ContinueOnError)
	rate := fs.Int("rate", 200, "writes per second per region")
	dur := fs.Duration("duration", 5*time.Second, "how long each region writes")
	keys := fs.Int("keys", 1000, "distinct keys per region")
	if err := fs.Parse(o.Args); err != nil {
		return nil, err
	}
	if o.Quick {
		*rate, *dur = 100, 1500*time.Millisecond
	}
	ks := &keyspace.Table{Default: keyspace.Settings{TTL: time.Minute, L1: keyspace.L1Off}}
	d, err := startFederated(ctx, federated.Options{Keyspaces: ks})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	// The lag curve: each link's p99 (over its recent changes) sampled
	// while the regions write, for the report's plot.
	curve := map[string][]float64{}
	var times []float64
	sctx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	defer func() { stopSampling(); <-sampled }() // on every return
	go func() {
		defer close(sampled)
		t0 := time.Now()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-tick.C:
			}
			times = append(times, time.Since(t0).Seconds())
			for _, r := range d.Regions() {
				for _, l := range r.Endpoint.Links() {
					name := r.Name + "_to_" + l.Region()
					curve[name] = append(curve[name], Millis(l.Stats().ReplicationLagP99))
				}
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, len(d.Regions()))
	for _, r := range d.Regions() {
		c, err := regionClient(r, ks)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- steadyWrites(ctx, c, r.Name, *rate, *dur, *keys)
		}()
	}
	wg.Wait()
	stopSampling()
	<-sampled
	close(errs)
	for err := range errs {
		if err != nil {
			return nil, err
		}
	}
	// The delivery wait has its own deadline, after the writes: a long
	// -duration must not eat into it.
	dctx, cancelDelivery := context.WithTimeout(ctx, connectTimeout)
	defer cancelDelivery()
	for _, r := range d.Regions() {
		for _, l := range r.Endpoint.Links() {
			if err := l.WaitDelivered(dctx, l.Stats().Enqueued); err != nil {
				return nil, fmt.Errorf("%s→%s: %w", r.Name, l.Region(), err)
			}
		}
	}
	res := NewResult("lag", 1)
	res.Series["timeline_s"] = times
	for name, ys := range curve {
		res.Series["lag_p99_ms_over_time_"+name] = ys
	}
	worst := -time.Hour
	for _, r := range d.Regions() {
		for _, l := range r.Endpoint.Links() {
			st := l.Stats()
			link, _ := d.WAN.Profile().Link(r.Name, l.Region())
			name := r.Name + "_to_" + l.Region()
			res.Figures["lag_p99_ms_"+name] = Millis(st.ReplicationLagP99)
			res.Figures["one_way_ms_"+name] = Millis(link.OneWay())
			res.Notes["lag_"+name] = fmt.Sprintf("p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d changes; one-way %.1f ms",
				Millis(st.ReplicationLagP50), Millis(st.ReplicationLagP99), Millis(st.ReplicationLagMax), st.ReplicationLagSamples, Millis(link.OneWay()))
			o.Progressf("lag %-20s p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms  one-way %6.1f ms\n", name,
				Millis(st.ReplicationLagP50), Millis(st.ReplicationLagP99), Millis(st.ReplicationLagMax), Millis(link.OneWay()))
			if over := st.ReplicationLagP99 - link.OneWay(); over > worst {
				worst = over
				res.Figures["lag_p50_ms"] = Millis(st.ReplicationLagP50)
				res.Figures["lag_p99_ms"] = Millis(st.ReplicationLagP99)
				res.Figures["lag_max_ms"] = Millis(st.ReplicationLagMax)
				res.Figures["one_way_delay_ms"] = Millis(link.OneWay())
				res.Notes["worst_link"] = name
			}
		}
	}
	res.Figures["lag_p99_over_one_way_ms"] = Millis(worst)
	res.Notes["workload"] = fmt.Sprintf("%d writes/s per region for %v over %d keys, profile local-3, 3 L2 + 1 L3 per region; target p99 <= one-way + 20 ms on every link", *rate, *dur, *keys)
	return res, nil
}

// steadyWrites writes at rate per second for dur, one write per tick.
func steadyWrites(ctx context.Context, c *tiercache.Client, region string, rate int, dur time.Duration, keys int) error {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.After(dur)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-end:
			return nil
		case <-tick.C:
		}
		if _, err := c.Set(ctx, fmt.Sprintf("k:%s:%d", region, i%keys), []byte("value")); err != nil {
			return fmt.Errorf("write in %s: %w", region, err)
		}
	}
}
