package singleflight

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDoCoalescesConcurrentCallers(t *testing.T) {
	var g Group[int]
	var calls atomic.Int32
	release := make(chan struct{})
	const n = 50
	var wg sync.WaitGroup
	results := make(chan int, n)
	started := make(chan struct{})
	wg.Add(1)
	go func() { // the leader
		defer wg.Done()
		v, _, shared := g.Do(context.Background(), "k", func() (int, error) {
			calls.Add(1)
			close(started)
			<-release
			return 42, nil
		})
		if shared {
			t.Error("leader saw shared")
		}
		results <- v
	}()
	<-started
	var sharedCount atomic.Int32
	for range n - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err, shared := g.Do(context.Background(), "k", func() (int, error) {
				calls.Add(1)
				return -1, nil
			})
			if err != nil {
				t.Error(err)
			}
			if shared {
				sharedCount.Add(1)
			}
			results <- v
		}()
	}
	// Wait until every follower is parked on the flight, then release.
	for f := g.Lookup("k"); f.Waiters() < n-1; {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	close(results)
	for v := range results {
		if v != 42 {
			t.Fatalf("result %d", v)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Fatalf("fn ran %d times, want 1", got)
	}
	if got := sharedCount.Load(); got != n-1 {
		t.Fatalf("%d followers shared, want %d", got, n-1)
	}
}

func TestDoJoinsWhileLeaderRuns(t *testing.T) {
	var g Group[string]
	f := g.Start("k")
	if f == nil {
		t.Fatal("Start on empty group returned nil")
	}
	if g.Start("k") != nil {
		t.Fatal("second Start returned a flight")
	}
	done := make(chan string)
	go func() {
		v, err, shared := g.Do(context.Background(), "k", func() (string, error) { return "own", nil })
		if err != nil || !shared {
			t.Errorf("err %v shared %v", err, shared)
		}
		done <- v
	}()
	for f.Waiters() == 0 {
		runtime.Gosched()
	}
	f.Finish("leader", nil)
	if v := <-done; v != "leader" {
		t.Fatalf("follower got %q", v)
	}
	if g.InFlight("k") {
		t.Fatal("flight still registered after Finish")
	}
}

func TestFollowerLeavesOnItsContext(t *testing.T) {
	var g Group[int]
	f := g.Start("k")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err, shared := g.Do(ctx, "k", func() (int, error) { return 1, nil })
	if !errors.Is(err, context.Canceled) || !shared {
		t.Fatalf("err %v shared %v", err, shared)
	}
	f.Finish(0, nil)
}

func TestLeaderPanicReleasesFollowers(t *testing.T) {
	var g Group[int]
	entered := make(chan struct{})
	proceed := make(chan struct{})
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		g.Do(context.Background(), "k", func() (int, error) {
			close(entered)
			<-proceed
			panic("boom")
		})
	}()
	<-entered
	f := g.Lookup("k")
	close(proceed)
	if _, err := f.Wait(context.Background()); !errors.Is(err, ErrLeaderPanicked) {
		t.Fatalf("err %v", err)
	}
	if p := <-panicked; p != "boom" {
		t.Fatalf("panic %v", p)
	}
}
