package tiercache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2"
)

// loadGen reads random keys from a client until stopped, recording the
// worst latency and the outcomes.
type loadGen struct {
	reads, fails, late atomic.Int64
	worst              atomic.Int64 // ns
	lastErr            atomic.Value
}

func (g *loadGen) run(ctx context.Context, c *Client, keys []string, origin Loader, timeout time.Duration, workers int) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for ctx.Err() == nil {
				rctx, rcancel := context.WithTimeout(ctx, timeout)
				start := time.Now()
				_, err := c.Get(rctx, keys[rng.IntN(len(keys))], origin)
				took := time.Since(start)
				rcancel()
				if ctx.Err() != nil {
					return
				}
				g.reads.Add(1)
				if err != nil {
					g.fails.Add(1)
					g.lastErr.Store(err.Error())
				}
				// A read that ends within a second of its deadline did
				// not hang: the rest is the scheduler of a shared,
				// race-instrumented machine. The waits a hang would
				// come from (a lease wait, a lease period) are longer.
				if took > timeout+time.Second {
					g.late.Add(1)
				}
				for {
					old := g.worst.Load()
					if int64(took) <= old || g.worst.CompareAndSwap(old, int64(took)) {
						break
					}
				}
			}
		}()
	}
	return func() { cancel(); wg.Wait() }
}

// nodeGets returns the TC.GETs each node has served.
func nodeGets(r *testRegion) []uint64 {
	out := make([]uint64, len(r.nodes))
	for i, n := range r.nodes {
		out[i] = n.Stats().PerCommand["tc.get"]
	}
	return out
}

func TestNodeLossFailsFastAndRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("failover test")
	}
	r := startRegion(t, 3, l2.TierOptions{})
	const timeout = 300 * time.Millisecond
	c := r.client(t, Config{
		Keyspaces:     &keyspace.Table{Default: keyspace.Settings{L1: keyspace.L1Off}},
		OpTimeout:     200 * time.Millisecond,
		MaxLeaseWait:  5 * time.Second, // so a read that ignored its deadline would show
		Breaker:       BreakerConfig{Cooldown: 200 * time.Millisecond, MaxCooldown: 400 * time.Millisecond},
		DegradedLoads: 4,
	})
	origin := newCountingLoader()
	origin.delay = 2 * time.Millisecond
	keys := make([]string, 600)
	for i := range keys {
		keys[i] = fmt.Sprintf("f:%d", i)
	}
	ctx := context.Background()
	topo := c.topo.Load()
	var deadKeys []string
	for _, k := range keys {
		if topo.ring.Owner([]byte(k)) == "n2" {
			deadKeys = append(deadKeys, k)
		}
	}

	var gen loadGen
	stop := gen.run(ctx, c, keys, origin, timeout, 16)
	defer stop()
	// measure watches at least minReads reads (or 10 s): shares per read
	// are then steady however slow the shared machine is.
	const minReads = 1500
	measure := func() (shares []float64, reads int64) {
		g0, r0 := nodeGets(r), gen.reads.Load()
		for end := time.Now().Add(10 * time.Second); gen.reads.Load()-r0 < minReads && time.Now().Before(end); {
			time.Sleep(10 * time.Millisecond)
		}
		g1, r1 := nodeGets(r), gen.reads.Load()
		reads = r1 - r0
		for i := range g0 {
			shares = append(shares, float64(g1[i]-g0[i])/float64(max(reads, 1)))
		}
		return shares, reads
	}
	before, _ := measure()
	t.Logf("TC.GETs per read before: %.3f", before)

	r.nodes[1].Close()
	waitFor(t, "breaker open", func() bool { return c.Stats().BreakersOpen == 1 })
	during, reads := measure()
	t.Logf("TC.GETs per read with n2 down: %.3f over %d reads; %d fast fails, %d degraded loads, %d refused",
		during, reads, c.Stats().BreakerFastFail, c.Stats().DegradedLoads, c.Stats().DegradedRefused)
	for _, i := range []int{0, 2} {
		// Each survivor keeps serving its own third of the keys; none
		// takes over n2's.
		if during[i] > before[i]*1.25+0.02 {
			t.Errorf("n%d's share rose from %.3f to %.3f per read", i+1, before[i], during[i])
		}
	}
	if gen.late.Load() > 0 {
		t.Errorf("%d reads overran their deadline (worst %v)", gen.late.Load(), time.Duration(gen.worst.Load()))
	}
	// A dead node's key is answered from the origin under the cap, or
	// fails fast: never after the deadline.
	start := time.Now()
	_, err := c.Get(ctx, deadKeys[0], origin)
	if took := time.Since(start); took > timeout+time.Second {
		t.Errorf("dead node's key took %v", took)
	}
	if err != nil && !errors.Is(err, ErrUnavailable) {
		t.Errorf("dead node's key: %v", err)
	}

	r.restart(1)
	waitFor(t, "n2 serving again", func() bool {
		before := r.nodes[1].Stats().PerCommand["tc.get"]
		time.Sleep(50 * time.Millisecond)
		return r.nodes[1].Stats().PerCommand["tc.get"] > before && c.Stats().BreakersOpen == 0
	})
	fails := gen.fails.Load()
	after, _ := measure()
	t.Logf("TC.GETs per read after n2 returned: %.3f; worst read %v", after, time.Duration(gen.worst.Load()))
	if after[1] < before[1]/2 {
		t.Errorf("n2 took back only %.3f per read (was %.3f)", after[1], before[1])
	}
	if f := gen.fails.Load() - fails; f > 0 {
		t.Logf("%d reads failed after recovery (last: %v)", f, gen.lastErr.Load())
	}
	if gen.late.Load() > 0 {
		t.Errorf("%d reads overran their deadline", gen.late.Load())
	}
}
