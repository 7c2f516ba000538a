package federated

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l3"
)

// recorded is one component's tracer provider and the spans it ended.
type recorded struct {
	rec *tracetest.SpanRecorder
	tp  *sdktrace.TracerProvider
}

func newRecorded(t *testing.T) recorded {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return recorded{rec: rec, tp: tp}
}

// span waits for the one span called name (spans end as replies go out,
// which may be just after the caller has its answer).
func (r recorded) span(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var found []sdktrace.ReadOnlySpan
		for _, s := range r.rec.Ended() {
			if s.Name() == name {
				found = append(found, s)
			}
		}
		switch {
		case len(found) == 1:
			return found[0]
		case len(found) > 1:
			t.Fatalf("%d spans named %s, want 1", len(found), name)
		case time.Now().After(deadline):
			t.Fatalf("no span named %s", name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// childOf fails unless child is parent's child in parent's trace; remote
// says whether the parent's context crossed a process boundary (the wire).
func childOf(t *testing.T, child, parent sdktrace.ReadOnlySpan, remote bool) {
	t.Helper()
	if child.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("%s is in trace %s, %s in %s", child.Name(), child.SpanContext().TraceID(), parent.Name(), parent.SpanContext().TraceID())
	}
	if child.Parent().SpanID() != parent.SpanContext().SpanID() || child.Parent().IsRemote() != remote {
		t.Errorf("%s's parent is %s (remote %v), want %s %s (remote %v)", child.Name(), child.Parent().SpanID(),
			child.Parent().IsRemote(), parent.Name(), parent.SpanContext().SpanID(), remote)
	}
}

// One Get of a key whose L3 owner is in another region makes one trace:
// the client's Get, its TC.GET, the L2 owner's TC.GET and global-tier ask,
// the federation call on both sides of the QUIC link, the remote L3 node's
// Get, and the origin load. Every component records into its own tracer
// provider, as separate processes would.
func TestOneGetIsOneTraceAcrossRegions(t *testing.T) {
	d := start(t, plain)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	home := d.Regions()[0]
	key, owner := remoteKey(t, home, "trace:")
	remote, err := d.Region(owner.Region)
	if err != nil {
		t.Fatal(err)
	}
	if remote.L3.ID() != owner.ID {
		t.Fatalf("owner %s is not region %s's L3 node %s", owner.ID, remote.Name, remote.L3.ID())
	}

	app, l2Owner, homeFed, remoteFed, remoteL3 := newRecorded(t), newRecorded(t), newRecorded(t), newRecorded(t), newRecorded(t)
	owned := home.Owner([]byte(key))
	owned.SetTracerProvider(l2Owner.tp)
	home.Endpoint.SetTracerProvider(homeFed.tp)
	remote.Endpoint.SetTracerProvider(remoteFed.tp)
	remote.L3.SetTracerProvider(remoteL3.tp)

	c := clientWith(t, home, tiercache.Config{Keyspaces: plain, TracerProvider: app.tp})
	var loads atomic.Int64
	loader := tiercache.LoaderFunc(func(ctx context.Context, k string) ([]byte, error) {
		loads.Add(1)
		if !trace.SpanContextFromContext(ctx).IsValid() {
			t.Error("the Loader's ctx carries no span")
		}
		return []byte("v(" + k + ")"), nil
	})
	if v, err := c.Get(ctx, key, loader); err != nil || string(v) != "v("+key+")" {
		t.Fatalf("Get: %q %v", v, err)
	}
	if loads.Load() != 1 {
		t.Fatalf("%d origin loads, want 1", loads.Load())
	}

	get := app.span(t, tiercache.SpanGet)
	tcGet := app.span(t, tiercache.SpanNode)
	load := app.span(t, tiercache.SpanLoad)
	served := l2Owner.span(t, l2.SpanTCGet)
	ask := l2Owner.span(t, l2.SpanGlobalGet)
	call := homeFed.span(t, federation.SpanCall)
	serve := remoteFed.span(t, federation.SpanServe)
	l3Get := remoteL3.span(t, l3.SpanGet)

	if get.Parent().IsValid() {
		t.Errorf("the Get span has a parent %v: it should root the trace", get.Parent())
	}
	childOf(t, tcGet, get, false)
	childOf(t, load, get, false)
	childOf(t, served, tcGet, true) // over RESP: TC.GET ... TRACE
	childOf(t, ask, served, false)
	childOf(t, call, ask, false)
	childOf(t, serve, call, true) // over QUIC: the call frame's trace field
	childOf(t, l3Get, serve, false)
	if served.SpanKind() != trace.SpanKindServer || l3Get.SpanKind() != trace.SpanKindServer || tcGet.SpanKind() != trace.SpanKindClient {
		t.Errorf("span kinds: TC.GET %v, L2 %v, L3 %v", tcGet.SpanKind(), served.SpanKind(), l3Get.SpanKind())
	}
	// The spans stayed with the provider each component was given:
	// nothing global, so the regions' traces do not mix.
	for _, r := range []recorded{app, l2Owner, homeFed, remoteFed, remoteL3} {
		for _, s := range r.rec.Ended() {
			if s.SpanContext().TraceID() != get.SpanContext().TraceID() {
				t.Errorf("span %s in another trace", s.Name())
			}
		}
	}
}
