package l3_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tiercache/tiercache/l2/store"
	"github.com/tiercache/tiercache/l3"
)

// BenchmarkGetCrossRegion measures an L2 miss answered by the key's L3
// owner, from us-east to an owner in each region of the default profile,
// against the simulated round trip: with one connection per link and a
// stream per call a remote hit should cost about one RTT.
//
//	go test -run '^$' -bench GetCrossRegion -benchtime 50x ./l3
func BenchmarkGetCrossRegion(b *testing.B) {
	w := newWorld(b, 21)
	from := "us-east"
	c := w.clients[from]
	value := make([]byte, 512)
	for _, owner := range w.names {
		key := w.keyOwnedBy(owner, "bench", 0)
		if _, err := w.nodes[owner].Fill(l3.FillRequest{Key: key, Token: mustLease(b, w.nodes[owner], key), Item: store.Item{Value: value, Version: w.clocks[owner].Now()}}); err != nil {
			b.Fatal(err)
		}
		var rtt time.Duration
		if owner != from {
			link, _ := w.cluster.WAN.Profile().Link(from, owner)
			rtt = link.RTT
		}
		b.Run(fmt.Sprintf("%s→%s", from, owner), func(b *testing.B) {
			ctx := ctxTimeout(b, time.Minute)
			took := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				rep, err := c.Get(ctx, l3.GetRequest{Key: key, Mode: l3.ModeLease})
				if err != nil || rep.Status != l3.StatusHit {
					b.Fatalf("%+v %v", rep, err)
				}
				took = append(took, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(took)
			p50, p99 := took[len(took)/2], took[(len(took)*99+99)/100-1]
			b.ReportMetric(float64(rtt)/1e6, "rtt_ms")
			b.ReportMetric(float64(p50)/1e6, "p50_ms")
			b.ReportMetric(float64(p99)/1e6, "p99_ms")
			if rtt > 0 {
				b.ReportMetric(float64(p50)/float64(rtt), "p50_rtt_ratio")
			}
		})
	}
}

func mustLease(b *testing.B, n *l3.Node, key []byte) uint64 {
	rep, err := n.Get(l3.GetRequest{Key: key, Mode: l3.ModeLease})
	if err != nil || rep.Status != l3.StatusLease {
		b.Fatalf("lease: %+v %v", rep, err)
	}
	return rep.Token
}

// BenchmarkNodeGet is the owner's own cost of a hit and of a lease-refused
// miss, with no network.
//
//	go test -run '^$' -bench NodeGet ./l3
func BenchmarkNodeGet(b *testing.B) {
	n, err := l3.NewNode(l3.Config{ID: "n", Region: "r", Store: store.Config{MaxBytes: 64 << 20}})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	keys := make([][]byte, 1<<12)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "user:%d", i)
		if i%2 == 0 {
			_, _ = n.Fill(l3.FillRequest{Key: keys[i], Token: mustLease(b, n, keys[i]), Item: store.Item{Value: make([]byte, 100), Version: uint64(i + 1)}})
		} else {
			mustLease(b, n, keys[i]) // held: later missers wait
		}
	}
	for _, bc := range []struct {
		name string
		off  int
		want l3.Status
	}{{"hit", 0, l3.StatusHit}, {"wait", 1, l3.StatusWait}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					rep, _ := n.Get(l3.GetRequest{Key: keys[(i*2+bc.off)%len(keys)], Mode: l3.ModeLease})
					if rep.Status != bc.want {
						b.Errorf("status %v, want %v", rep.Status, bc.want)
						return
					}
					i++
				}
			})
		})
	}
}
