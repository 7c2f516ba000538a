package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/raftmeta"
)

// The failover scenario (failure 3, cascading failure, and membership): a
// 3-node region joined to a one-member raftmeta control plane, keyspace
// replicas 2, under a read/write load from a tier client that follows the
// topology. One L2 primary is killed (its lease stops being renewed and its
// port closes). Figures:
//
//   - recovery_p50_ms, recovery_p99_ms: per key the dead node was primary
//     for, the time from the kill to the first read that returns the
//     cached value again (served by the new owner, its former replica),
//     over several keys and runs. The target is the lease timeout plus 1 s.
//   - client_error_share: failed requests over all requests after the kill.
//   - acked_writes_lost: writes the client saw acknowledged whose value is
//     gone once the region has recovered (asynchronous replication can
//     lose the last changes of a primary that dies).
//   - hung_requests: requests that outlived their deadline by over 1 s.
//   - lease_timeout_ms: the control plane's lease timeout.

func failoverScenario() Scenario {
	return Scenario{Name: "failover", Summary: "kill an L2 primary under load: recovery time on the replica, errors, lost acked writes", Run: runFailover}
}

// failoverCfg is one run's shape.
type failoverCfg struct {
	keys, probes, readers, writers int
	lease, deadline, settle        time.Duration
}

func runFailover(ctx context.Context, o Options) (*Result, error) {
	fs := flag.NewFlagSet("failover", flag.ContinueOnError)
	keys := fs.Int("keys", 2000, "keys written before the kill")
	probes := fs.Int("probes", 16, "keys of the victim probed for recovery per run")
	readers := fs.Int("readers", 8, "reading goroutines")
	writers := fs.Int("writers", 2, "writing goroutines")
	lease := fs.Duration("lease", time.Second, "control-plane lease timeout")
	deadline := fs.Duration("deadline", 500*time.Millisecond, "per-request deadline")
	if err := fs.Parse(o.Args); err != nil {
		return nil, err
	}
	runs := o.RunsOr(3)
	if o.Quick {
		*keys, *probes, *readers, runs = 300, 8, 4, 1
	}
	cfg := failoverCfg{keys: *keys, probes: *probes, readers: *readers, writers: *writers,
		lease: *lease, deadline: *deadline, settle: 500 * time.Millisecond}
	res := NewResult("failover", runs)
	var recov []time.Duration
	var reqs, errs, lost, hung int64
	for run := range runs {
		r, err := failoverOnce(ctx, cfg, run)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", run+1, err)
		}
		o.Progressf("failover run %d: marked down after %v, recovery p50 %v max %v, %d/%d requests failed, %d acked writes lost\n",
			run+1, r.markedDown.Round(time.Millisecond), Percentile(r.recovery, 50).Round(time.Millisecond),
			Percentile(r.recovery, 100).Round(time.Millisecond), r.errors, r.requests, r.lost)
		recov = append(recov, r.recovery...)
		reqs, errs, lost, hung = reqs+r.requests, errs+r.errors, lost+r.lost, hung+r.hung
		res.Series["marked_down_ms"] = append(res.Series["marked_down_ms"], Millis(r.markedDown))
		if run == 0 { // the report plots one run's timeline
			res.Series["timeline_s"], res.Series["hit_ratio"], res.Series["error_share"] = r.timeline, r.hitRatio, r.errShare
		}
	}
	res.Figures["recovery_p50_ms"] = Millis(Percentile(recov, 50))
	res.Figures["recovery_p99_ms"] = Millis(Percentile(recov, 99))
	res.Figures["client_error_share"] = Ratio(float64(errs), float64(reqs))
	res.Figures["acked_writes_lost"] = float64(lost)
	res.Figures["hung_requests"] = float64(hung)
	res.Figures["lease_timeout_ms"] = Millis(cfg.lease)
	res.Figures["recovery_target_ms"] = Millis(cfg.lease + time.Second)
	res.Notes["setup"] = fmt.Sprintf("3 L2 nodes, replicas 2, 1 raftmeta member; %d keys, %d readers, %d writers, %v deadline", cfg.keys, cfg.readers, cfg.writers, cfg.deadline)
	return res, nil
}

// failoverRun is what one run measured.
type failoverRun struct {
	recovery               []time.Duration
	markedDown             time.Duration
	requests, errors, lost int64
	hung                   int64
	// The timeline per 100 ms bucket, seconds from the kill: the share of
	// reads the cache answered, and of requests that failed.
	timeline, hitRatio, errShare []float64
}

// cpBench is a control plane, its region and a client following it.
type cpBench struct {
	dir     string
	member  *raftmeta.Member
	cl      *raftmeta.Client
	watcher *raftmeta.Watcher
	nodes   []*l2.Node
	members []*l2.ClusterMember
	client  *tiercache.Client
	stop    func()
}

func startCPBench(ctx context.Context, lease time.Duration, size int) (*cpBench, error) {
	b := &cpBench{}
	var err error
	if b.dir, err = os.MkdirTemp("", "tiercache-failover-"); err != nil {
		return nil, err
	}
	b.member, err = raftmeta.Open(raftmeta.Config{ID: "meta1", RaftAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		DataDir: b.dir, Bootstrap: true, Insecure: true, LeaseTimeout: lease, Logger: hclog.NewNullLogger()})
	if err != nil {
		b.Close()
		return nil, err
	}
	fail := func(err error) (*cpBench, error) { b.Close(); return nil, err }
	if b.cl, err = raftmeta.NewClient(raftmeta.ClientConfig{Members: []string{b.member.HTTPAddr()}, Insecure: true}); err != nil {
		return fail(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if _, err = b.cl.SetKeyspace(wctx, "user", keyspace.Settings{Replicas: 2}); err == nil {
			break
		}
		if wctx.Err() != nil {
			return fail(err)
		}
		time.Sleep(20 * time.Millisecond) // the member is still electing itself
	}
	b.watcher = raftmeta.NewWatcher(b.cl)
	for i := range size {
		n, err := l2.NewNode(l2.Config{ID: "n" + strconv.Itoa(i+1)})
		if err == nil {
			err = n.Start()
		}
		if err != nil {
			return fail(err)
		}
		b.nodes = append(b.nodes, n)
		m, err := n.JoinControlPlane(l2.MetaConfig{Client: b.cl, Region: "r1"})
		if err != nil {
			return fail(err)
		}
		b.members = append(b.members, m)
	}
	top, err := b.watcher.Wait(wctx, func(t *raftmeta.Topology) bool { return len(tiercache.TopologyOf(t, "r1").Nodes) == size })
	if err != nil {
		return fail(err)
	}
	if err := waitEpoch(wctx, top.Epoch, b.nodes); err != nil {
		return fail(err)
	}
	if b.client, err = tiercache.New(tiercache.Config{Nodes: tiercache.TopologyOf(top, "r1").Nodes, L1MaxBytes: -1}); err != nil {
		return fail(err)
	}
	b.stop = b.client.FollowTopology(b.watcher, "r1")
	return b, nil
}

// waitEpoch waits until every node has applied epoch.
func waitEpoch(ctx context.Context, epoch uint64, nodes []*l2.Node) error {
	for _, n := range nodes {
		for n.Epoch() < epoch {
			select {
			case <-ctx.Done():
				return fmt.Errorf("a node stuck at epoch %d < %d: %w", n.Epoch(), epoch, ctx.Err())
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return nil
}

// kill stops node i the way a crash would: no more lease renewals, its
// port closed.
func (b *cpBench) kill(i int) {
	b.members[i].Close()
	b.nodes[i].Close()
}

func (b *cpBench) Close() {
	if b.stop != nil {
		b.stop()
	}
	if b.client != nil {
		b.client.Close()
	}
	for _, m := range b.members {
		m.Close()
	}
	for _, n := range b.nodes {
		n.Close()
	}
	if b.watcher != nil {
		b.watcher.Close()
	}
	if b.cl != nil {
		b.cl.Close()
	}
	if b.member != nil {
		b.member.Close()
	}
	os.RemoveAll(b.dir)
}

// originValue is what the origin returns: never a value the bench wrote,
// so a read that returns a written value was served by the cache.
var originValue = []byte("origin")

func failoverOnce(ctx context.Context, cfg failoverCfg, run int) (*failoverRun, error) {
	b, err := startCPBench(ctx, cfg.lease, 3)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	c := b.client
	keys := make([]string, cfg.keys)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i)
		if _, err := c.Set(ctx, keys[i], []byte("v0-"+keys[i])); err != nil {
			return nil, fmt.Errorf("preload: %w", err)
		}
	}
	victimIdx := run % len(b.nodes)
	ring := b.nodes[(victimIdx+1)%len(b.nodes)].Ring()
	victim := "n" + strconv.Itoa(victimIdx+1)
	var probeKeys []string
	for _, k := range keys {
		if len(probeKeys) < cfg.probes && ring.Owner([]byte(k)) == victim {
			probeKeys = append(probeKeys, k)
		}
	}
	if err := waitReplicas(ctx, b.nodes); err != nil {
		return nil, err
	}

	origin := tiercache.LoaderFunc(func(ctx context.Context, key string) ([]byte, error) { return originValue, nil })
	out := &failoverRun{}
	var after atomic.Bool // counting starts at the kill
	var killedAt atomic.Int64
	var all, allErrs, gets atomic.Int64 // for the timeline, before the kill too
	killed := make(chan struct{})       // closed at the kill: the probes start
	do := func(f func(ctx context.Context) error) error {
		rctx, cancel := context.WithTimeout(ctx, cfg.deadline)
		start := time.Now()
		err := f(rctx)
		took := time.Since(start)
		cancel()
		all.Add(1)
		if err != nil {
			allErrs.Add(1)
		}
		if after.Load() {
			atomic.AddInt64(&out.requests, 1)
			if err != nil {
				atomic.AddInt64(&out.errors, 1)
			}
			if took > cfg.deadline+time.Second {
				atomic.AddInt64(&out.hung, 1)
			}
		}
		return err
	}
	lctx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range cfg.readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(run)))
			for lctx.Err() == nil {
				k := keys[rng.IntN(len(keys))]
				do(func(ctx context.Context) error { _, err := c.Get(ctx, k, origin); gets.Add(1); return err })
			}
		}()
	}
	// Each writer owns the keys i ≡ w (mod writers) and remembers the
	// last value acknowledged for each.
	acked := make([]map[string]string, cfg.writers)
	for w := range cfg.writers {
		acked[w] = map[string]string{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 1; lctx.Err() == nil; seq++ {
				i := w + cfg.writers*(seq%max(len(keys)/cfg.writers, 1))
				if i >= len(keys) {
					continue
				}
				v := "v" + strconv.Itoa(seq) + "-" + keys[i]
				if do(func(ctx context.Context) error { _, err := c.Set(ctx, keys[i], []byte(v)); return err }) == nil {
					acked[w][keys[i]] = v
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	recovered := make([]time.Duration, len(probeKeys))
	for p, k := range probeKeys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-killed:
			case <-lctx.Done():
				return
			}
			for lctx.Err() == nil {
				var v []byte
				err := do(func(ctx context.Context) (err error) { v, err = c.Get(ctx, k, origin); gets.Add(1); return err })
				if err == nil && string(v) != string(originValue) {
					recovered[p] = time.Since(time.Unix(0, killedAt.Load()))
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}

	hits := func() int64 {
		s := c.Stats()
		return int64(s.L1Hits + s.L1Stale + s.L2Hits + s.L2Stale)
	}
	stopTimeline := make(chan struct{})
	timelineDone := make(chan struct{})
	var stamps []time.Time
	go func() { // samples every 100 ms until the load stops
		defer close(timelineDone)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		prev := [4]int64{all.Load(), allErrs.Load(), gets.Load(), hits()}
		for {
			select {
			case <-stopTimeline:
				return
			case now := <-tick.C:
				cur := [4]int64{all.Load(), allErrs.Load(), gets.Load(), hits()}
				stamps = append(stamps, now)
				out.hitRatio = append(out.hitRatio, min(1, Ratio(float64(cur[3]-prev[3]), float64(cur[2]-prev[2]))))
				out.errShare = append(out.errShare, Ratio(float64(cur[1]-prev[1]), float64(cur[0]-prev[0])))
				prev = cur
			}
		}
	}()
	endTimeline := func() {
		select {
		case <-stopTimeline:
		default:
			close(stopTimeline)
		}
		<-timelineDone
		kill := time.Unix(0, killedAt.Load())
		out.timeline = out.timeline[:0]
		for _, s := range stamps {
			out.timeline = append(out.timeline, s.Sub(kill).Seconds())
		}
	}
	defer endTimeline()

	time.Sleep(cfg.settle) // load running before the kill
	killedAt.Store(time.Now().UnixNano())
	after.Store(true)
	close(killed)
	b.kill(victimIdx)
	limit := cfg.lease + 10*time.Second
	wctx, cancel := context.WithTimeout(ctx, limit)
	_, err = b.watcher.Wait(wctx, func(t *raftmeta.Topology) bool { return len(tiercache.TopologyOf(t, "r1").Nodes) == 2 })
	cancel()
	if err != nil {
		stopLoad()
		wg.Wait()
		return nil, fmt.Errorf("victim never marked down: %w", err)
	}
	out.markedDown = time.Since(time.Unix(0, killedAt.Load()))
	time.Sleep(cfg.settle + time.Second) // probes find the new owner, load continues on it
	stopLoad()
	wg.Wait()
	endTimeline()
	for _, d := range recovered {
		if d == 0 { // never recovered inside the run: count the whole window
			d = time.Since(time.Unix(0, killedAt.Load()))
		}
		out.recovery = append(out.recovery, d)
	}
	// Read back every acknowledged write from the recovered region.
	for _, m := range acked {
		for k, v := range m {
			got, err := c.Get(ctx, k, origin)
			if err != nil || string(got) != v {
				out.lost++
			}
		}
	}
	return out, nil
}

// waitReplicas waits until every node's replicas acknowledged all it
// queued.
func waitReplicas(ctx context.Context, nodes []*l2.Node) error {
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range nodes {
		for s := n.ReplicaStats(); s.Applied+s.Failed+s.Dropped < s.Enqueued; s = n.ReplicaStats() {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return errors.New("replication did not catch up")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}
