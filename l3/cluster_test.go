package l3_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/l2/store"
	"github.com/tiercache/tiercache/l3"
)

func TestGlobalRingAgreedByAllRegions(t *testing.T) {
	w := newWorld(t, 1)
	owned := map[string]int{}
	for i := range 3000 {
		k := []byte(fmt.Sprint("user:", i))
		first, _ := w.clients[w.names[0]].Owner(k)
		for _, name := range w.names[1:] {
			if m, _ := w.clients[name].Owner(k); m != first {
				t.Fatalf("key %s: %s says %v, %s says %v", k, w.names[0], first, name, m)
			}
		}
		owned[first.Region]++
		// Each node agrees on whether it owns the key.
		for _, name := range w.names {
			if w.nodes[name].Owns(k) != (first.Region == name) {
				t.Fatalf("key %s: node in %s disagrees on ownership", k, name)
			}
		}
	}
	for _, name := range w.names {
		if owned[name] < 800 {
			t.Fatalf("ownership %v: %s owns too little of the ring", owned, name)
		}
	}
}

func TestMissFetchedFromRemoteOwner(t *testing.T) {
	w := newWorld(t, 2)
	key := w.keyOwnedBy("eu-west", "user", 0)
	us, ap := w.clients["us-east"], w.clients["ap-south"]
	ctx := ctxTimeout(t, 10*time.Second)

	// An L2 miss in us-east: the eu-west owner grants the global lease.
	rep, err := us.Get(ctx, l3.GetRequest{Key: key, Mode: l3.ModeLease})
	if err != nil || rep.Status != l3.StatusLease {
		t.Fatalf("first miss: %+v %v", rep, err)
	}
	version := w.clocks["us-east"].Now()
	expire := time.Now().Add(time.Minute).UnixMilli()
	fill, err := us.Fill(ctx, l3.FillRequest{Key: key, Token: rep.Token, Item: store.Item{Value: []byte("alice"), Version: version, ExpireAt: expire}})
	if err != nil || fill != (l3.WriteReply{Status: l3.StatusOK, Version: version}) {
		t.Fatalf("fill: %+v %v", fill, err)
	}

	// A miss in ap-south finds it at the owner.
	got, err := ap.Get(ctx, l3.GetRequest{Key: key, Mode: l3.ModeLease})
	if err != nil || got.Status != l3.StatusHit || string(got.Item.Value) != "alice" || got.Item.Version != version {
		t.Fatalf("remote hit: %+v %v", got, err)
	}
	// The lifetime travels relative, so it survives the trip within the
	// time the trip took.
	if d := got.Item.ExpireAt - expire; d < -50 || d > 1000 {
		t.Fatalf("expiry moved by %d ms over the WAN", d)
	}
	if st := w.nodes["eu-west"].Stats(); st.LeasesGranted != 1 || st.Fills != 1 || st.Hits != 1 {
		t.Fatalf("owner stats %+v", st)
	}
	if st := ap.Stats(); st.RemoteCalls != 1 || st.LocalCalls != 0 {
		t.Fatalf("ap-south client %+v", st)
	}
	// The owner's own region calls it directly.
	eu := w.clients["eu-west"]
	if got, err := eu.Get(ctx, l3.GetRequest{Key: key}); err != nil || got.Status != l3.StatusHit {
		t.Fatalf("local hit: %+v %v", got, err)
	}
	if st := eu.Stats(); st.LocalCalls != 1 || st.RemoteCalls != 0 {
		t.Fatalf("eu-west client %+v", st)
	}
	// Invalidation over the link.
	inv, err := ap.Invalidate(ctx, key, w.clocks["ap-south"].Now())
	if err != nil || inv.Status != l3.StatusOK {
		t.Fatalf("invalidate: %+v %v", inv, err)
	}
	if got, _ := us.Get(ctx, l3.GetRequest{Key: key}); got.Status != l3.StatusMiss {
		t.Fatalf("after invalidation: %+v", got)
	}
}

func TestRemoteErrorsKeepTheirMeaning(t *testing.T) {
	w := newWorld(t, 3)
	ctx := ctxTimeout(t, 10*time.Second)
	key := w.keyOwnedBy("ap-south", "k", 0)
	_, err := w.clients["us-east"].Get(ctx, l3.GetRequest{Key: bytes.Repeat([]byte("x"), 2000)})
	if !errors.Is(err, l3.ErrBadRequest) {
		t.Fatalf("over-long key across the WAN: %v", err)
	}
	// A region whose handlers do not host the node the ring names.
	l3.Serve(w.cluster.Endpoint("ap-south"))
	if _, err := w.clients["us-east"].Get(ctx, l3.GetRequest{Key: key}); !errors.Is(err, l3.ErrUnknownNode) {
		t.Fatalf("node not hosted: %v", err)
	}
}

func TestGlobalLeaseOneHolderAcrossRegions(t *testing.T) {
	w := newWorld(t, 4)
	key := w.keyOwnedBy("ap-south", "hot", 0)
	const perRegion = 8
	total := perRegion * len(w.names)
	var (
		loads, leases, waits atomic.Int64
		firstReplies         sync.WaitGroup
		wg                   sync.WaitGroup
		start                = make(chan struct{})
		errs                 = make(chan error, total)
	)
	firstReplies.Add(total)
	for _, name := range w.names {
		c := w.clients[name]
		for range perRegion {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- missAndLoad(c, w, name, key, start, &firstReplies, &loads, &leases, &waits)
			}()
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if loads.Load() != 1 || leases.Load() != 1 || waits.Load() < int64(total-1) {
		t.Fatalf("%d missers in %d regions: %d origin loads, %d leases, %d waits; want 1 load, 1 lease, ≥ %d waits",
			total, len(w.names), loads.Load(), leases.Load(), waits.Load(), total-1)
	}
	if st := w.nodes["ap-south"].Stats(); st.LeasesGranted != 1 || st.Fills != 1 {
		t.Fatalf("owner stats %+v", st)
	}
}

// missAndLoad is one reader of an L2 that missed: it asks the L3 owner,
// loads from the origin if it holds the lease (after every other reader
// got its first answer, so all of them meet the lease), and otherwise polls
// until the value arrives.
func missAndLoad(c *l3.Client, w *world, region string, key []byte, start <-chan struct{}, first *sync.WaitGroup, loads, leases, waits *atomic.Int64) error {
	<-start
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	firstDone := false
	for {
		rep, err := c.Get(ctx, l3.GetRequest{Key: key, Mode: l3.ModeLease})
		if err != nil {
			return fmt.Errorf("%s: %w", region, err)
		}
		if !firstDone {
			firstDone = true
			first.Done()
		}
		switch rep.Status {
		case l3.StatusHit:
			if string(rep.Item.Value) != "loaded once" {
				return fmt.Errorf("%s: got %q", region, rep.Item.Value)
			}
			return nil
		case l3.StatusWait:
			waits.Add(1)
			time.Sleep(time.Duration(max(rep.WaitMs, 1)) * time.Millisecond)
		case l3.StatusLease:
			leases.Add(1)
			first.Wait()
			loads.Add(1)
			fill, err := c.Fill(ctx, l3.FillRequest{Key: key, Token: rep.Token, Item: store.Item{Value: []byte("loaded once"), Version: w.clocks[region].Now()}})
			if err != nil || fill.Status != l3.StatusOK {
				return fmt.Errorf("%s: fill %+v %v", region, fill, err)
			}
		default:
			return fmt.Errorf("%s: unexpected %v", region, rep.Status)
		}
	}
}

func TestStaleFillFromLaggingRegionRejected(t *testing.T) {
	w := newWorld(t, 5)
	ctx := ctxTimeout(t, 10*time.Second)
	key := w.keyOwnedBy("eu-west", "order", 0)
	ap, us := w.clients["ap-south"], w.clients["us-east"]

	// ap-south misses and takes the lease; its load will read a lagging
	// database replica.
	lease, err := ap.Get(ctx, l3.GetRequest{Key: key, Mode: l3.ModeLease})
	if err != nil || lease.Status != l3.StatusLease {
		t.Fatalf("lease: %+v %v", lease, err)
	}
	stale := w.clocks["ap-south"].Now()
	// Meanwhile us-east commits and invalidates; the change stream takes
	// it to the owner. (The commit follows the lagging read, so its
	// version is newer: the HLC receive rule makes that so.)
	w.clocks["us-east"].Observe(stale)
	inv := federation.Change{Key: key, Version: w.clocks["us-east"].Now(), Delete: true}
	if err := us.Publish(inv); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the invalidation at the owner", func() bool {
		return w.nodes["eu-west"].Stats().LeasesDropped == 1
	})

	fill := l3.FillRequest{Key: key, Token: lease.Token, Item: store.Item{Value: []byte("lagging row"), Version: stale}}
	if rep, err := ap.Fill(ctx, fill); err != nil || rep.Status != l3.StatusNoLease {
		t.Fatalf("fill under a lease granted before the invalidation: %+v %v", rep, err)
	}
	// Even under a fresh lease, the older version stays out.
	lease, err = ap.Get(ctx, l3.GetRequest{Key: key, Mode: l3.ModeLease})
	if err != nil || lease.Status != l3.StatusLease {
		t.Fatalf("second lease: %+v %v", lease, err)
	}
	fill.Token = lease.Token
	if rep, err := ap.Fill(ctx, fill); err != nil || rep != (l3.WriteReply{Status: l3.StatusOlder, Version: inv.Version}) {
		t.Fatalf("older fill: %+v %v, want OLDER %d", rep, err, inv.Version)
	}
	if rep, _ := us.Get(ctx, l3.GetRequest{Key: key}); rep.Status != l3.StatusMiss {
		t.Fatalf("the stale row got in: %+v", rep)
	}
}

func TestPartitionThenHealConverges(t *testing.T) {
	w := newWorld(t, 6)
	us, eu := w.clients["us-east"], w.clients["eu-west"]
	if err := w.cluster.WAN.Partition("us-east", "eu-west"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the partition to take the links down", func() bool {
		return !w.cluster.Link("us-east", "eu-west").Connected() && !w.cluster.Link("eu-west", "us-east").Connected()
	})

	// Writes on both sides of the cut, for keys owned across it and by
	// the third region.
	type write struct {
		owner string
		ch    federation.Change
	}
	var writes []write
	publish := func(c *l3.Client, from, owner, prefix string, n int) {
		for i := range n {
			ch := federation.Change{Key: w.keyOwnedBy(owner, prefix, i), Value: fmt.Appendf(nil, "%s-%d", from, i), Version: w.clocks[from].Now()}
			if err := c.Publish(ch); err != nil {
				t.Fatal(err)
			}
			writes = append(writes, write{owner, ch})
		}
	}
	publish(us, "us-east", "eu-west", "cart", 20)
	publish(us, "us-east", "ap-south", "cart", 10)
	publish(eu, "eu-west", "us-east", "profile", 20)
	publish(us, "us-east", "us-east", "session", 5) // local owner: applied directly

	holds := func(wr write) bool {
		rep, err := w.nodes[wr.owner].Get(l3.GetRequest{Key: wr.ch.Key})
		return err == nil && rep.Status == l3.StatusHit && rep.Item.Version == wr.ch.Version && bytes.Equal(rep.Item.Value, wr.ch.Value)
	}
	waitFor(t, 10*time.Second, "the writes not crossing the cut", func() bool {
		for _, wr := range writes {
			across := (wr.owner == "eu-west" && bytes.HasPrefix(wr.ch.Key, []byte("cart"))) ||
				(wr.owner == "us-east" && bytes.HasPrefix(wr.ch.Key, []byte("profile")))
			if !across && !holds(wr) {
				return false
			}
		}
		return true
	})
	for _, wr := range writes[:20] {
		if holds(wr) {
			t.Fatalf("%s reached eu-west through the partition", wr.ch.Key)
		}
	}
	// A read across the cut fails within its deadline, not later.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err := us.Get(ctx, l3.GetRequest{Key: writes[0].ch.Key})
	cancel()
	if !errors.Is(err, federation.ErrLinkDown) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read across the partition: %v", err)
	}

	if err := w.cluster.WAN.Heal("us-east", "eu-west"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "every owner to hold every write after the heal", func() bool {
		for _, wr := range writes {
			if !holds(wr) {
				return false
			}
		}
		return true
	})
	rep, err := us.Get(ctxTimeout(t, 5*time.Second), l3.GetRequest{Key: writes[0].ch.Key})
	if err != nil || rep.Status != l3.StatusHit || rep.Item.Version != writes[0].ch.Version {
		t.Fatalf("read across the healed link: %+v %v", rep, err)
	}
}
