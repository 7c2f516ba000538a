package demo

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/internal/dashboard"
	"github.com/tiercache/tiercache/internal/origin"
)

// small is a demo light enough for a 2-core machine under -race.
func small() Options {
	return Options{
		Rows: 2000, Workers: 3, ThinkTime: time.Millisecond, OriginLatency: time.Millisecond,
		WritePct: 3, SessionPct: 5, TrendEvery: time.Second, TrendFor: 1500 * time.Millisecond,
		TrendExpiry: 500 * time.Millisecond,
	}
}

func startDemo(t *testing.T, o Options) *Demo {
	t.Helper()
	d, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	t.Logf("started in %v", d.Startup())
	return d
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWorkloadRunsInEveryRegion(t *testing.T) {
	d := startDemo(t, small())
	waitFor(t, "reads, sessions and a trending key in every region", 30*time.Second, func() bool {
		for _, a := range d.apps {
			if a.reads.Load() < 100 || a.rywChecks.Load() < 5 || a.writes.Load() < 5 {
				return false
			}
		}
		return d.expiries.Load() > 0
	})
	d.stopWorkload()
	rep := d.Report()
	if len(rep.Regions) != 3 || len(rep.Links) != 6 {
		t.Fatalf("report has %d regions and %d links, want 3 and 6", len(rep.Regions), len(rep.Links))
	}
	for _, r := range rep.Regions {
		if r.Reads == 0 || r.P50Ms <= 0 {
			t.Errorf("region %s: %+v", r.Name, r)
		}
	}
	if rep.OriginQueries == 0 || rep.OriginQueries >= rep.Reads {
		t.Errorf("%d origin queries for %d app reads: the cache saved nothing", rep.OriginQueries, rep.Reads)
	}
	if rep.RYWViolations != 0 {
		t.Errorf("%d read-your-writes violations in %d checks: %v", rep.RYWViolations, rep.RYWChecks, rep.RYWViolationExamples)
	}
	if rep.StaleOver1s != 0 {
		t.Errorf("%d reads of rows superseded over a second before: staleness beyond the replication lag", rep.StaleOver1s)
	}
	if rep.RYWCrossRegion == 0 {
		t.Error("no read-your-writes check crossed regions")
	}
	if rep.TrendingKeys == 0 || rep.TrendOriginLoads == 0 {
		t.Errorf("trending key never loaded: %+v", rep)
	}
	if rep.HitRatioL1+rep.HitRatioL2+rep.HitRatioL3 <= 0 {
		t.Errorf("no cache hits: %+v", rep)
	}
	if rep.Errors > rep.Reads/100 {
		t.Errorf("%d errors in %d reads; last: %s", rep.Errors, rep.Reads, rep.LastError)
	}
	// The operator's expire-hot-key makes the next read load again.
	ctx := context.Background()
	const key = "user:expire-test"
	if _, err := d.db.Write(ctx, key, []byte("x")); err != nil {
		t.Fatal(err)
	}
	var loads int
	counting := tiercache.LoaderFunc(func(ctx context.Context, key string) ([]byte, error) {
		loads++
		return d.db.Load(ctx, key)
	})
	us := d.apps[0].client
	for range 2 {
		if _, err := us.Get(ctx, key, counting); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Act(ctx, dashboard.Action{Kind: dashboard.ActionExpireHotKey, Target: key}); err != nil {
		t.Fatal(err)
	}
	if _, err := us.Get(ctx, key, counting); err != nil || loads != 2 {
		t.Fatalf("%d loads for read, read, expire, read (%v); want 2", loads, err)
	}
	// The expiry and the trends are on the event list, so a watcher sees
	// when origin load should have spiked.
	for _, want := range []string{"expired hot key " + key + " in every region", "key trend:0 starts trending"} {
		if !hasEvent(d.Snapshot(), want) {
			t.Errorf("no event %q in %+v", want, d.Snapshot().Events)
		}
	}
	// A key read often enough is flagged by its L2 node's detector and
	// listed for its region at the rate the detector estimates.
	const hot = "user:hot-test"
	if _, err := d.db.Write(ctx, hot, []byte("x")); err != nil {
		t.Fatal(err)
	}
	var shown dashboard.HotKey
	waitFor(t, "the L2 detector to flag a key read in a loop", 30*time.Second, func() bool {
		for range 25 {
			if _, err := us.Get(ctx, hot, d.apps[0].loader); err != nil {
				t.Fatal(err)
			}
		}
		for _, h := range d.Snapshot().HotKeys {
			if h.Key == hot {
				shown = h
				return true
			}
		}
		return false
	})
	if shown.Region != d.apps[0].region.Name || shown.Rate < 50 {
		t.Errorf("hot key shown as %+v; want region %s, at least the detector's floor of 50 reads/s", shown, d.apps[0].region.Name)
	}
	line := d.Line()
	for _, want := range []string{"reads/s", "hit L1", "origin q/s", "use ", "lag p99 ms", "ryw viol", "epoch"} {
		if !strings.Contains(line, want) {
			t.Errorf("live line lacks %q: %s", want, line)
		}
	}
}

func TestKilledNodeIsFailedOverAndRestarts(t *testing.T) {
	d := startDemo(t, small())
	us := d.apps[0]
	victim := us.region.NodeIDs()[0]
	node := func() dashboard.NodeState {
		for _, n := range d.Snapshot().Regions[0].Nodes {
			if n.ID == victim {
				return n
			}
		}
		t.Fatalf("%s not in the snapshot", victim)
		return dashboard.NodeState{}
	}
	waitFor(t, "the app's breaker toward the node closed", 20*time.Second, func() bool { return node().Breaker == "closed" })
	if err := d.Act(context.Background(), dashboard.Action{Kind: dashboard.ActionKillNode, Target: victim}); err != nil {
		t.Fatal(err)
	}
	if node().Running {
		t.Fatal("killed node shown running")
	}
	// Reads of the region's keys (a third of them the victim's) trip the
	// app's breaker before the topology drops the node; the snapshot shows
	// it open until the client stops routing to the node.
	ctx := context.Background()
	func() {
		readCtx, stopReads := context.WithCancel(ctx)
		readsDone := make(chan struct{})
		go func() {
			defer close(readsDone)
			for k := 0; readCtx.Err() == nil; k++ {
				_, _ = us.client.Get(readCtx, d.db.Key(k%d.opts.Rows), us.loader)
			}
		}()
		defer func() { stopReads(); <-readsDone }()
		waitFor(t, "the app's breaker toward the killed node to open", 20*time.Second, func() bool {
			n := node()
			if n.State == "down" && n.Breaker == "" {
				t.Fatal("the node went down before its breaker was seen open")
			}
			return n.Breaker == "open"
		})
	}()
	waitFor(t, "the topology to mark the node down", 20*time.Second, func() bool { return node().State == "down" })
	waitFor(t, "no breaker shown once the app stops routing to the node", 20*time.Second, func() bool { return node().Breaker == "" })
	// Once the app client follows the new epoch, reads succeed again:
	// wait for a run of 200 reads in the region with no error.
	reads, errs := us.reads.Load(), us.errs.Load()
	waitFor(t, "200 reads in a row without an error after failover", 30*time.Second, func() bool {
		if e := us.errs.Load(); e != errs {
			reads, errs = us.reads.Load(), e
		}
		return us.reads.Load() >= reads+200
	})
	if err := d.Act(context.Background(), dashboard.Action{Kind: dashboard.ActionRestartNode, Target: victim}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the restarted node up", 20*time.Second, func() bool { n := node(); return n.Running && n.State == "up" })
	waitFor(t, "a closed breaker toward the restarted node", 20*time.Second, func() bool { return node().Breaker == "closed" })
	if !hasEvent(d.Snapshot(), "node "+victim+" killed") {
		t.Errorf("no kill event in %+v", d.Snapshot().Events)
	}
	if err := d.Act(context.Background(), dashboard.Action{Kind: dashboard.ActionKillNode, Target: "nope"}); err == nil {
		t.Fatal("killing an unknown node succeeded")
	}
}

func TestPartitionThenHealConverges(t *testing.T) {
	d := startDemo(t, small())
	ctx := context.Background()
	us, eu := d.apps[0], d.apps[1]
	const key = "user:partition-test"
	ver, err := d.db.Write(ctx, key, []byte("before"))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := eu.client.Get(ctx, key, eu.loader); err != nil || !atVersion(v, ver) {
		t.Fatalf("eu-west read %q, %v", v, err)
	}
	if err := d.Act(ctx, dashboard.Action{Kind: dashboard.ActionPartitionRegion, Target: eu.region.Name}); err != nil {
		t.Fatal(err)
	}
	if !d.Snapshot().Regions[1].Partitioned {
		t.Fatal("snapshot does not show the partition")
	}
	waitFor(t, "eu-west's links to drop", 20*time.Second, func() bool {
		for _, l := range d.Snapshot().Links {
			if (l.From == eu.region.Name || l.To == eu.region.Name) && l.Connected {
				return false
			}
		}
		return true
	})
	ver, err = d.db.Write(ctx, key, []byte("during"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := us.client.Set(ctx, key, origin.Encode(key, ver, []byte("during"))); err != nil {
		t.Fatal(err)
	}
	if err := d.Act(ctx, dashboard.Action{Kind: dashboard.ActionHealRegion, Target: eu.region.Name}); err != nil {
		t.Fatal(err)
	}
	noOrigin := tiercache.LoaderFunc(func(context.Context, string) ([]byte, error) {
		return nil, errors.New("converged reads must not need the origin")
	})
	waitFor(t, "eu-west to receive the write made while cut off", 30*time.Second, func() bool {
		v, err := eu.client.Get(ctx, key, noOrigin)
		return err == nil && atVersion(v, ver)
	})
	if d.Snapshot().Regions[1].Partitioned {
		t.Fatal("snapshot still shows the partition")
	}
	// Close removes the demo's folder (origin and Raft data).
	dir := d.Dir()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s left behind: %v", dir, err)
	}
}

func hasEvent(s dashboard.Snapshot, text string) bool {
	for _, e := range s.Events {
		if strings.Contains(e.Text, text) {
			return true
		}
	}
	return false
}

func atVersion(v []byte, want uint64) bool {
	got, ok := origin.VersionOf(v)
	return ok && got == want
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{{Rows: -1}, {ZipfS: 0.5}, {WritePct: 101}, {WritePct: 60, SessionPct: 50}, {TTL: -time.Second}, {Profile: "no-such-profile"}} {
		if _, err := Start(o); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%+v: %v, want ErrInvalidOptions", o, err)
		}
	}
}
