package dashboard

import (
	"context"
	"errors"
	"sync"
)

// scriptedSource returns the snapshots it was given, one per call, the
// last one repeating, and records the actions it receives. kill-node
// marks the node down in every later snapshot, so a test can see an
// action's effect.
type scriptedSource struct {
	mu     sync.Mutex
	snaps  []Snapshot
	calls  int
	acts   []Action
	actErr error                                     // returned by Act when set
	actFn  func(ctx context.Context, a Action) error // replaces Act's body when set
}

func (f *scriptedSource) Snapshot() Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := min(f.calls, len(f.snaps)-1)
	f.calls++
	return cloneSnapshot(f.snaps[i])
}

func (f *scriptedSource) Act(ctx context.Context, a Action) error {
	f.mu.Lock()
	fn := f.actFn
	f.mu.Unlock()
	if fn != nil {
		return fn(ctx, a)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acts = append(f.acts, a)
	if f.actErr != nil {
		return f.actErr
	}
	if a.Kind == ActionKillNode {
		found := false
		for si := range f.snaps {
			for ri := range f.snaps[si].Regions {
				for ni := range f.snaps[si].Regions[ri].Nodes {
					n := &f.snaps[si].Regions[ri].Nodes[ni]
					if n.ID == a.Target {
						n.Running, n.State, found = false, "down", true
					}
				}
			}
		}
		if !found {
			return errors.New("no node " + a.Target)
		}
	}
	return nil
}

func (f *scriptedSource) actions() []Action {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Action(nil), f.acts...)
}

func (f *scriptedSource) snapshotCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// cloneSnapshot copies the slices a test might change later.
func cloneSnapshot(s Snapshot) Snapshot {
	regions := make([]RegionState, len(s.Regions))
	for i, r := range s.Regions {
		r.Nodes = append([]NodeState(nil), r.Nodes...)
		regions[i] = r
	}
	s.Regions = regions
	s.Links = append([]LinkState(nil), s.Links...)
	s.HotKeys = append([]HotKey(nil), s.HotKeys...)
	s.Events = append([]Event(nil), s.Events...)
	return s
}

// region builds a region with the given cumulative counters and one
// running L2 node.
func region(name string, requests, l1, l2, l3, origin uint64) RegionState {
	return RegionState{
		Name: name, Requests: requests, L1Hits: l1, L2Hits: l2, L3Hits: l3, OriginLoads: origin,
		Nodes: []NodeState{{ID: name + "-l2-1", Tier: "l2", State: "up", Running: true, Breaker: "closed"}},
	}
}
