package raftmeta

import (
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/pki"
)

// TestAgentRetriesAFailedRenewalSoon: after a renewal fails the agent
// tries again after a quarter of its period, not a whole one. A renewal
// call may use up its whole period before it fails (a slow member on a
// busy machine); a full wait after it put the next renewal past the
// lease, and a live node was marked down (a flaky federated test under
// load).
func TestAgentRetriesAFailedRenewalSoon(t *testing.T) {
	const every = 200 * time.Millisecond
	c := newCluster(t, clusterOpts{n: 1, insecure: true})
	waits := make(chan agentWait, 64)
	after := func(d time.Duration) <-chan time.Time {
		w := agentWait{d: d, fire: make(chan time.Time, 1)}
		waits <- w
		return w.fire
	}
	a, err := startAgent(AgentConfig{Client: c.client(pki.RoleNode), Node: *spec("n1", "eu"), RenewEvery: every,
		Logger: testLogger(t, "agent")}, after)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := ctxFor(t, 20*time.Second)
	if err := a.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	next := func(what string) agentWait {
		t.Helper()
		select {
		case w := <-waits:
			return w
		case <-ctx.Done():
			t.Fatalf("the agent never waited %s", what)
			return agentWait{}
		}
	}
	w := next("after registering")
	if w.d != every {
		t.Fatalf("after registering the agent waits %v, want its period %v", w.d, every)
	}
	w.fire <- time.Time{}
	if w = next("after a renewal"); w.d != every {
		t.Fatalf("after a renewal the agent waits %v, want its period %v", w.d, every)
	}
	// The control plane goes away: every renewal from now on fails.
	c.members[0].Close()
	for i := 1; i <= 2; i++ {
		w.fire <- time.Time{}
		if w = next("after a failed renewal"); w.d != every/4 {
			t.Fatalf("after failed renewal %d the agent waits %v, want a quarter of its period (%v)", i, w.d, every/4)
		}
	}
}
