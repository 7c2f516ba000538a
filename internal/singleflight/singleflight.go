// Package singleflight coalesces concurrent work on the same key inside one
// process: while one caller (the leader) computes a key's value, the others
// wait for its result instead of computing it again. The tier client uses it
// for origin loads, lease waits and background refreshes, so a process sends
// at most one of each per key at a time.
//
// Unlike a plain mutex-per-key, a follower stops waiting when its own
// context ends, and a leader can be registered before its work starts
// (Start) so that work which must not be shared (a lease holder's load) can
// still publish its result to whoever arrives while it runs.
package singleflight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrLeaderPanicked is what followers get when the leader's function
// panicked; the panic itself goes on up the leader's stack.
var ErrLeaderPanicked = errors.New("singleflight: leader panicked")

// Flight is one computation in the air. Its leader must call Finish exactly
// once.
type Flight[V any] struct {
	g    *Group[V]
	key  string
	done chan struct{} // closed by Finish
	val  V
	err  error

	waiters atomic.Int32 // callers parked in Wait, for tests and stats
}

// Group is a set of flights keyed by string. The zero value is ready to use
// and a Group is safe for concurrent use.
type Group[V any] struct {
	mu sync.Mutex // protects m
	m  map[string]*Flight[V]
}

// Start registers a flight for key and returns it, or returns nil when one
// is already in the air. The caller of a non-nil result is the leader.
func (g *Group[V]) Start(key string) *Flight[V] {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.m[key]; ok {
		return nil
	}
	if g.m == nil {
		g.m = make(map[string]*Flight[V])
	}
	f := &Flight[V]{g: g, key: key, done: make(chan struct{})}
	g.m[key] = f
	return f
}

// Finish publishes the result, removes the flight from its group so the
// next caller starts afresh, and wakes the waiters.
func (f *Flight[V]) Finish(v V, err error) {
	f.g.mu.Lock()
	if f.g.m[f.key] == f {
		delete(f.g.m, f.key)
	}
	f.g.mu.Unlock()
	f.val, f.err = v, err
	close(f.done)
}

// Wait blocks until the flight finishes or ctx ends.
func (f *Flight[V]) Wait(ctx context.Context) (V, error) {
	f.waiters.Add(1)
	defer f.waiters.Add(-1)
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// Waiters returns how many callers are waiting for f.
func (f *Flight[V]) Waiters() int { return int(f.waiters.Load()) }

// Lookup returns the flight in the air for key, or nil.
func (g *Group[V]) Lookup(key string) *Flight[V] {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.m[key]
}

// InFlight reports whether a flight for key is in the air.
func (g *Group[V]) InFlight(key string) bool { return g.Lookup(key) != nil }

// Do runs fn for key unless a flight for key is already in the air, in which
// case it waits for that flight's result (or for ctx to end). shared reports
// whether the result came from another caller's fn. The leader runs fn on
// its own goroutine and is not interrupted by followers leaving.
//
// A follower whose leader failed with the leader's own context error gets
// that error; callers that care check their own ctx and retry.
func (g *Group[V]) Do(ctx context.Context, key string, fn func() (V, error)) (v V, err error, shared bool) {
	for {
		f := g.Start(key)
		if f != nil {
			return f.run(fn), f.err, false
		}
		if f = g.Lookup(key); f == nil {
			continue // finished between Start and Lookup: try to lead
		}
		v, err = f.Wait(ctx)
		return v, err, true
	}
}

func (f *Flight[V]) run(fn func() (V, error)) V {
	finished := false
	defer func() {
		if !finished {
			var zero V
			f.Finish(zero, ErrLeaderPanicked)
		}
	}()
	v, err := fn()
	finished = true
	f.Finish(v, err)
	return v
}
