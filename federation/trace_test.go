package federation_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/federation/federationtest"
)

func recorder(t *testing.T) (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return rec, tp
}

func spanNamed(t *testing.T, rec *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans named %s, want 1", len(found), name)
	}
	return found[0]
}

// A traced call crosses a real QUIC link: the server's span is the child
// of the caller's, and the handler runs inside it. An untraced call
// records nothing on either side.
func TestCallCarriesTraceContext(t *testing.T) {
	c := federationtest.NewCluster(t, federationtest.ClusterOptions{Seed: 3})
	regs := c.WAN.Profile().RegionNames()
	from, to := regs[0], regs[1]
	callerRec, callerTP := recorder(t)
	serverRec, serverTP := recorder(t)
	c.Endpoint(from).SetTracerProvider(callerTP)
	c.Endpoint(to).SetTracerProvider(serverTP)
	handlerSpans := make(chan trace.SpanContext, 2)
	c.Endpoint(to).Handle(kindEcho, federation.HandlerFunc(func(ctx context.Context, req []byte) ([]byte, error) {
		handlerSpans <- trace.SpanContextFromContext(ctx)
		return req, nil
	}))
	connected(t, c)

	if _, err := c.Link(from, to).Call(context.Background(), kindEcho, []byte("plain"), true); err != nil {
		t.Fatal(err)
	}
	if sc := <-handlerSpans; sc.IsValid() {
		t.Fatalf("an untraced call reached the handler with span %v", sc)
	}
	if n := len(callerRec.Ended()) + len(serverRec.Ended()); n != 0 {
		t.Fatalf("an untraced call recorded %d spans", n)
	}

	ctx, root := callerTP.Tracer("test").Start(context.Background(), "root")
	if got, err := c.Link(from, to).Call(ctx, kindEcho, []byte("traced"), true); err != nil || string(got) != "traced" {
		t.Fatalf("%q %v", got, err)
	}
	root.End()
	call := spanNamed(t, callerRec, federation.SpanCall)
	serve := spanNamed(t, serverRec, federation.SpanServe)
	if call.Parent().SpanID() != root.SpanContext().SpanID() {
		t.Fatal("the call span is not the caller's child")
	}
	if serve.SpanContext().TraceID() != root.SpanContext().TraceID() || serve.Parent().SpanID() != call.SpanContext().SpanID() || !serve.Parent().IsRemote() {
		t.Fatalf("server span %v parent %v, want a remote child of %v", serve.SpanContext(), serve.Parent(), call.SpanContext())
	}
	if serve.SpanKind() != trace.SpanKindServer || call.SpanKind() != trace.SpanKindClient {
		t.Fatalf("kinds %v %v", call.SpanKind(), serve.SpanKind())
	}
	if sc := <-handlerSpans; sc.SpanID() != serve.SpanContext().SpanID() {
		t.Fatalf("handler ran in span %v, want the server span %v", sc.SpanID(), serve.SpanContext().SpanID())
	}
}
