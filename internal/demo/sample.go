package demo

import (
	"context"
	"time"

	"github.com/tiercache/tiercache/internal/dashboard"
)

// A sample is every counter the demo shows, taken at one instant; the
// live line and the dashboard's latencies compare the last two, the
// report compares the last with the first.

type regionSample struct {
	reads, writes, errs      uint64
	l1Hits, nodeHits, l3Hits uint64 // nodeHits: fresh or stale answers of L2 nodes (L3-filled ones included)
	originLoads, trendLoads  uint64
	stale, staleLong         uint64
	rywChecks, rywFails      uint64
	crossChecks              uint64
	breakersOpen             int
	lat                      histogram
}

type sample struct {
	at                        time.Time
	regions                   []regionSample
	originReads, originWrites uint64
	primaryReads, replicaOld  uint64
	links                     []dashboard.LinkState
	trends, expiries          uint64
}

func (d *Demo) sampleLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.sample()
		}
	}
}

// sample takes one sample; calls are serialised by the demo's goroutines
// (Start, then sampleLoop, then stopWorkload after it ended).
func (d *Demo) sample() {
	s := sample{at: time.Now(), trends: d.trends.Load(), expiries: d.expiries.Load()}
	for _, a := range d.apps {
		st := a.client.Stats()
		s.regions = append(s.regions, regionSample{
			reads: a.reads.Load(), writes: a.writes.Load(), errs: a.errs.Load(),
			l1Hits: st.L1Hits + st.L1Stale, nodeHits: st.L2Hits + st.L2Stale, l3Hits: a.globalHits(),
			originLoads: a.originLoads.Load(), trendLoads: a.trendLoads.Load(),
			stale: a.stale.Load(), staleLong: a.staleLong.Load(), rywChecks: a.rywChecks.Load(), rywFails: a.rywFailed.Load(),
			crossChecks: a.crossChecks.Load(), breakersOpen: st.BreakersOpen, lat: a.lat.snapshot(),
		})
	}
	os := d.db.Stats()
	s.originReads, s.originWrites = os.Reads, os.Writes
	s.primaryReads, s.replicaOld = os.PrimaryReads, os.ReplicaStale
	for _, r := range d.dep.Regions() {
		for _, l := range r.Endpoint.Links() {
			ls := l.Stats()
			s.links = append(s.links, dashboard.LinkState{
				From: r.Name, To: ls.Region, Connected: ls.Connected, RTTMs: ms(ls.RTT),
				LagP50Ms: ms(ls.ReplicationLagP50), LagP99Ms: ms(ls.ReplicationLagP99),
				Backlog: ls.Enqueued - ls.Acked,
			})
		}
	}
	d.mu.Lock()
	if len(d.samples) == 0 {
		d.first = s
	}
	d.samples = append(d.samples, s)
	if len(d.samples) > 2 {
		d.samples = d.samples[len(d.samples)-2:]
	}
	d.mu.Unlock()
	select {
	case d.sampled <- struct{}{}:
	default:
	}
}

// interval returns the last sample and the one before it (the first
// sample twice until there are two).
func (d *Demo) interval() (prev, cur sample) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur = d.samples[len(d.samples)-1]
	prev = d.samples[0]
	return prev, cur
}

func ms(t time.Duration) float64 { return float64(t) / float64(time.Millisecond) }

// tiers splits reads into where they were answered: L1, an L2 node's own
// copy, the global tier (through the L2 owner), and the origin.
type tiers struct{ reads, l1, l2, l3, origin uint64 }

func (t tiers) ratios() (l1, l2, l3, origin float64) {
	if t.reads == 0 {
		return 0, 0, 0, 0
	}
	r := float64(t.reads)
	return float64(t.l1) / r, float64(t.l2) / r, float64(t.l3) / r, float64(t.origin) / r
}

func tiersOf(prev, cur []regionSample) tiers {
	var t tiers
	for i := range cur {
		c, p := cur[i], regionSample{}
		if i < len(prev) {
			p = prev[i]
		}
		t.reads += c.reads - p.reads
		t.l1 += c.l1Hits - p.l1Hits
		l3 := c.l3Hits - p.l3Hits
		node := c.nodeHits - p.nodeHits
		t.l3 += l3
		t.l2 += node - min(l3, node)
		t.origin += c.originLoads - p.originLoads
	}
	return t
}
