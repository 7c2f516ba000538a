package federation_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/federation/federationtest"
)

// TestServedCallsLeaveNoGoroutineBehind makes many calls over one link:
// each is a stream the peer serves on its own goroutine, which must end
// with the call, not stay parked until the connection closes (it did,
// and a demo's long-lived links held thousands of them).
func TestServedCallsLeaveNoGoroutineBehind(t *testing.T) {
	c := federationtest.NewCluster(t, federationtest.ClusterOptions{Seed: 1})
	regs := c.WAN.Profile().RegionNames()
	from, to := regs[0], regs[1]
	c.Endpoint(to).Handle(kindEcho, echoHandler(to))
	connected(t, c)
	l := c.Link(from, to)
	call := func() {
		if _, err := l.Call(context.Background(), kindEcho, []byte("hi"), false); err != nil {
			t.Error(err)
		}
	}
	for range 10 {
		call()
	}
	before := runtime.NumGoroutine()
	// 300 calls, 30 at a time: each waits a WAN round trip.
	const calls, parallel = 300, 30
	for range calls / parallel {
		var wg sync.WaitGroup
		for range parallel {
			wg.Go(call)
		}
		wg.Wait()
	}
	// The last streams' goroutines may still be on their way out.
	deadline := time.Now().Add(10 * time.Second)
	for {
		now := runtime.NumGoroutine()
		if now < before+calls/10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after %d calls, %d before: served streams left goroutines behind", now, calls, before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
