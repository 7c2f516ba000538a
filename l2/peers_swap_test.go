package l2

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestSetPeersWhileForwarding swaps a peer's address over and over while
// clients forward to it. A link that is dialling holds its own lock and
// then takes the node's (to start its reader); SetPeers once closed the
// replaced links while holding the node's lock, and the two deadlocked
// (seen in the demo when a killed node came back at a new address).
func TestSetPeersWhileForwarding(t *testing.T) {
	n1 := startNode(t, Config{ID: "n1", ActiveExpiry: -1})
	a := startNode(t, Config{ID: "n2", ActiveExpiry: -1})
	b := startNode(t, Config{ID: "n2", ActiveExpiry: -1})
	peersAt := func(addr string) []Peer { return []Peer{{ID: "n1", Addr: n1.Addr()}, {ID: "n2", Addr: addr}} }
	for _, n := range []*Node{n1, a, b} {
		if err := n.SetPeers(peersAt(a.Addr())); err != nil {
			t.Fatal(err)
		}
	}
	key := ownedBy(t, n1, "n2", "swap")

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		c := newClient(t, n1.Addr(), nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_ = c.Get(ctx, key).Err() // errors are expected while links are replaced
			}
		}()
	}
	swapped := make(chan struct{})
	go func() {
		defer close(swapped)
		for i := range 100 {
			addr := a.Addr()
			if i%2 == 1 {
				addr = b.Addr()
			}
			if err := n1.SetPeers(peersAt(addr)); err != nil {
				t.Errorf("SetPeers: %v", err)
				return
			}
		}
	}()
	select {
	case <-swapped:
	case <-time.After(60 * time.Second): // a deadline for a deadlock, not a speed target
		// Cleanup would hang on the deadlocked node: fail loudly now.
		panic("SetPeers did not return: deadlocked against a dialling link")
	}
	cancel()
	wg.Wait()
	if t.Failed() {
		return
	}
	c := newClient(t, n1.Addr(), nil)
	if err := c.Set(context.Background(), key, "v", 0).Err(); err != nil {
		t.Fatalf("forwarding after the swaps: %v", err)
	}
}
