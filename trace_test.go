package tiercache

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l1"
	"github.com/tiercache/tiercache/l2"
)

func spanRecorder(t *testing.T) (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return rec, tp
}

func ended(rec *tracetest.SpanRecorder, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// TestGetTraceThroughNode checks the client's spans for a miss (Get, its
// TC.GET, the load) and that the node joins the trace through TC.GET's
// TRACE argument; then that an L1 hit with tracing on records nothing and
// still allocates nothing, and a failed load marks the spans as errors.
func TestGetTraceThroughNode(t *testing.T) {
	r := startRegion(t, 1, l2.TierOptions{})
	nodeRec, nodeTP := spanRecorder(t)
	r.nodes[0].SetTracerProvider(nodeTP)
	rec, tp := spanRecorder(t)
	c := r.client(t, Config{TracerProvider: tp,
		Keyspaces: &keyspace.Table{Spaces: map[string]keyspace.Settings{"l1": {L1: keyspace.L1All}}}})
	waitFor(t, "subscriptions", c.trackingUpAll)
	origin := newCountingLoader()
	ctx := context.Background()
	if _, err := c.Get(ctx, "user:1", origin); err != nil {
		t.Fatal(err)
	}
	gets, nodeGets, loads := ended(rec, SpanGet), ended(rec, SpanNode), ended(rec, SpanLoad)
	if len(gets) != 1 || len(nodeGets) != 1 || len(loads) != 1 {
		t.Fatalf("spans: %d Get, %d TC.GET, %d Load; want one each", len(gets), len(nodeGets), len(loads))
	}
	get := gets[0]
	for _, child := range []sdktrace.ReadOnlySpan{nodeGets[0], loads[0]} {
		if child.Parent().SpanID() != get.SpanContext().SpanID() || child.SpanContext().TraceID() != get.SpanContext().TraceID() {
			t.Errorf("%s is not the Get's child", child.Name())
		}
	}
	waitFor(t, "the node's span", func() bool { return len(ended(nodeRec, l2.SpanTCGet)) == 1 })
	if served := ended(nodeRec, l2.SpanTCGet)[0]; served.Parent().SpanID() != nodeGets[0].SpanContext().SpanID() || !served.Parent().IsRemote() {
		t.Errorf("node span's parent %v, want the client's TC.GET %v", served.Parent().SpanID(), nodeGets[0].SpanContext().SpanID())
	}

	waitFor(t, "l1:a in L1", func() bool {
		c.Get(ctx, "l1:a", origin)
		_, _, st := c.l1.Get(nil, []byte("l1:a"))
		return st == l1.Hit
	})
	before := len(rec.Ended())
	buf := make([]byte, 0, 64+l1.TrailerSize)
	if a := testing.AllocsPerRun(100, func() { buf, _ = c.GetAppend(ctx, buf[:0], "l1:a", origin) }); a != 0 {
		t.Errorf("L1 hit with tracing on: %v allocs", a)
	}
	if n := len(rec.Ended()) - before; n != 0 {
		t.Errorf("L1 hits recorded %d spans", n)
	}

	boom := errors.New("origin down")
	fail := LoaderFunc(func(context.Context, string) ([]byte, error) { return nil, boom })
	traced, span := tp.Tracer("app").Start(ctx, "request")
	if _, err := c.Get(traced, "user:2", fail); !errors.Is(err, boom) {
		t.Fatalf("Get with a failing loader: %v", err)
	}
	span.End()
	failed := 0
	for _, s := range rec.Ended()[before:] {
		switch s.Name() {
		case SpanGet:
			if s.Parent().SpanID() != span.SpanContext().SpanID() {
				t.Error("the Get span is not the caller's child")
			}
			fallthrough
		case SpanLoad:
			failed++
			if s.Status().Code != codes.Error {
				t.Errorf("%s status %v, want Error", s.Name(), s.Status())
			}
		}
	}
	if failed != 2 {
		t.Errorf("%d Get and Load spans for the failed read, want 2", failed)
	}
}
