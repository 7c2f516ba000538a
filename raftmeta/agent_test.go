package raftmeta

import (
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/pki"
)

// agentWait is one wait the agent asked its timer for; the test fires it.
type agentWait struct {
	d    time.Duration
	fire chan time.Time
}

// TestAgentRenewsAtAThirdOfTheAnnouncedLease steps the agent's timer and
// the leader's fake clock together. From its very first renewal the agent
// must wait a third of the lease the leader announced at registration, not
// a third of DefaultLeaseTimeout: with a lease shorter than that default
// (here 600ms against a 1s wait), the first renewal would come after the
// lease lapsed and a live node would be marked down. (With a 1s lease the
// first renewal lands just after the lapse: a rare false positive, and in
// the failover bench a node killed in its first second was marked down
// one lease after its registration, not after its kill.)
func TestAgentRenewsAtAThirdOfTheAnnouncedLease(t *testing.T) {
	const lease = 600 * time.Millisecond
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	c := newCluster(t, clusterOpts{n: 1, insecure: true, lease: lease, upAfter: time.Hour, clock: fake, check: 20 * time.Millisecond})
	m := c.members[0]
	waits := make(chan agentWait, 64)
	after := func(d time.Duration) <-chan time.Time {
		w := agentWait{d: d, fire: make(chan time.Time, 1)}
		waits <- w
		return w.fire
	}
	a, err := startAgent(AgentConfig{Client: c.client(pki.RoleNode), Node: *spec("n1", "eu"), Logger: testLogger(t, "agent")}, after)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := ctxFor(t, 20*time.Second)
	if err := a.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	if got := a.Lease().Timeout; got != lease {
		t.Fatalf("registration announced a %v lease, want %v", got, lease)
	}
	for i := 1; i <= 6; i++ {
		var w agentWait
		select {
		case w = <-waits:
		case <-ctx.Done():
			t.Fatalf("the agent never waited for renewal %d", i)
		}
		if w.d != lease/3 {
			t.Errorf("before renewal %d the agent waits %v, want a third of the announced lease (%v)", i, w.d, lease/3)
		}
		// The wait passes on the leader's clock too, and the manager looks
		// before the renewal arrives.
		fake.Advance(w.d)
		settle(t, m)
		if s := nodeState(m, "n1"); s != StateUp {
			t.Fatalf("live n1 marked %s before renewal %d (its agent waited %v on a %v lease)", s, i, w.d, lease)
		}
		w.fire <- time.Time{}
	}
	// The sixth wait's reply came back: the last renewal was recorded.
	select {
	case <-waits:
	case <-ctx.Done():
		t.Fatal("the agent stopped after its sixth renewal")
	}
	if last, _ := m.leases.lastRenewal("n1"); !last.Equal(fake.Now()) {
		t.Fatalf("last renewal at %v, want %v (the fake now)", last, fake.Now())
	}
}
