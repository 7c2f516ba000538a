package federation_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tiercache/tiercache/federation/federationtest"
)

// BenchmarkCrossRegionCall measures a call's latency over each simulated
// link against the link's round trip: with a connection per link and a
// stream per call the ratio should stay near 1 (no handshake per call).
//
//	go test -run '^$' -bench CrossRegionCall -benchtime 100x ./federation
func BenchmarkCrossRegionCall(b *testing.B) {
	c := federationtest.NewCluster(b, federationtest.ClusterOptions{Seed: 11})
	for _, r := range c.WAN.Profile().RegionNames() {
		c.Endpoint(r).Handle(kindEcho, echoHandler(r))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}
	for _, link := range c.WAN.Profile().Links() {
		b.Run(link.A+"→"+link.B, func(b *testing.B) {
			l := c.Link(link.A, link.B)
			req := make([]byte, 256)
			took := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if _, err := l.Call(context.Background(), kindEcho, req, true); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(took)
			p50, p99 := took[len(took)/2], took[(len(took)*99+99)/100-1]
			b.ReportMetric(float64(link.RTT)/1e6, "rtt_ms")
			b.ReportMetric(float64(p50)/1e6, "p50_ms")
			b.ReportMetric(float64(p99)/1e6, "p99_ms")
			b.ReportMetric(float64(p50)/float64(link.RTT), "p50_rtt_ratio")
		})
	}
}

// BenchmarkChangeLag measures replication lag (enqueue in us-east to apply
// in the peer, from the peer's ack) at a steady write rate, against the
// link's one-way delay.
//
//	go test -run '^$' -bench ChangeLag -benchtime 2000x ./federation
func BenchmarkChangeLag(b *testing.B) {
	c := federationtest.NewCluster(b, federationtest.ClusterOptions{Seed: 12})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}
	const gap = 2 * time.Millisecond // 500 writes a second
	stalls := watchStalls()
	b.ResetTimer()
	next := time.Now()
	for i := 0; i < b.N; i++ {
		c.Write("us-east", fmt.Sprintf("user:%d", i%1000), "value-of-some-length-0123456789")
		next = next.Add(gap)
		time.Sleep(time.Until(next)) // pacing the load, not waiting for a result
	}
	b.StopTimer()
	b.ReportMetric(float64(stalls())/1e6, "sched_stall_max_ms")
	for _, to := range []string{"eu-west", "ap-south"} {
		l := c.Link("us-east", to)
		wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := l.WaitDelivered(wctx, l.Stats().Enqueued); err != nil {
			b.Fatal(err)
		}
		wcancel()
		st := l.Stats()
		link, _ := c.WAN.Profile().Link("us-east", to)
		b.ReportMetric(float64(link.OneWay())/1e6, to+"_oneway_ms")
		b.ReportMetric(float64(st.ReplicationLagP50)/1e6, to+"_lag_p50_ms")
		b.ReportMetric(float64(st.ReplicationLagP99)/1e6, to+"_lag_p99_ms")
		b.ReportMetric(float64(st.ReplicationLagP99-link.OneWay())/1e6, to+"_p99_over_oneway_ms")
	}
}

// watchStalls measures how late a 1 ms sleep wakes up, as a witness of
// CPU starvation on a shared machine: a replication lag tail no longer than
// the worst stall is the machine's, not the protocol's. The returned func
// stops the watcher and returns the worst lateness seen.
func watchStalls() func() time.Duration {
	stop := make(chan struct{})
	done := make(chan time.Duration)
	go func() {
		var worst time.Duration
		for {
			select {
			case <-stop:
				done <- worst
				return
			default:
			}
			start := time.Now()
			time.Sleep(time.Millisecond)
			worst = max(worst, time.Since(start)-time.Millisecond)
		}
	}()
	return func() time.Duration {
		close(stop)
		return <-done
	}
}
