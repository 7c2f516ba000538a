package federated

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/raftmeta"
)

func startMeta(t *testing.T) *Deployment {
	t.Helper()
	began := time.Now()
	d, err := Start(Options{Keyspaces: plain, Seed: 1, ControlPlane: &ControlPlaneOptions{Dir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("deployment with control plane ready in %v", time.Since(began))
	return d
}

// followingClient is an app client of r that routes by the topology.
func followingClient(t *testing.T, d *Deployment, r *Region) *tiercache.Client {
	t.Helper()
	c := client(t, r, plain)
	stop := c.FollowTopology(d.Watcher(), r.Name)
	t.Cleanup(stop)
	return c
}

func nodeState(d *Deployment, id string) raftmeta.NodeState {
	if t := d.Topology(); t != nil {
		if n, ok := t.Node(id); ok {
			return n.State
		}
	}
	return ""
}

func TestControlPlaneTopologyDrivesRings(t *testing.T) {
	d := startMeta(t)
	top := d.Topology()
	if len(top.Nodes) != 12 || len(top.Regions) != 3 {
		t.Fatalf("topology has %d nodes and %d regions, want 12 and 3", len(top.Nodes), len(top.Regions))
	}
	// On a busy machine a node's lease can lapse and come back after
	// WaitReady (a new epoch or two): the rings must settle on the
	// topology with every node up, whatever its epoch.
	deadline := time.Now().Add(15 * time.Second)
	for {
		top = d.Topology()
		lag := ringsLag(d, top)
		if lag == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rings do not follow the topology (epoch %d): %s", top.Epoch, lag)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, r := range d.Regions() {
		if reg, _ := top.Region(r.Name); reg.ID != r.ID {
			t.Errorf("region %s has id %d in the topology, %d in the profile", r.Name, reg.ID, r.ID)
		}
		if m, err := r.Client.Owner([]byte("k")); err != nil || m.ID == "" {
			t.Errorf("%s: no global ring: %v", r.Name, err)
		}
	}
	ctx := context.Background()
	us := followingClient(t, d, region(t, d, "us-east"))
	if _, err := us.Set(ctx, "user:1", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, region(t, d, "us-east"))
	got, err := followingClient(t, d, region(t, d, "ap-south")).Get(ctx, "user:1", noOrigin(t))
	if err != nil || string(got) != "v1" {
		t.Fatalf("ap-south read %q, %v", got, err)
	}
}

func TestKillNodeFailsOverAndRestartRejoins(t *testing.T) {
	d := startMeta(t)
	ctx := context.Background()
	eu := region(t, d, "eu-west")
	c := followingClient(t, d, eu)
	origin := tiercache.LoaderFunc(func(_ context.Context, key string) ([]byte, error) { return []byte("o-" + key), nil })
	keys := make([]string, 30)
	for i := range keys {
		keys[i] = fmt.Sprintf("page:%d", i)
		if _, err := c.Get(ctx, keys[i], origin); err != nil {
			t.Fatal(err)
		}
	}
	victim := eu.NodeIDs()[1]
	if err := d.KillNode(victim); err != nil {
		t.Fatal(err)
	}
	if err := d.KillNode(victim); !errors.Is(err, ErrNodeState) {
		t.Fatalf("second kill: %v, want ErrNodeState", err)
	}
	waitFor(t, func() bool { return nodeState(d, victim) == raftmeta.StateDown })
	waitFor(t, func() bool { return hasEvent(d, "node "+victim+" down") })
	// The survivors' ring leaves the victim out, and every key reads.
	waitFor(t, func() bool {
		for _, id := range eu.NodeIDs() {
			if n := eu.Node(id); n != nil && len(n.Ring().Nodes()) != 2 {
				return false
			}
		}
		return true
	})
	for _, k := range keys {
		got, err := c.Get(ctx, k, origin)
		if err != nil || string(got) != "o-"+k {
			t.Fatalf("after the kill, %s read %q, %v", k, got, err)
		}
	}
	if err := d.RestartNode(victim); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return nodeState(d, victim) == raftmeta.StateUp })
	waitFor(t, func() bool { n := eu.Node(victim); return n != nil && len(n.Ring().Nodes()) == 3 })
	for _, k := range keys {
		if _, err := c.Get(ctx, k, origin); err != nil {
			t.Fatalf("after the restart, %s: %v", k, err)
		}
	}
	if err := d.KillNode("nope"); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("kill unknown: %v", err)
	}
}

func TestPartitionAndHealRegion(t *testing.T) {
	d := start(t, plain)
	if err := d.PartitionRegion("ap-south"); err != nil {
		t.Fatal(err)
	}
	if !d.Partitioned("ap-south") || d.Partitioned("us-east") {
		t.Fatal("partition state wrong")
	}
	ctx := context.Background()
	us := region(t, d, "us-east")
	if _, err := client(t, us, plain).Set(ctx, "user:9", []byte("during")); err != nil {
		t.Fatal(err)
	}
	if err := d.HealRegion("ap-south"); err != nil {
		t.Fatal(err)
	}
	if d.Partitioned("ap-south") {
		t.Fatal("still partitioned after heal")
	}
	waitDelivered(t, us)
	got, err := client(t, region(t, d, "ap-south"), plain).Get(ctx, "user:9", noOrigin(t))
	if err != nil || string(got) != "during" {
		t.Fatalf("ap-south read %q, %v after heal", got, err)
	}
	if err := d.PartitionRegion("mars"); !errors.Is(err, ErrUnknownRegion) {
		t.Fatalf("partition unknown region: %v", err)
	}
	if err := d.KillNode("us-east-l2-1"); !errors.Is(err, ErrNoControlPlane) {
		t.Fatalf("kill without control plane: %v", err)
	}
}

func hasEvent(d *Deployment, prefix string) bool {
	for _, e := range d.Events() {
		if strings.HasPrefix(e.Text, prefix) {
			return true
		}
	}
	return false
}

// ringsLag describes the first L2 node that is down in top or whose ring
// is not top's (its epoch, three nodes); "" when none.
func ringsLag(d *Deployment, top *raftmeta.Topology) string {
	for _, n := range top.Nodes {
		if n.State != raftmeta.StateUp {
			return fmt.Sprintf("%s is %s", n.ID, n.State)
		}
	}
	for _, r := range d.Regions() {
		for _, n := range r.L2 {
			if n.Epoch() != top.Epoch || len(n.Ring().Nodes()) != 3 {
				return fmt.Sprintf("%s: node at epoch %d with %d ring nodes", r.Name, n.Epoch(), len(n.Ring().Nodes()))
			}
		}
	}
	return ""
}
