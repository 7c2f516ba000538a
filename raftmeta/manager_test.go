package raftmeta

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/pki"
)

// settle waits until member m's manager has made two more passes, so any
// verdict due at the current (fake) time has been published.
func settle(t *testing.T, m *Member) {
	t.Helper()
	n := m.managerTicks.Load()
	waitFor(t, 5*time.Second, "manager passes", func() bool { return m.managerTicks.Load() >= n+2 })
}

func nodeState(m *Member, id string) NodeState {
	n, _ := m.Topology().Node(id)
	return n.State
}

func TestManagerDownOnLapseUpAfterSteadyRenewals(t *testing.T) {
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	c := newCluster(t, clusterOpts{n: 1, insecure: true, lease: 3 * time.Second, clock: fake, check: 20 * time.Millisecond})
	m := c.members[0]
	cl := c.client(pki.RoleNode)
	ctx := ctxFor(t, 20*time.Second)
	if _, err := cl.Register(ctx, *spec("n1", "eu")); err != nil {
		t.Fatal(err)
	}
	// Renewals just inside the lease keep the node up: no epoch moves.
	for i := 0; i < 3; i++ {
		fake.Advance(2900 * time.Millisecond)
		settle(t, m)
		if _, err := cl.Renew(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
	}
	settle(t, m)
	if tp := m.Topology(); tp.Epoch != 1 || nodeState(m, "n1") != StateUp {
		t.Fatalf("late but in-lease renewals changed the topology: epoch %d state %s", tp.Epoch, nodeState(m, "n1"))
	}
	// A lapsed lease publishes the node down in a new epoch.
	fake.Advance(3100 * time.Millisecond)
	waitFor(t, 5*time.Second, "n1 down", func() bool { return nodeState(m, "n1") == StateDown })
	if tp := m.Topology(); tp.Epoch != 2 {
		t.Fatalf("down published at epoch %d, want 2", tp.Epoch)
	}
	// Coming back, the node must renew steadily for UpAfter (3s) first.
	for i := 0; i < 3; i++ {
		if _, err := cl.Renew(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
		settle(t, m)
		if nodeState(m, "n1") != StateDown {
			t.Fatalf("up after %d renewals (%ds of steady renewing)", i+1, i)
		}
		fake.Advance(time.Second)
	}
	if _, err := cl.Renew(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "n1 up", func() bool { return nodeState(m, "n1") == StateUp })
	if n, _ := m.Topology().Node("n1"); n.StateEpoch != 3 || m.Topology().Epoch != 3 {
		t.Fatalf("back up: %+v at epoch %d", n, m.Topology().Epoch)
	}
}

func TestManagerNewLeaderGrantsGrace(t *testing.T) {
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	c := newCluster(t, clusterOpts{insecure: true, lease: 3 * time.Second, clock: fake, check: 20 * time.Millisecond})
	cl := c.client(pki.RoleNode)
	ctx := ctxFor(t, 20*time.Second)
	if _, err := cl.Register(ctx, *spec("n1", "eu")); err != nil {
		t.Fatal(err)
	}
	fake.Advance(2500 * time.Millisecond)
	old := c.waitLeader(5 * time.Second)
	settle(t, c.members[old])
	c.kill(old)
	l := c.waitLeader(10 * time.Second)
	// 4.5s since the last renewal, but only 2s since the new leader took
	// over: the node keeps its lease.
	fake.Advance(2 * time.Second)
	settle(t, c.members[l])
	if s := nodeState(c.members[l], "n1"); s != StateUp {
		t.Fatalf("new leader marked n1 %s inside its grace", s)
	}
	fake.Advance(1100 * time.Millisecond)
	waitFor(t, 5*time.Second, "n1 down after the grace", func() bool { return nodeState(c.members[l], "n1") == StateDown })
}

// recorder keeps every topology a watcher saw.
type recorder struct {
	mu   sync.Mutex
	seen []*Topology
}

func (r *recorder) record(_, cur *Topology) {
	r.mu.Lock()
	r.seen = append(r.seen, cur)
	r.mu.Unlock()
}

func (r *recorder) all() []*Topology {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Topology(nil), r.seen...)
}

func TestAgentKeepsNodeUpAcrossLeaderChange(t *testing.T) {
	c := newCluster(t, clusterOpts{insecure: true, lease: time.Second, upAfter: 600 * time.Millisecond})
	cl := c.client(pki.RoleNode)
	w := NewWatcher(c.client(pki.RoleClient))
	defer w.Close()
	var rec recorder
	w.OnChange(rec.record)

	a, err := StartAgent(AgentConfig{Client: cl, Node: *spec("n1", "eu"), Logger: testLogger(t, "agent")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 30*time.Second)
	if err := a.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	first := a.Lease().Leader
	old := c.waitLeader(5 * time.Second)
	c.kill(old)
	c.waitLeader(10 * time.Second)
	waitFor(t, 10*time.Second, "the agent to follow the new leader", func() bool {
		l := a.Lease()
		return l.Leader != "" && l.Leader != first
	})
	// Past a full lease after the new leader took over, the node is still
	// up. This asserts an absence over real time (the agent renews on the
	// wall clock), so it has to let that time pass.
	time.Sleep(1500 * time.Millisecond)
	for _, tp := range rec.all() {
		if n, ok := tp.Node("n1"); ok && n.State != StateUp {
			t.Fatalf("n1 was %s at epoch %d while its agent ran", n.State, tp.Epoch)
		}
	}
	// Stopping the agent lets the lease lapse; a new agent brings it back
	// in a later epoch.
	a.Close()
	down, err := w.Wait(ctx, func(tp *Topology) bool { n, _ := tp.Node("n1"); return n.State == StateDown })
	if err != nil {
		t.Fatal(err)
	}
	b, err := StartAgent(AgentConfig{Client: cl, Node: *spec("n1", "eu")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	back, err := w.Wait(ctx, func(tp *Topology) bool { n, _ := tp.Node("n1"); return n.State == StateUp })
	if err != nil {
		t.Fatal(err)
	}
	if back.Epoch <= down.Epoch {
		t.Fatalf("came back at epoch %d, down at %d", back.Epoch, down.Epoch)
	}
}

func TestWatcherFailsOverAndCallsInOrder(t *testing.T) {
	c := newCluster(t, clusterOpts{insecure: true})
	admin := c.client(pki.RoleAdmin)
	w := NewWatcher(c.client(pki.RoleClient, c.cfgs[0].HTTPAddr))
	defer w.Close()
	var rec recorder
	w.OnChange(rec.record)
	ctx := ctxFor(t, 30*time.Second)
	if _, err := w.Wait(ctx, func(*Topology) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Register(ctx, *spec("n1", "eu")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Wait(ctx, func(tp *Topology) bool { return tp.Epoch >= 1 }); err != nil {
		t.Fatal(err)
	}
	// The member the watcher started from dies; it learned the others.
	c.kill(0)
	c.waitLeader(10 * time.Second)
	res, err := admin.SetWeight(ctx, "n1", 42)
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.Wait(ctx, func(tp *Topology) bool { return tp.Epoch >= res.Epoch })
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := got.Node("n1"); n.Weight != 42 || w.Current() != got {
		t.Fatalf("watcher holds %+v", got)
	}
	seen := rec.all()
	for i := 1; i < len(seen); i++ {
		if !seen[i].Position().After(seen[i-1].Position()) {
			t.Fatalf("callbacks out of order: %+v then %+v", seen[i-1].Position(), seen[i].Position())
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := w.Wait(wctx, func(*Topology) bool { return false }); err != context.DeadlineExceeded {
		t.Fatalf("wait for the impossible: %v", err)
	}
}
