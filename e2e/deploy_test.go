// Package e2e runs the tiercache binary the way it is deployed: every
// raftmeta member and L2 node a separate process on loopback, TLS with
// role certificates on the control plane, and kills with SIGKILL.
package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/raftmeta"
)

const (
	// leaseTimeout is the members' --lease: short so a lapse is quick.
	leaseTimeout = time.Second
	// failoverMargin is added to the lease for the bounds of the
	// waits: a lapse needs the leader's next lease check, an epoch
	// commit, the watchers' long polls and the client's swap, on a
	// shared two-core machine. It bounds a hang; the times are logged.
	failoverMargin = 10 * time.Second
	// opDeadline is every cache call's context deadline.
	opDeadline = time.Second
	// lateSlack is how far past its deadline a call may return before it
	// counts as hung: the scheduler of a loaded machine, not a wait of
	// the client's own, which are a lease wait (2s) or an op timeout.
	lateSlack = 500 * time.Millisecond
	numKeys   = 200
)

// ops times every cache call against its deadline.
type ops struct {
	mu    sync.Mutex
	n     int
	late  int
	worst time.Duration
}

func (o *ops) do(f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), opDeadline)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	took := time.Since(start)
	o.mu.Lock()
	o.n++
	o.worst = max(o.worst, took)
	if took > opDeadline+lateSlack {
		o.late++
	}
	o.mu.Unlock()
	return err
}

func key(i int) string { return fmt.Sprintf("user:%03d", i) }

// readAll reads every key with no loader, so a value can only come from
// the cache, and returns how many did not read as want(i).
func readAll(o *ops, c *tiercache.Client, want func(int) string) (bad int, first error) {
	for i := range numKeys {
		err := o.do(func(ctx context.Context) error {
			v, err := c.Get(ctx, key(i), nil)
			if err == nil && string(v) != want(i) {
				err = fmt.Errorf("%s = %q, want %q", key(i), v, want(i))
			}
			return err
		})
		if err != nil {
			bad++
			if first == nil {
				first = err
			}
		}
	}
	return bad, first
}

var dbKeys = regexp.MustCompile(`db0:keys=(\d+)`)

// storedKeys is the number of keys node addr holds in its own store (INFO
// keyspace reports the node, not the region), asked through go-redis as
// any Redis tool would.
func storedKeys(addr string) (int, error) {
	rc := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	info, err := rc.Info(ctx, "keyspace").Result()
	if err != nil {
		return 0, err
	}
	m := dbKeys.FindStringSubmatch(info)
	if m == nil {
		return 0, nil // an empty node prints no db0 line, as Redis does
	}
	return strconv.Atoi(m[1])
}

// TestRegionDeployment runs one region as separate processes with TLS,
// writes through the tier client following the topology, SIGKILLs a node
// and shows failover to its replica and its rejoining, then SIGKILLs the
// Raft leader and shows the control plane carries on under a new one.
func TestRegionDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("deployment test: builds the binary and runs six processes")
	}
	began := time.Now()
	c := newCluster(t)

	// The control plane: m1 forms the group, m2 and m3 join it through
	// its API (over TLS, with their server certificates).
	c.startMember("m1", "--bootstrap")
	c.startMember("m2", "--join", c.api["m1"])
	c.startMember("m3", "--join", c.api["m1"])
	admin := c.client("ops")
	waitUntil(t, 20*time.Second, "three voting members with a leader", func() bool {
		st, err := statusOf(admin)
		if err != nil || st.Leader == "" {
			return false
		}
		voters := 0
		for _, m := range st.Members {
			if m.Voter {
				voters++
			}
		}
		return voters == 3
	})
	// Two copies of every key: the primary and the replica that takes
	// over its keys when the primary's lease lapses.
	if _, err := c.ctl("keyspace", "set", "default", "--replicas", "2"); err != nil {
		t.Fatal(err)
	}
	// Roles are enforced: the application's certificate reads the
	// topology but may not change it.
	if _, err := c.ctlRaw(t, append(append([]string{"--meta", strings.Join(c.apiAddrs(), ",")}, c.tlsArgs("app")...), "drain", "n1")...); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Fatalf("a client certificate drained a node: %v", err)
	}

	for _, id := range []string{"n1", "n2", "n3"} {
		c.startNode(id, "127.0.0.1:0")
	}
	upTook := waitUntil(t, 20*time.Second, "three nodes up in `ctl topology`", func() bool {
		top, err := c.topology()
		return err == nil && upIn(top) == 3
	})
	t.Logf("cluster up (3 members, 3 nodes, TLS) %v after the start; nodes up %v after starting", time.Since(began).Round(time.Millisecond), upTook.Round(time.Millisecond))

	// The application: a tier client following the topology through a
	// watcher that holds a client-role certificate. L1 is off so every
	// read reaches the nodes: the failover is theirs to show.
	w := raftmeta.NewWatcher(c.client("app"))
	t.Cleanup(func() { w.Close() })
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	top, err := w.Wait(wctx, func(tp *raftmeta.Topology) bool { return upIn(tp) == 3 })
	wcancel()
	if err != nil {
		t.Fatalf("watcher never saw three nodes up: %v", err)
	}
	app, err := tiercache.New(tiercache.Config{Nodes: tiercache.TopologyOf(top, region).Nodes, L1MaxBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	stopFollow := app.FollowTopology(w, region)
	t.Cleanup(stopFollow)

	o := &ops{}
	v1 := func(i int) string { return "v1-" + strconv.Itoa(i) }
	for i := range numKeys {
		if err := o.do(func(ctx context.Context) error {
			_, err := app.Set(ctx, key(i), []byte(v1(i)))
			return err
		}); err != nil {
			t.Fatalf("set %s: %v", key(i), err)
		}
	}
	// Replication is asynchronous: wait until the region holds two
	// copies of every key before taking a copy away.
	waitUntil(t, 10*time.Second, "every key on two nodes", func() bool {
		total := 0
		for _, id := range []string{"n1", "n2", "n3"} {
			n, err := storedKeys(c.nodeAt[id])
			if err != nil {
				return false
			}
			total += n
		}
		return total == 2*numKeys
	})
	victimKeys, err := storedKeys(c.nodeAt["n2"])
	if err != nil {
		t.Fatal(err)
	}
	if bad, err := readAll(o, app, v1); bad > 0 {
		t.Fatalf("%d keys unreadable before any failure: %v", bad, err)
	}

	// --- A node dies. ---
	before, err := c.topology()
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	c.nodes["n2"].kill(t)
	readable := waitUntil(t, leaseTimeout+failoverMargin, "every key readable from the cache after n2 died", func() bool {
		bad, _ := readAll(o, app, v1)
		return bad == 0
	})
	readableAt := time.Since(killed)
	var downEpoch uint64
	waitUntil(t, leaseTimeout+failoverMargin, "n2 down in a new epoch in `ctl topology`", func() bool {
		top, err := c.topology()
		if err != nil {
			return false
		}
		st, since := nodeState(top, "n2")
		downEpoch = since
		return st == raftmeta.StateDown && since > before.Epoch
	})
	t.Logf("n2 (holding %d of %d copies) SIGKILLed: every key readable again %v after the kill (the wait itself %v); `ctl topology` shows n2 down at epoch %d (was %d) %v after the kill",
		victimKeys, 2*numKeys, readableAt.Round(time.Millisecond), readable.Round(time.Millisecond), downEpoch, before.Epoch, time.Since(killed).Round(time.Millisecond))

	// With n2 down, writes and reads of every key succeed at once.
	v2 := func(i int) string { return "v2-" + strconv.Itoa(i) }
	for i := range numKeys {
		if err := o.do(func(ctx context.Context) error {
			_, err := app.Set(ctx, key(i), []byte(v2(i)))
			return err
		}); err != nil {
			t.Fatalf("set %s with n2 down: %v", key(i), err)
		}
	}
	if bad, err := readAll(o, app, v2); bad > 0 {
		t.Fatalf("%d keys unreadable after rewriting them with n2 down: %v", bad, err)
	}

	// --- The node comes back, empty, at its old address. ---
	restarted := time.Now()
	c.startNode("n2", c.nodeAt["n2"])
	var upEpoch uint64
	waitUntil(t, leaseTimeout+failoverMargin, "n2 up again in a new epoch", func() bool {
		top, err := c.topology()
		if err != nil {
			return false
		}
		st, since := nodeState(top, "n2")
		upEpoch = since
		return st == raftmeta.StateUp && since > downEpoch && upIn(top) == 3
	})
	rejoinedAt := time.Since(restarted)
	// Its ranges come back to it by migration, so the keys stay readable
	// (no cold start) and n2 holds keys again.
	waitUntil(t, failoverMargin, "every key readable, n2 holding keys, after the rejoin", func() bool {
		if bad, _ := readAll(o, app, v2); bad > 0 {
			return false
		}
		n, err := storedKeys(c.nodeAt["n2"])
		return err == nil && n > 0
	})
	n2Keys, _ := storedKeys(c.nodeAt["n2"])
	t.Logf("n2 restarted: up at epoch %d %v after the restart (lease %v, up-after = lease); every key readable and n2 holding %d keys %v after the restart",
		upEpoch, rejoinedAt.Round(time.Millisecond), leaseTimeout, n2Keys, time.Since(restarted).Round(time.Millisecond))

	// --- The Raft leader dies. ---
	st, err := statusOf(admin)
	if err != nil {
		t.Fatal(err)
	}
	oldLeader := st.Leader
	pre, err := c.topology()
	if err != nil {
		t.Fatal(err)
	}
	leaderKilled := time.Now()
	c.members[oldLeader].kill(t)
	var newLeader string
	waitUntil(t, failoverMargin, "a new Raft leader", func() bool {
		st, err := statusOf(admin)
		newLeader = st.Leader
		return err == nil && st.Leader != "" && st.Leader != oldLeader
	})
	electedAt := time.Since(leaderKilled)
	// Writable: an admin write commits through the new leader. A
	// linearizable read reflects it at once; `ctl topology` may be
	// answered by a follower that has not applied it yet (it reads the
	// answering member's state), so that one is waited for.
	if _, err := c.ctl("keyspace", "set", "session", "--ttl", "30s"); err != nil {
		t.Fatalf("keyspace write with %s dead: %v", oldLeader, err)
	}
	lctx, lcancel := context.WithTimeout(context.Background(), 5*time.Second)
	lin, err := admin.TopologyLinearizable(lctx)
	lcancel()
	if err != nil {
		t.Fatalf("linearizable topology read with %s dead: %v", oldLeader, err)
	}
	if _, ok := lin.Keyspaces.Spaces["session"]; !ok {
		t.Fatalf("acknowledged keyspace write missing from a linearizable read: %+v", lin.Keyspaces)
	}
	waitUntil(t, 5*time.Second, "`ctl topology` to show the keyspace write", func() bool {
		top, err := c.topology()
		if err != nil {
			return false
		}
		_, ok := top.Keyspaces.Spaces["session"]
		return ok
	})
	// The nodes renew their leases with the new leader: all three are
	// up (again, if the election outlasted a lease).
	var post *raftmeta.Topology
	waitUntil(t, leaseTimeout+failoverMargin, "three nodes up under the new leader", func() bool {
		post, err = c.topology()
		return err == nil && upIn(post) == 3
	})
	// Each epoch is a node state change: none means no lease lapsed
	// while the group had no leader.
	churn := post.Epoch - pre.Epoch
	// And the cache serves through it all.
	if err := o.do(func(ctx context.Context) error {
		_, err := app.Set(ctx, "user:after-leader", []byte("ok"))
		return err
	}); err != nil {
		t.Fatalf("set after the leader died: %v", err)
	}
	if bad, err := readAll(o, app, v2); bad > 0 {
		t.Fatalf("%d keys unreadable after the leader died: %v", bad, err)
	}
	t.Logf("leader %s SIGKILLed: %s leads %v after the kill; admin write and topology read succeed; epoch moved %d while the leader changed; 3 nodes up %v after the kill",
		oldLeader, newLeader, electedAt.Round(time.Millisecond), churn, time.Since(leaderKilled).Round(time.Millisecond))

	o.mu.Lock()
	defer o.mu.Unlock()
	if o.late > 0 {
		t.Errorf("%d of %d cache calls returned more than %v past their %v deadline (worst %v)", o.late, o.n, lateSlack, opDeadline, o.worst)
	}
	t.Logf("%d cache calls, worst %v against a %v deadline; whole test %v", o.n, o.worst.Round(time.Millisecond), opDeadline, time.Since(began).Round(time.Millisecond))
}
