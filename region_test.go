package tiercache

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/l2"
)

// testRegion is a real region on loopback: n L2 nodes that know each other.
type testRegion struct {
	t     testing.TB
	nodes []*l2.Node
	addrs []string
	ids   []string
	peers []l2.Peer
	opts  l2.TierOptions
	clk   clock.Clock
}

func startRegion(t testing.TB, n int, opts l2.TierOptions) *testRegion {
	return startRegionClock(t, n, opts, nil)
}

// startRegionClock starts a region whose nodes read time from clk.
func startRegionClock(t testing.TB, n int, opts l2.TierOptions, clk clock.Clock) *testRegion {
	t.Helper()
	r := &testRegion{t: t, opts: opts, clk: clk}
	for i := range n {
		id := fmt.Sprintf("n%d", i+1)
		node, err := l2.NewNode(l2.Config{ID: id, MaxMemory: 64 << 20, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		if err := node.Start(); err != nil {
			t.Fatal(err)
		}
		r.nodes = append(r.nodes, node)
		r.ids = append(r.ids, id)
		r.addrs = append(r.addrs, node.Addr())
		r.peers = append(r.peers, l2.Peer{ID: id, Addr: node.Addr()})
	}
	for _, node := range r.nodes {
		if err := node.SetPeers(r.peers); err != nil {
			t.Fatal(err)
		}
		if err := node.SetTierOptions(opts); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(r.close)
	return r
}

// restart starts node i again on its old address, empty.
func (r *testRegion) restart(i int) {
	r.t.Helper()
	var node *l2.Node
	var err error
	// The port was ours a moment ago; another test could grab it in
	// between, which only this retry loop papers over.
	for try := 0; try < 50; try++ {
		node, err = l2.NewNode(l2.Config{ID: r.ids[i], Listen: r.addrs[i], Peers: r.peers, MaxMemory: 64 << 20, Clock: r.clk})
		if err != nil {
			r.t.Fatal(err)
		}
		if err = node.Start(); err == nil {
			break
		}
		node.Close()
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("restart %s on %s: %v", r.ids[i], r.addrs[i], err)
	}
	if err := node.SetTierOptions(r.opts); err != nil {
		r.t.Fatal(err)
	}
	r.nodes[i] = node
}

// startNode starts a standalone L2 node that the test's cleanup closes.
func startNode(t testing.TB, cfg l2.Config) *l2.Node {
	t.Helper()
	n, err := l2.NewNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func (r *testRegion) close() {
	for _, n := range r.nodes {
		n.Close()
	}
}

func (r *testRegion) clientNodes() []Node {
	out := make([]Node, len(r.ids))
	for i := range r.ids {
		out[i] = Node{ID: r.ids[i], Addr: r.addrs[i]}
	}
	return out
}

func (r *testRegion) client(t testing.TB, cfg Config) *Client {
	t.Helper()
	cfg.Nodes = r.clientNodes()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// countingLoader is an origin that counts its loads.
type countingLoader struct {
	mu     sync.Mutex
	values map[string]string
	delay  time.Duration
	loads  atomic.Int64
	fail   atomic.Bool
}

func newCountingLoader() *countingLoader { return &countingLoader{values: map[string]string{}} }

func (l *countingLoader) set(key, v string) {
	l.mu.Lock()
	l.values[key] = v
	l.mu.Unlock()
}

func (l *countingLoader) Load(ctx context.Context, key string) ([]byte, error) {
	l.loads.Add(1)
	if l.delay > 0 {
		select {
		case <-time.After(l.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if l.fail.Load() {
		return nil, errOrigin
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.values[key]
	if !ok {
		v = "v(" + key + ")"
	}
	return []byte(v), nil
}

var errOrigin = fmt.Errorf("origin down")

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
