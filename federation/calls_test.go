package federation_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/federation/federationtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	kindEcho uint8 = 1
	kindSlow uint8 = 2
	kindFail uint8 = 3
)

func connected(t *testing.T, c *federationtest.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
}

func echoHandler(region string) federation.Handler {
	return federation.HandlerFunc(func(ctx context.Context, req []byte) ([]byte, error) {
		peer, _ := federation.Peer(ctx)
		return append([]byte(region+"<-"+peer+":"), req...), nil
	})
}

func TestCallsBetweenAllRegions(t *testing.T) {
	c := federationtest.NewCluster(t, federationtest.ClusterOptions{Seed: 1})
	regs := c.WAN.Profile().RegionNames()
	for _, r := range regs {
		c.Endpoint(r).Handle(kindEcho, echoHandler(r))
		c.Endpoint(r).Handle(kindFail, federation.HandlerFunc(func(context.Context, []byte) ([]byte, error) {
			return nil, errors.New("no such key")
		}))
	}
	connected(t, c)
	for _, from := range regs {
		for _, to := range regs {
			if from == to {
				continue
			}
			l := c.Link(from, to)
			got, err := l.Call(context.Background(), kindEcho, []byte("hi"), false)
			if err != nil {
				t.Fatalf("%s→%s: %v", from, to, err)
			}
			if want := to + "<-" + from + ":hi"; string(got) != want {
				t.Fatalf("%s→%s: %q, want %q", from, to, got, want)
			}
			if _, err := l.Call(context.Background(), kindFail, nil, true); !errors.Is(err, federation.ErrRemote) {
				t.Fatalf("handler error: %v", err)
			}
			if _, err := l.Call(context.Background(), 99, nil, true); !errors.Is(err, federation.ErrUnknownKind) {
				t.Fatalf("unknown kind: %v", err)
			}
		}
	}
	// Calls share the link's one connection: no handshake per call (the
	// latency this buys is measured by BenchmarkCrossRegionCall).
	link, _ := c.WAN.Profile().Link("us-east", "eu-west")
	l := c.Link("us-east", "eu-west")
	for i := 0; i < 20; i++ {
		if _, err := l.Call(context.Background(), kindEcho, []byte("x"), i%2 == 0); err != nil {
			t.Fatal(err)
		}
	}
	st := l.Stats()
	if st.Dials != 1 || st.Connects != 1 || st.Calls != 23 || st.CallErrors != 2 || !st.Connected {
		t.Fatalf("stats after 23 calls %+v", st)
	}
	if st.MinRTT < link.RTT-2*link.Jitter || st.RTT > 5*link.RTT {
		t.Fatalf("link RTT %v (min %v) on a %v link", st.RTT, st.MinRTT, link.RTT)
	}
}

func TestSlowHandlerDoesNotBlockOtherCalls(t *testing.T) {
	c := federationtest.NewCluster(t, federationtest.ClusterOptions{Seed: 2})
	release := make(chan struct{})
	var slowStarted sync.WaitGroup
	slowStarted.Add(3)
	eu := c.Endpoint("eu-west")
	eu.Handle(kindSlow, federation.HandlerFunc(func(ctx context.Context, req []byte) ([]byte, error) {
		slowStarted.Done()
		select {
		case <-release:
			return req, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}))
	eu.Handle(kindEcho, echoHandler("eu-west"))
	connected(t, c)
	l := c.Link("us-east", "eu-west")

	var wg sync.WaitGroup
	slowErrs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := l.Call(context.Background(), kindSlow, []byte("slow"), false)
			slowErrs <- err
		}()
	}
	slowStarted.Wait() // three calls now hold their streams open on the peer

	var fast atomic.Int32
	var fastWG sync.WaitGroup
	for i := 0; i < 50; i++ {
		fastWG.Add(1)
		go func() {
			defer fastWG.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			got, err := l.Call(ctx, kindEcho, []byte(fmt.Sprint(i)), true)
			if err == nil && bytes.HasSuffix(got, []byte(":"+fmt.Sprint(i))) {
				fast.Add(1)
			} else {
				t.Errorf("fast call %d: %q %v", i, got, err)
			}
		}()
	}
	fastWG.Wait()
	if fast.Load() != 50 {
		t.Fatalf("%d of 50 fast calls finished while slow calls were pending", fast.Load())
	}
	close(release)
	wg.Wait()
	close(slowErrs)
	for err := range slowErrs {
		if err != nil {
			t.Fatalf("slow call: %v", err)
		}
	}
}

func TestCallDeadlineReachesHandler(t *testing.T) {
	c := federationtest.NewCluster(t, federationtest.ClusterOptions{Seed: 3})
	handlerDone := make(chan error, 1)
	c.Endpoint("eu-west").Handle(kindSlow, federation.HandlerFunc(func(ctx context.Context, _ []byte) ([]byte, error) {
		<-ctx.Done()
		handlerDone <- ctx.Err()
		return nil, ctx.Err()
	}))
	connected(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.Link("us-east", "eu-west").Call(ctx, kindSlow, nil, false)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call past its deadline: %v", err)
	}
	select {
	case err := <-handlerDone:
		if err == nil {
			t.Fatal("handler context not cancelled")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("handler still running after the caller's deadline")
	}
}

func TestFrameLimits(t *testing.T) {
	c := federationtest.NewCluster(t, federationtest.ClusterOptions{Seed: 4, Configure: func(region string, cfg *federation.Config) {
		if region == "eu-west" {
			cfg.MaxFrameBytes = 64 << 10 // smaller than the callers' limit
		}
	}})
	var served atomic.Int32
	c.Endpoint("eu-west").Handle(kindEcho, federation.HandlerFunc(func(_ context.Context, req []byte) ([]byte, error) {
		served.Add(1)
		return req, nil
	}))
	connected(t, c)
	l := c.Link("us-east", "eu-west")
	// Over the caller's own limit: refused before anything is sent.
	if _, err := l.Call(context.Background(), kindEcho, make([]byte, federation.DefaultMaxFrameBytes+1), true); !errors.Is(err, federation.ErrFrameTooLarge) {
		t.Fatalf("call over the local limit: %v", err)
	}
	// Within ours, over the peer's: the peer refuses it by its header.
	if _, err := l.Call(context.Background(), kindEcho, make([]byte, 100<<10), true); !errors.Is(err, federation.ErrFrameTooLarge) {
		t.Fatalf("call over the peer's limit: %v", err)
	}
	if served.Load() != 0 {
		t.Fatal("an oversized request reached the handler")
	}
	if got, err := l.Call(context.Background(), kindEcho, make([]byte, 60<<10), true); err != nil || len(got) != 60<<10 {
		t.Fatalf("call within the limit: %d bytes, %v", len(got), err)
	}
	if _, err := l.Enqueue(federation.Change{Key: []byte("k"), Value: make([]byte, federation.DefaultMaxFrameBytes)}); !errors.Is(err, federation.ErrFrameTooLarge) {
		t.Fatalf("enqueue over the limit: %v", err)
	}
}
