package dashboard_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tiercache/tiercache/internal/dashboard"
)

// liveSource is a fake federation for the browser test: three regions
// whose counters grow a little differently each snapshot, on the wall
// clock, and operator actions that change what later snapshots show.
type liveSource struct {
	mu      sync.Mutex
	n       uint64 // snapshots taken
	regions []dashboard.RegionState
	events  []dashboard.Event
	acts    []dashboard.Action
}

func newLiveSource() *liveSource {
	s := &liveSource{}
	for _, name := range []string{"eu", "us", "ap"} {
		r := dashboard.RegionState{Name: name}
		for i := 1; i <= 3; i++ {
			r.Nodes = append(r.Nodes, dashboard.NodeState{ID: fmt.Sprintf("%s-l2-%d", name, i), Tier: "l2",
				Addr: fmt.Sprintf("127.0.0.1:%d", 7000+i), State: "up", Running: true, Keys: 1000, Breaker: "closed"})
		}
		r.Nodes = append(r.Nodes, dashboard.NodeState{ID: name + "-l3-1", Tier: "l3", State: "up", Running: true, Keys: 5000})
		s.regions = append(s.regions, r)
	}
	return s
}

func (s *liveSource) Snapshot() dashboard.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	snap := dashboard.Snapshot{TimeMs: time.Now().UnixMilli(), Epoch: 3, Leader: "meta-1"}
	for i := range s.regions {
		r := &s.regions[i]
		req := 400 + 37*((s.n+uint64(i))%7) // varies, so the rates move
		r.Requests += req
		r.L1Hits += req * 6 / 10
		r.L2Hits += req * 3 / 10
		r.L3Hits += req / 20
		r.OriginLoads += req / 20
		r.P50Ms = 0.4 + float64(i)/10
		r.P99Ms = 3 + float64((s.n+uint64(i))%5)
		for j := range r.Nodes {
			if r.Nodes[j].Running {
				r.Nodes[j].Keys += 3
			}
		}
		c := *r
		c.Nodes = append([]dashboard.NodeState(nil), r.Nodes...)
		snap.Regions = append(snap.Regions, c)
	}
	for _, a := range s.regions {
		for _, b := range s.regions {
			if a.Name != b.Name {
				cut := a.Partitioned || b.Partitioned
				snap.Links = append(snap.Links, dashboard.LinkState{From: a.Name, To: b.Name, Connected: !cut,
					RTTMs: 70, LagP50Ms: 36, LagP99Ms: 40 + float64(s.n%9)})
			}
		}
	}
	snap.HotKeys = []dashboard.HotKey{{Key: "item:42", Region: "eu", Rate: 900 + float64(s.n%50)}}
	snap.Events = append([]dashboard.Event(nil), s.events...)
	return snap
}

func (s *liveSource) Act(_ context.Context, a dashboard.Action) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acts = append(s.acts, a)
	event := func(text string) {
		s.events = append(s.events, dashboard.Event{TimeMs: time.Now().UnixMilli(), Text: text})
	}
	for i := range s.regions {
		r := &s.regions[i]
		switch a.Kind {
		case dashboard.ActionPartitionRegion, dashboard.ActionHealRegion:
			if r.Name == a.Target {
				r.Partitioned = a.Kind == dashboard.ActionPartitionRegion
				event(a.Kind + " " + a.Target)
				return nil
			}
		case dashboard.ActionKillNode, dashboard.ActionRestartNode:
			for j := range r.Nodes {
				n := &r.Nodes[j]
				if n.ID == a.Target {
					kill := a.Kind == dashboard.ActionKillNode
					n.Running = !kill
					n.State, n.Breaker = "up", "closed"
					if kill {
						n.State, n.Breaker = "down", "open"
					}
					event(map[bool]string{true: "killed ", false: "restarted "}[kill] + a.Target)
					return nil
				}
			}
		case dashboard.ActionExpireHotKey:
			event("expired hot key item:42")
			return nil
		}
	}
	return fmt.Errorf("no such node or region %q", a.Target)
}

func (s *liveSource) actions() []dashboard.Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]dashboard.Action(nil), s.acts...)
}
