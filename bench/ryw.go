package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/federated"
	"github.com/tiercache/tiercache/internal/keyspace"
)

// The read-your-writes scenario (DESIGN.md, "A write" 3): over the local-3
// federated assembly (simulated WAN, 70 to 200 ms round trips), a user
// writes a key in one region and reads it at once in another. Each trial
// runs twice, alternating: with the writer's session token (sticky) and
// without it (a plain read, which sees whatever replication has delivered).
// A sticky read that returns anything but the trial's write is a violation;
// a plain read that does is stale. The latency a sticky read adds is its
// percentile over the plain read's: mostly the WAN trip to the writer's
// region while the change is still on its way.

func rywScenario() Scenario {
	return Scenario{Name: "ryw", Summary: "read-your-writes across regions: violations with session tokens vs stale reads without", Run: runRYW}
}

// rywKS: every key sticky for 10 s; L1 off so every read reaches the tiers.
var rywKS = &keyspace.Table{Default: keyspace.Settings{TTL: time.Minute, L1: keyspace.L1Off, EarlyRefresh: -1, StickyWindow: 10 * time.Second}}

type rywTally struct {
	violations, stale atomic.Int64
	writeRetries      atomic.Int64
	mu                sync.Mutex
	sticky, plain     []time.Duration
}

func runRYW(ctx context.Context, o Options) (*Result, error) {
	fs := flag.NewFlagSet("ryw", flag.ContinueOnError)
	trials := fs.Int("trials", 100_000, "write-then-read trials (each read both with and without the token)")
	workers := fs.Int("workers", 256, "concurrent users, each on its own keys")
	if err := fs.Parse(o.Args); err != nil {
		return nil, err
	}
	if o.Quick {
		*trials, *workers = 300, 32
	}
	d, err := startFederated(ctx, federated.Options{Keyspaces: rywKS})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	regs := d.Regions()
	key := []byte("ryw-bench-signing-key-0123456789")
	clients := make([]*tiercache.Client, len(regs))
	for i, r := range regs {
		// A sticky read that goes to the writer's region holds its
		// connection for the WAN trip: size the pool to the users, or
		// plain reads queue behind it and the comparison measures the pool.
		c, err := tiercache.New(tiercache.Config{Nodes: regionNodes(r), Keyspaces: rywKS, Region: r.Name, StickyKeys: [][]byte{key}, PoolSize: *workers})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		clients[i] = c
	}
	var origin sync.Map // key → latest committed value: the primary database
	loader := tiercache.LoaderFunc(func(_ context.Context, k string) ([]byte, error) {
		v, _ := origin.Load(k)
		b, _ := v.([]byte)
		return b, nil
	})
	// Warm-up: every key is in every region, so a plain read hits and
	// shows what replication has delivered.
	const keysPerWorker = 4
	var t rywTally
	for w := range *workers {
		for wr := range regs {
			for j := range keysPerWorker {
				k := fmt.Sprintf("ryw:%d:%d:%d", w, wr, j)
				origin.Store(k, []byte("warm"))
				if err := rywWrite(ctx, &t, func() error { _, err := clients[wr].Set(ctx, k, []byte("warm")); return err }); err != nil {
					return nil, err
				}
			}
		}
	}
	dctx, cancelDelivery := context.WithTimeout(ctx, connectTimeout)
	defer cancelDelivery()
	for _, r := range regs {
		for _, l := range r.Endpoint.Links() {
			if err := l.WaitDelivered(dctx, l.Stats().Enqueued); err != nil {
				return nil, err
			}
		}
	}
	o.Progressf("ryw: %d trials, %d users, profile %s\n", *trials, *workers, d.WAN.Profile().Name)
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		first error
		once  sync.Once
	)
	start := time.Now()
	for w := range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= *trials || ctx.Err() != nil {
					return
				}
				// A key is written from one region only: two writes of a
				// key from different regions in the same millisecond are
				// ordered by the HLC's region tie-break, not by time, and
				// the later one can lose (see the scenario notes).
				k := fmt.Sprintf("ryw:%d:%d:%d", w, i%len(regs), i%keysPerWorker)
				if err := rywTrial(ctx, clients, &origin, loader, k, i, &t); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	took := time.Since(start)
	o.Progressf("ryw: %d trials in %v\n", *trials, took.Round(time.Millisecond))

	res := NewResult("ryw", 1)
	sp50, sp99 := Percentile(t.sticky, 50), Percentile(t.sticky, 99)
	pp50, pp99 := Percentile(t.plain, 50), Percentile(t.plain, 99)
	res.Figures["trials"] = float64(*trials)
	res.Figures["violations_sticky"] = float64(t.violations.Load())
	res.Figures["stale_rate_no_sticky"] = float64(t.stale.Load()) / float64(*trials)
	res.Figures["sticky_extra_p50_ms"] = Millis(sp50 - pp50)
	res.Figures["sticky_extra_p99_ms"] = Millis(sp99 - pp99)
	res.Figures["sticky_read_p50_ms"], res.Figures["sticky_read_p99_ms"] = Millis(sp50), Millis(sp99)
	res.Figures["plain_read_p50_ms"], res.Figures["plain_read_p99_ms"] = Millis(pp50), Millis(pp99)
	res.Figures["duration_s"] = took.Seconds()
	res.Figures["violation_rate_sticky"] = float64(t.violations.Load()) / float64(*trials)
	res.Figures["write_retries"] = float64(t.writeRetries.Load())
	res.addLatencyCurve("read_latency_ms_sticky", t.sticky, time.Millisecond)
	res.addLatencyCurve("read_latency_ms_plain", t.plain, time.Millisecond)
	var loads, remote uint64
	for i, c := range clients {
		loads += c.Stats().StickyLoads
		for _, n := range regs[i].L2 {
			remote += n.StickyStats().Remote
		}
	}
	res.Figures["sticky_origin_loads"] = float64(loads)
	res.Figures["sticky_remote_rate"] = float64(remote) / float64(*trials)
	res.Notes["workload"] = fmt.Sprintf("%d trials by %d concurrent users (%d keys each) over local-3 (3 L2 + 1 L3 per region, simulated WAN); each trial writes in one region and reads at once in another, over all six ordered pairs, once with the writer's token and once without, alternating; sticky window 10 s, L1 off", *trials, *workers, keysPerWorker)
	res.Notes["keys"] = "each key is written from one region only: two writes of one key from different regions within the same millisecond are ordered by the HLC's region tie-break, so the later one can lose everywhere, and a value check would count that as a violation although the read saw the version-order winner"
	res.Notes["figures"] = "violations_sticky: sticky reads not returning the trial's write (target 0); stale_rate_no_sticky: plain reads not returning it; sticky_extra_*: sticky read percentile minus plain read percentile; sticky_remote_rate: sticky reads served from the writer's region; write_retries: cache writes retried after the client could not deliver them (a node timed out or its breaker was open, as on a machine saturated by the users and other work)"
	return res, nil
}

// rywTrial is trial i on key: write in one region, then read in another,
// once with the session's token and once with a plain client read.
func rywTrial(ctx context.Context, clients []*tiercache.Client, origin *sync.Map, loader tiercache.Loader, key string, i int, t *rywTally) error {
	n := len(clients)
	wr := i % n
	rd := (wr + 1 + (i/n)%(n-1)) % n // every ordered pair in turn
	for _, sticky := range []bool{i%2 == 0, i%2 != 0} {
		val := fmt.Appendf(nil, "%d:%t", i, sticky)
		origin.Store(key, val) // the app's commit, then the cache write
		w := clients[wr].NewSession()
		if err := rywWrite(ctx, t, func() error { _, err := w.Set(ctx, key, val); return err }); err != nil {
			return fmt.Errorf("ryw write: %w", err)
		}
		var (
			got   []byte
			err   error
			begin = time.Now()
		)
		if sticky {
			got, err = clients[rd].RestoreSession(w.Token()).Get(ctx, key, loader)
		} else {
			got, err = clients[rd].Get(ctx, key, loader)
		}
		took := time.Since(begin)
		if err != nil {
			return fmt.Errorf("ryw read: %w", err)
		}
		ok := string(got) == string(val)
		t.mu.Lock()
		if sticky {
			t.sticky = append(t.sticky, took)
		} else {
			t.plain = append(t.plain, took)
		}
		t.mu.Unlock()
		switch {
		case sticky && !ok:
			t.violations.Add(1)
		case !sticky && !ok:
			t.stale.Add(1)
		}
	}
	return nil
}

// rywWriteRetryFor bounds how long a cache write is retried when the
// client could not deliver it. After its commit an application retries
// such a write (or invalidates) rather than leave the old value cached; so
// does the scenario. With hundreds of users on a small or busy machine a
// write can miss the client's 500 ms operation timeout, and after a few
// such misses the node's breaker fails writes fast for its cooldown: the
// run counts the retries (write_retries) instead of ending on the first.
const rywWriteRetryFor = 15 * time.Second

// rywWrite runs write until it succeeds, fails for another reason than
// an unreachable, overloaded or busy node, or rywWriteRetryFor passes.
func rywWrite(ctx context.Context, t *rywTally, write func() error) error {
	giveUp := time.Now().Add(rywWriteRetryFor)
	pause := 20 * time.Millisecond
	for {
		err := write()
		retry := errors.Is(err, tiercache.ErrUnavailable) || errors.Is(err, tiercache.ErrOverloaded) || errors.Is(err, tiercache.ErrBusy)
		if !retry || time.Now().After(giveUp) {
			return err
		}
		t.writeRetries.Add(1)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}
