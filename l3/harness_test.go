package l3_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/federation/federationtest"
	"github.com/tiercache/tiercache/internal/hlc"
	"github.com/tiercache/tiercache/l2/store"
	"github.com/tiercache/tiercache/l3"
	"github.com/tiercache/tiercache/regions"
)

// world is one L3 node per region of the default profile (three regions),
// each region's node the Replica and Source of its federation endpoint and
// served on it, with a Client per region, over the simulated WAN.
type world struct {
	t       testing.TB
	cluster *federationtest.Cluster
	names   []string
	nodes   map[string]*l3.Node
	clients map[string]*l3.Client
	clocks  map[string]*hlc.Clock
}

func newWorld(t testing.TB, seed uint64) *world {
	t.Helper()
	profile, err := regions.Builtin(regions.DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, nodes: map[string]*l3.Node{}, clients: map[string]*l3.Client{}, clocks: map[string]*hlc.Clock{}}
	var members []l3.Member
	for _, r := range profile.Regions {
		n, err := l3.NewNode(l3.Config{ID: r.Name + "-l3-0", Region: r.Name, Store: store.Config{MaxBytes: 16 << 20}})
		if err != nil {
			t.Fatal(err)
		}
		// Registered before the cluster's cleanup, so it runs after the
		// endpoints are closed.
		t.Cleanup(func() { _ = n.Close() })
		w.names = append(w.names, r.Name)
		w.nodes[r.Name] = n
		if w.clocks[r.Name], err = hlc.New(r.ID, nil); err != nil {
			t.Fatal(err)
		}
		members = append(members, l3.Member{ID: n.ID(), Region: r.Name, Weight: 100})
	}
	w.cluster = federationtest.NewCluster(t, federationtest.ClusterOptions{
		Profile: profile, Seed: seed,
		Configure: func(region string, cfg *federation.Config) {
			cfg.Replica, cfg.Source = w.nodes[region], w.nodes[region]
		},
	})
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, name := range w.names {
		ep := w.cluster.Endpoint(name)
		l3.Serve(ep, w.nodes[name])
		c, err := l3.NewClient(l3.ClientConfig{Region: name, Federation: ep, Local: []*l3.Node{w.nodes[name]}})
		if err != nil {
			t.Fatal(err)
		}
		w.clients[name] = c
		// Each region builds its own ring from the membership as it
		// learned it, in its own order.
		rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
		r, err := l3.NewRing(1, members)
		if err != nil {
			t.Fatal(err)
		}
		w.nodes[name].SetRing(r)
		c.SetRing(r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := w.cluster.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return w
}

// keyOwnedBy returns the i-th key (of a prefix) whose owner is in region.
func (w *world) keyOwnedBy(region, prefix string, i int) []byte {
	c := w.clients[w.names[0]]
	for j := 0; ; j++ {
		k := []byte(fmt.Sprintf("%s:%d", prefix, j))
		if m, _ := c.Owner(k); m.Region == region {
			if i == 0 {
				return k
			}
			i--
		}
	}
}

// waitFor polls cond until it holds or d passes; the cluster runs on real
// time, so this is how a test waits for the network.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
