package raftmeta

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/pki"
)

func TestClusterWritesThroughFollowerReachLeader(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	l := c.waitLeader(5 * time.Second)
	f := (l + 1) % 3
	// A client that knows only a follower: its writes are proxied.
	cl := c.client(pki.RoleAdmin, c.cfgs[f].HTTPAddr)
	ctx := ctxFor(t, 20*time.Second)
	lease, err := cl.Register(ctx, *spec("n1", "eu"))
	if err != nil {
		t.Fatal(err)
	}
	if lease.Leader != c.cfgs[l].ID || lease.State != StateUp || lease.Epoch != 1 || lease.Timeout != DefaultLeaseTimeout {
		t.Fatalf("lease %+v (leader is %s)", lease, c.cfgs[l].ID)
	}
	res, err := cl.SetKeyspace(ctx, "user", keyspace.Settings{TTL: time.Minute, Replicas: 2})
	if err != nil || res.KeyspaceVersion != 1 {
		t.Fatalf("set keyspace: %+v %v", res, err)
	}
	// Every member applies it; a follower's read says who answered.
	for _, m := range c.members {
		waitFor(t, 5*time.Second, "replication to "+m.ID(), func() bool {
			tp := m.Topology()
			return tp.Epoch == 1 && tp.KeyspaceVersion == 1
		})
	}
	st, err := cl.Status(ctx)
	if err != nil || st.Member != c.cfgs[f].ID || st.Leader != c.cfgs[l].ID || len(st.Members) != 3 || st.Epoch != 1 {
		t.Fatalf("status from follower: %+v %v", st, err)
	}
	for _, mi := range st.Members {
		if mi.HTTPAddress == "" || !mi.Voter {
			t.Fatalf("member without API address or vote: %+v", mi)
		}
	}
	if got := cl.Members(); len(got) != 3 {
		t.Fatalf("client learned members %v", got)
	}
	// Linearizable reads go to the leader.
	tp, err := cl.TopologyLinearizable(ctx)
	if err != nil || tp.Epoch != 1 || tp.Keyspaces.Spaces["user"].Replicas != 2 {
		t.Fatalf("linearizable read: %+v %v", tp, err)
	}
}

func TestClusterMembershipChange(t *testing.T) {
	c := newCluster(t, clusterOpts{insecure: true})
	cl := c.client(pki.RoleAdmin)
	ctx := ctxFor(t, 20*time.Second)
	victim := (c.waitLeader(5*time.Second) + 1) % 3
	if _, err := cl.RemoveMember(ctx, c.cfgs[victim].ID); err != nil {
		t.Fatal(err)
	}
	c.kill(victim)
	l := c.waitLeader(5 * time.Second)
	waitFor(t, 5*time.Second, "two voters", func() bool { return len(c.members[l].Status().Members) == 2 })
	if _, err := cl.RemoveMember(ctx, c.cfgs[victim].ID); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("removing a removed member: %v", err)
	}
	// Two voters still make progress.
	if _, err := cl.Register(ctx, *spec("n1", "eu")); err != nil {
		t.Fatal(err)
	}
}

func TestClusterRestartFromDisk(t *testing.T) {
	c := newCluster(t, clusterOpts{snapshot: 8})
	cl := c.client(pki.RoleAdmin)
	ctx := ctxFor(t, 30*time.Second)
	for _, id := range []string{"a", "b", "c", "d"} {
		if _, err := cl.Register(ctx, *spec(id, "eu")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.Drain(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 20; i++ {
		if _, err := cl.SetWeight(ctx, "a", i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.SetKeyspace(ctx, "user", keyspace.Settings{TTL: time.Minute, SoftTTL: 5 * time.Second, L1: keyspace.L1All}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.SetRebalance(ctx, Rebalance{ID: "r1", State: RebalancePaused, RangesTotal: 4, RangesDone: 1}); err != nil {
		t.Fatal(err)
	}
	l := c.waitLeader(5 * time.Second)
	want := c.members[l].Topology()
	for _, m := range c.members {
		waitFor(t, 5*time.Second, "replication", func() bool { return m.Topology().Position() == want.Position() })
	}
	waitFor(t, 5*time.Second, "a snapshot on disk", func() bool {
		for _, m := range c.members {
			if list, _ := snapshotsIn(m); len(list) == 0 {
				return false
			}
		}
		return true
	})
	c.closeAll()
	for i := range c.members {
		c.start(i)
	}
	l = c.waitLeader(10 * time.Second)
	for _, m := range c.members {
		waitFor(t, 5*time.Second, "restored state on "+m.ID(), func() bool { return reflect.DeepEqual(m.Topology(), want) })
	}
	rb, err := cl.Rebalance(ctx)
	if err != nil || rb == nil || rb.ID != "r1" || rb.RangesDone != 1 {
		t.Fatalf("rebalance record after restart: %+v %v", rb, err)
	}
	// The restarted group still takes writes.
	if _, err := cl.SetWeight(ctx, "a", 500); err != nil {
		t.Fatal(err)
	}
	_ = l
}

func snapshotsIn(m *Member) ([]os.DirEntry, error) {
	return os.ReadDir(filepath.Join(m.cfg.DataDir, "snapshots"))
}
