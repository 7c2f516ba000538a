package raftmeta

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Watcher keeps the latest topology of the control plane in memory and
// tells subscribers when it changes. It long polls through its Client, which
// fails over to another member when the one it polls dies.
type Watcher struct {
	c      *Client
	state  atomic.Pointer[watchState]
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex // protects subs and nextID
	subs   map[int]func(old, cur *Topology)
	nextID int
}

// watchState is one published topology; changed is closed when a newer
// one replaces it.
type watchState struct {
	topo    *Topology
	changed chan struct{}
}

// NewWatcher starts watching through c. Close stops it; c stays open.
func NewWatcher(c *Client) *Watcher {
	w := &Watcher{c: c, done: make(chan struct{}), subs: map[int]func(old, cur *Topology){}}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.state.Store(&watchState{changed: make(chan struct{})})
	go w.run()
	return w
}

// Current returns the latest topology, or nil before the first arrives.
// The Topology is shared: do not modify it.
func (w *Watcher) Current() *Topology { return w.state.Load().topo }

// OnChange registers fn to be called with the previous (nil at first) and
// new topology each time a newer one arrives. Calls come from the watcher's
// goroutine, one at a time, in order; fn must return quickly and must not
// call Close. The returned func unregisters fn.
func (w *Watcher) OnChange(fn func(old, cur *Topology)) (remove func()) {
	w.mu.Lock()
	id := w.nextID
	w.nextID++
	w.subs[id] = fn
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		delete(w.subs, id)
		w.mu.Unlock()
	}
}

// Wait returns the first topology (the current one included) for which
// cond holds, or ctx's error.
func (w *Watcher) Wait(ctx context.Context, cond func(*Topology) bool) (*Topology, error) {
	for {
		s := w.state.Load()
		if s.topo != nil && cond(s.topo) {
			return s.topo, nil
		}
		select {
		case <-s.changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-w.done:
			return nil, ErrClosed
		}
	}
}

// Close stops the watcher and waits for its goroutine.
func (w *Watcher) Close() error {
	w.cancel()
	<-w.done
	return nil
}

func (w *Watcher) run() {
	defer close(w.done)
	pause := 50 * time.Millisecond
	for {
		cur := w.state.Load().topo
		var t Topology
		var err error
		if cur == nil {
			t, err = w.c.Topology(w.ctx)
		} else {
			t, err = w.c.WatchSince(w.ctx, cur.Position())
		}
		if w.ctx.Err() != nil {
			return
		}
		if err != nil {
			// Every member failed for the client's whole retry budget;
			// keep trying, more slowly.
			select {
			case <-w.ctx.Done():
				return
			case <-time.After(pause):
			}
			pause = min(pause*2, 2*time.Second)
			continue
		}
		pause = 50 * time.Millisecond
		if cur != nil && !t.Position().After(cur.Position()) {
			continue
		}
		w.publish(cur, &t)
	}
}

func (w *Watcher) publish(old, cur *Topology) {
	prev := w.state.Swap(&watchState{topo: cur, changed: make(chan struct{})})
	close(prev.changed)
	w.mu.Lock()
	fns := make([]func(old, cur *Topology), 0, len(w.subs))
	for id := 0; id < w.nextID; id++ {
		if fn, ok := w.subs[id]; ok {
			fns = append(fns, fn)
		}
	}
	w.mu.Unlock()
	for _, fn := range fns {
		fn(old, cur)
	}
}
