package demo

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/federated"
	"github.com/tiercache/tiercache/internal/origin"
	"github.com/tiercache/tiercache/l2"
)

// app is one region's application: a tiercache client (with L1) that
// follows the control plane's topology, a Loader over the shared origin,
// and what its workers saw.
type app struct {
	region *federated.Region
	client *tiercache.Client
	stop   func() // ends the topology following
	loader tiercache.Loader

	lat latencies // app reads, end to end

	reads, writes, errs  atomic.Uint64
	originLoads          atomic.Uint64 // this region's loads, trending key included
	trendLoads           atomic.Uint64 // of those, loads of trending keys
	stale                atomic.Uint64 // reads older than the origin's committed row
	staleLong            atomic.Uint64 // of those, older than a row superseded over staleBound before
	rywChecks, rywFailed atomic.Uint64
	crossChecks          atomic.Uint64 // RYW checks read in another region with the token

	// global sums the region's L2 nodes' global-tier hits across kills
	// and restarts (a restarted node counts from zero).
	global monotonic
}

func newApp(r *federated.Region, d *federated.Deployment, db *origin.DB, cfg tiercache.Config) (*app, error) {
	for _, p := range r.Peers() {
		cfg.Nodes = append(cfg.Nodes, tiercache.Node{ID: p.ID, Addr: p.Addr})
	}
	cfg.Region = r.Name
	c, err := tiercache.New(cfg)
	if err != nil {
		return nil, err
	}
	a := &app{region: r, client: c}
	if w := d.Watcher(); w != nil {
		a.stop = c.FollowTopology(w, r.Name)
	}
	a.loader = tiercache.LoaderFunc(func(ctx context.Context, key string) ([]byte, error) {
		a.originLoads.Add(1)
		if strings.HasPrefix(key, trendKeyspace+":") {
			a.trendLoads.Add(1)
		}
		return db.Load(ctx, key)
	})
	return a, nil
}

func (a *app) close() {
	if a.stop != nil {
		a.stop()
	}
	_ = a.client.Close()
}

// globalHits returns the region's L2 owner misses answered by L3.
func (a *app) globalHits() uint64 {
	return a.global.sum(a.region, func(n *l2.Node) uint64 { return n.GlobalStats().Hits })
}

// monotonic sums a counter of a region's nodes so that it never goes
// back when a node is killed (its last count is kept) or restarted (the
// new node counts from zero).
type monotonic struct {
	last map[string]nodeCount // by node id
	base uint64               // counts of nodes since replaced
}

type nodeCount struct {
	n *l2.Node
	v uint64
}

// sum is called from one goroutine at a time (the sampler's).
func (m *monotonic) sum(r *federated.Region, count func(*l2.Node) uint64) uint64 {
	if m.last == nil {
		m.last = map[string]nodeCount{}
	}
	total := m.base
	for _, id := range r.NodeIDs() {
		prev := m.last[id]
		n := r.Node(id)
		switch {
		case n == nil: // killed: keep its last count
			total += prev.v
			continue
		case n != prev.n && prev.n != nil: // restarted
			m.base += prev.v
			total += prev.v
			prev = nodeCount{}
		}
		v := count(n)
		m.last[id] = nodeCount{n: n, v: v}
		total += v
	}
	return total
}
