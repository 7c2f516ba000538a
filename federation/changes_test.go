package federation_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/federation/federationtest"
)

// writer makes local writes in one region and remembers every version it
// wrote per key, to compare with what other regions applied.
type writer struct {
	c       *federationtest.Cluster
	region  string
	written map[string][]uint64
}

func newWriter(c *federationtest.Cluster, region string) *writer {
	return &writer{c: c, region: region, written: map[string][]uint64{}}
}

func (w *writer) write(n, keys int) {
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("user:%d", i%keys)
		ch := w.c.Write(w.region, k, fmt.Sprintf("v%d", len(w.written[k])))
		w.written[k] = append(w.written[k], ch.Version)
	}
}

func waitDelivered(t *testing.T, l *federation.Link, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := l.WaitDelivered(ctx, l.Stats().Enqueued); err != nil {
		t.Fatalf("%v (stats %+v)", err, l.Stats())
	}
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sameAsWriter checks that dst holds, per key, exactly the versions the
// writer wrote, in order: nothing lost, nothing reordered.
func sameAsWriter(t *testing.T, w *writer, dst *federationtest.MemStore, region string) {
	t.Helper()
	for k, versions := range w.written {
		if got := dst.History(k); !slices.Equal(got, versions) {
			t.Fatalf("%s: key %s applied %v, written %v", region, k, got, versions)
		}
	}
}

func TestChangeStreamSurvivesPartition(t *testing.T) {
	c := federationtest.NewCluster(t, federationtest.ClusterOptions{Seed: 5})
	connected(t, c)
	w := newWriter(c, "us-east")
	toEU, toAP := c.Link("us-east", "eu-west"), c.Link("us-east", "ap-south")

	w.write(100, 30)
	waitDelivered(t, toEU, 5*time.Second)
	waitDelivered(t, toAP, 5*time.Second)

	if err := c.WAN.Partition("us-east", "eu-west"); err != nil {
		t.Fatal(err)
	}
	w.write(300, 30)
	// The other link keeps flowing during the partition.
	waitDelivered(t, toAP, 5*time.Second)
	waitUntil(t, 10*time.Second, "the link to notice the partition", func() bool { return !toEU.Connected() })
	if d := toEU.Delivered(); d >= toEU.Stats().Enqueued {
		t.Fatalf("delivered %d across a partition", d)
	}
	w.write(100, 30)
	if err := c.WAN.Heal("us-east", "eu-west"); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, toEU, 15*time.Second)
	waitDelivered(t, toAP, 5*time.Second)

	sameAsWriter(t, w, c.Store("eu-west"), "eu-west")
	sameAsWriter(t, w, c.Store("ap-south"), "ap-south")
	st := toEU.Stats()
	if st.Connects < 2 || st.OutboxChanges != 0 || st.Overflows != 0 {
		t.Fatalf("stats after heal %+v", st)
	}
	if !st.Used0RTT {
		t.Fatalf("the redial after the partition did not resume with 0-RTT: %+v", st)
	}
	if st.ReplicationLagSamples == 0 || st.ReplicationLagMax < time.Second {
		t.Fatalf("lag should include the partition: %+v", st)
	}
	t.Logf("us-east→eu-west after partition: %d connects, lag p50 %v p99 %v max %v", st.Connects, st.ReplicationLagP50, st.ReplicationLagP99, st.ReplicationLagMax)
}

func TestOverflowIsRepairedByAntiEntropy(t *testing.T) {
	c := federationtest.NewCluster(t, federationtest.ClusterOptions{Seed: 6, Configure: func(region string, cfg *federation.Config) {
		cfg.OutboxMaxChanges = 50
		cfg.AntiEntropyBuckets = 256
	}})
	connected(t, c)
	w := newWriter(c, "us-east")
	toEU := c.Link("us-east", "eu-west")
	w.write(40, 40)
	waitDelivered(t, toEU, 5*time.Second)

	if err := c.WAN.Partition("us-east", "eu-west"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the link to notice the partition", func() bool { return !toEU.Connected() })
	w.write(500, 200)
	c.Write("us-east", "user:7", "") // a later version of a key the repair also carries
	st := toEU.Stats()
	if st.Overflows == 0 || !st.NeedsAntiEntropy || st.OutboxChanges > 50 {
		t.Fatalf("no overflow after 500 writes into a 50-change outbox: %+v", st)
	}
	if err := c.WAN.Heal("us-east", "eu-west"); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, toEU, 20*time.Second)
	waitDelivered(t, c.Link("us-east", "ap-south"), 5*time.Second)

	st = toEU.Stats()
	if st.AntiEntropyPasses == 0 || st.NeedsAntiEntropy || st.LastRepairKeys == 0 {
		t.Fatalf("stats after repair %+v", st)
	}
	if diff := c.Store("us-east").Diff(c.Store("eu-west"), 10); len(diff) != 0 {
		t.Fatalf("eu-west differs from us-east on %v", diff)
	}
	if diff := c.Store("us-east").Diff(c.Store("ap-south"), 10); len(diff) != 0 {
		t.Fatalf("ap-south differs from us-east on %v", diff)
	}
	for k := range w.written {
		h := c.Store("eu-west").History(k)
		if !slices.IsSorted(h) {
			t.Fatalf("key %s applied out of version order: %v", k, h)
		}
	}
	t.Logf("repair: %d of 256 buckets differed, %d keys sent, took %v", st.LastRepairBuckets, st.LastRepairKeys, st.LastRepairDuration)
}

func TestReconnectAfterPeerRestart(t *testing.T) {
	c := federationtest.NewCluster(t, federationtest.ClusterOptions{Seed: 7})
	for _, r := range []string{"us-east", "eu-west"} {
		c.Endpoint(r).Handle(kindEcho, echoHandler(r))
	}
	connected(t, c)
	toEU := c.Link("us-east", "eu-west")
	w := newWriter(c, "us-east")
	w.write(20, 20)
	waitDelivered(t, toEU, 5*time.Second)

	c.Stop("eu-west")
	w.write(50, 20) // held in the outbox while eu-west is away
	waitUntil(t, 10*time.Second, "the link to notice the peer died", func() bool { return !toEU.Connected() })
	down := time.Now()
	dialsBefore := toEU.Stats().Dials
	time.Sleep(3 * time.Second) // let the link fail to redial a few times
	failed := toEU.Stats().Dials - dialsBefore
	if failed == 0 {
		t.Fatal("no redial attempts while the peer was down")
	}
	if err := c.Start("eu-west"); err != nil {
		t.Fatal(err)
	}
	c.Endpoint("eu-west").Handle(kindEcho, echoHandler("eu-west"))
	waitDelivered(t, toEU, 15*time.Second)
	sameAsWriter(t, w, c.Store("eu-west"), "eu-west")
	if _, err := toEU.Call(context.Background(), kindEcho, nil, false); err != nil {
		t.Fatalf("call after restart: %v", err)
	}
	st := toEU.Stats()
	if st.Connects < 2 || st.DialErrors == 0 {
		t.Fatalf("stats %+v", st)
	}
	// Backoff keeps redials sparse: with 20 ms doubling to 500 ms and dials
	// that time out, a few seconds allow only a handful.
	if failed > 10 {
		t.Fatalf("%d dials in %v of downtime: no backoff", failed, time.Since(down))
	}
	t.Logf("reconnected after restart; %d dials while down, %d connects", failed, st.Connects)
}

func TestNoReplicaRefusesChangeStream(t *testing.T) {
	c := federationtest.NewCluster(t, federationtest.ClusterOptions{Seed: 8, Configure: func(region string, cfg *federation.Config) {
		if region == "eu-west" {
			cfg.Replica = nil
		}
	}})
	connected(t, c)
	c.Write("us-east", "k", "v")
	toEU := c.Link("us-east", "eu-west")
	waitUntil(t, 5*time.Second, "a refused change stream", func() bool { return toEU.Stats().StreamErrors > 0 })
	if toEU.Delivered() != 0 {
		t.Fatal("a change counted as delivered to a region without a replica")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := toEU.WaitDelivered(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitDelivered: %v", err)
	}
}
