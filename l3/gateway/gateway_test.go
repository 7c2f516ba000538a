package gateway

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/internal/telemetry"
	"github.com/tiercache/tiercache/internal/telemetry/metricstest"
	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l3"
)

func set(t *testing.T, c *tiercache.Client, key, value string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, err := c.Set(ctx, key, []byte(value))
	if err != nil {
		t.Fatalf("set %s: %v", key, err)
	}
	return v
}

// TestWritesCrossRegionsThroughGateways: a write in one region reaches the
// other regions' L2 owners through its node's change stream, the gateways'
// links and tc.gapply; an invalidation follows the same way.
func TestWritesCrossRegionsThroughGateways(t *testing.T) {
	w := newWorld(t, "a", "b", "c")
	ca, cb, cc := w.tierClient(w.region("a")), w.tierClient(w.region("b")), w.tierClient(w.region("c"))
	for i := range 20 {
		set(t, ca, key(i), "from-a")
	}
	for i := range 20 {
		w.wait("b and c to read a's write of "+key(i), func() bool { return read(cb, key(i)) == "from-a" && read(cc, key(i)) == "from-a" })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := cb.Invalidate(ctx, key(0)); err != nil {
		t.Fatal(err)
	}
	w.wait("a and c to drop the key b invalidated", func() bool { return read(ca, key(0)) == "" && read(cc, key(0)) == "" })
	var own, delivered uint64
	for _, r := range w.regions {
		st := r.gw.srv.Stats()
		own, delivered = own+st.Own, delivered+st.Delivered
	}
	// 21 writes, each reaching its own region's gateway once and the two
	// others' L2 owners once (a replay may add more).
	if own < 21 || delivered < 42 {
		t.Fatalf("gateways applied %d own-region writes and delivered %d, want at least 21 and 42", own, delivered)
	}
}

func key(i int) string { return "user:" + string(rune('a'+i%26)) + string(rune('0'+i/26)) }

// TestLoadedOnceServedFromL3: a value loaded from the origin in one region
// fills the key's L3 owner through the gateway, and another region's miss
// is served from there without a second origin load.
func TestLoadedOnceServedFromL3(t *testing.T) {
	w := newWorld(t, "a", "b")
	ca, cb := w.tierClient(w.region("a")), w.tierClient(w.region("b"))
	var loads atomic.Int64
	loader := tiercache.LoaderFunc(func(context.Context, string) ([]byte, error) {
		loads.Add(1)
		return []byte("from-origin"), nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	const k = "user:loaded-once"
	if v, err := ca.Get(ctx, k, loader); err != nil || string(v) != "from-origin" {
		t.Fatalf("first read: %q %v", v, err)
	}
	owner, err := w.region("a").gw.srv.Client().Owner([]byte(k))
	if err != nil {
		t.Fatal(err)
	}
	w.wait("the fill to reach the L3 owner "+owner.ID, func() bool {
		rep, err := w.region(owner.Region).gw.node.Get(l3.GetRequest{Key: []byte(k), Mode: l3.ModeRead})
		return err == nil && rep.Status == l3.StatusHit
	})
	if v, err := cb.Get(ctx, k, loader); err != nil || string(v) != "from-origin" {
		t.Fatalf("read in b: %q %v", v, err)
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("origin loads = %d, want 1", n)
	}
}

// TestGatewayRefusesOtherRegions: the gateway kinds answer only peers
// whose certificate names the gateway's region; a peer of another region
// (valid for the deployment's CA) gets a clear error and is counted.
func TestGatewayRefusesOtherRegions(t *testing.T) {
	w := newWorld(t, "a", "b")
	a := w.region("a")
	ep, err := federation.New(w.fedConfig("b", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	l, err := ep.Connect("a", a.gw.ep.Addr())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []uint8{KindGet, KindFill, KindRelease, KindSticky} {
		_, err := l.Call(ctx, kind, appendGetRequest(nil, []byte("k"), l2.GlobalRead), false)
		if !errors.Is(err, federation.ErrRemote) || !strings.Contains(err.Error(), "serves only its own region") {
			t.Errorf("kind %#x from region b: %v, want a refusal", kind, err)
		}
	}
	tel, err := telemetry.New()
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Close()
	unregister, err := a.gw.srv.RegisterMetrics(tel.Meter("tiercache/gateway"))
	if err != nil {
		t.Fatal(err)
	}
	defer unregister()
	if got := metricstest.Get(t, tel).Must(t, "tiercache_gateway_refused_total", "region", "a"); got != 4 {
		t.Fatalf("refused %v calls, want 4", got)
	}
	// A node of region a is served.
	if _, err := a.clients[0].Get(ctx, []byte("user:x"), l2.GlobalRead); err != nil {
		t.Fatalf("own region's node: %v", err)
	}
}

// TestGatewayRestartReplays: with region a's gateway down, a keeps serving
// locally (writes succeed, misses fail fast to the origin) and its writes
// still reach b (its nodes publish to b's gateway directly), while b's
// writes wait in b's nodes' outboxes; when the gateway comes back at its
// address they are replayed and both sides converge.
func TestGatewayRestartReplays(t *testing.T) {
	w := newWorld(t, "a", "b")
	a, b := w.region("a"), w.region("b")
	ca, cb := w.tierClient(a), w.tierClient(b)
	set(t, ca, "user:before", "v1")
	w.wait("b to read a's first write", func() bool { return read(cb, "user:before") == "v1" })

	a.gw.close()
	a.gw = nil
	w.publish() // the control plane marks the gateway down

	for i := range 10 {
		set(t, ca, key(i), "written-while-down")
		set(t, cb, key(i+10), "from-b-while-down")
	}
	if got := read(ca, key(3)); got != "written-while-down" {
		t.Fatalf("region a without its gateway reads %q", got)
	}
	var loads atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	v, err := ca.Get(ctx, "user:origin-only", tiercache.LoaderFunc(func(context.Context, string) ([]byte, error) {
		loads.Add(1)
		return []byte("origin"), nil
	}))
	if err != nil || string(v) != "origin" || loads.Load() != 1 {
		t.Fatalf("miss without a gateway: %q %v (loads %d)", v, err, loads.Load())
	}
	t.Logf("miss with the gateway down took %v", time.Since(start))
	if _, err := a.clients[0].Get(ctx, []byte("k"), l2.GlobalRead); !errors.Is(err, ErrNoGateway) {
		t.Fatalf("global get with the gateway down: %v, want ErrNoGateway", err)
	}
	for i := range 10 {
		w.wait("b to read a's write made while a's gateway was down", func() bool { return read(cb, key(i)) == "written-while-down" })
	}
	if got := read(ca, key(10)); got == "from-b-while-down" {
		t.Fatal("a read b's write with no gateway to deliver it")
	}

	w.startGateway(a)
	w.publish()
	for i := range 10 {
		w.wait("a to read b's write made while a's gateway was down", func() bool { return read(ca, key(i+10)) == "from-b-while-down" })
	}
}

// TestStickyReadThroughGateways: a node asks its gateway to read a key in
// the writer's region; the gateway forwards it and that region's gateway
// reads the key's L2 owner (tc.gread).
func TestStickyReadThroughGateways(t *testing.T) {
	w := newWorld(t, "a", "b")
	a, b := w.region("a"), w.region("b")
	version := set(t, w.tierClient(a), "user:sticky", "new")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rd, err := b.clients[0].ReadSticky(ctx, "a", []byte("user:sticky"), version)
	if err != nil || !rd.Found || string(rd.Item.Value) != "new" || rd.Item.Version != version {
		t.Fatalf("sticky read at %d: %+v %v", version, rd, err)
	}
	rd, err = b.clients[0].ReadSticky(ctx, "a", []byte("user:sticky"), version+1)
	if err != nil || rd.Found || rd.Tombstone != 0 {
		t.Fatalf("sticky read past the write: %+v %v", rd, err)
	}
	if _, err := b.clients[0].ReadSticky(ctx, "b", []byte("user:sticky"), version); !errors.Is(err, ErrUnknownRegion) {
		t.Fatalf("sticky read of the node's own region: %v", err)
	}
	if _, err := b.clients[0].ReadSticky(ctx, "nowhere", []byte("user:sticky"), version); !errors.Is(err, federation.ErrRemote) {
		t.Fatalf("sticky read of an unknown region: %v", err)
	}
}
