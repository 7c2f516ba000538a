package tracing

import (
	"context"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

const validTP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestTraceparentRoundTrip(t *testing.T) {
	sc, ok := ParseTraceparent([]byte(validTP))
	if !ok || !sc.IsRemote() || !sc.IsSampled() {
		t.Fatalf("parse %q: %v %+v", validTP, ok, sc)
	}
	if sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || sc.SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("ids %s %s", sc.TraceID(), sc.SpanID())
	}
	if got := string(AppendTraceparent(nil, sc)); got != validTP {
		t.Fatalf("format: %q", got)
	}
	unsampled, ok := ParseTraceparent([]byte(validTP[:53] + "00"))
	if !ok || unsampled.IsSampled() {
		t.Fatalf("unsampled: %v %v", ok, unsampled.IsSampled())
	}
	// A later version may carry more fields after a dash.
	if _, ok := ParseTraceparent([]byte("01" + validTP[2:] + "-what-comes-next")); !ok {
		t.Fatal("a later version's extra fields must be skipped")
	}
}

func TestTraceparentRejectsMalformed(t *testing.T) {
	for name, tp := range map[string]string{
		"empty":            "",
		"short":            validTP[:54],
		"v00 trailing":     validTP + "-x",
		"later no dash":    "01" + validTP[2:] + "x",
		"too long":         "01" + validTP[2:] + "-" + strings.Repeat("a", MaxTraceparentLen),
		"version ff":       "ff" + validTP[2:],
		"upper case":       strings.ToUpper(validTP),
		"non hex":          "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
		"zero trace id":    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"zero parent id":   "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"misplaced dashes": "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	} {
		if sc, ok := ParseTraceparent([]byte(tp)); ok || sc.IsValid() {
			t.Errorf("%s: %q accepted", name, tp)
		}
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	sc, _ := ParseTraceparent([]byte(validTP))
	b := AppendBinary([]byte("x"), sc)
	if len(b) != 1+BinaryLen {
		t.Fatalf("%d bytes", len(b))
	}
	got, ok := ParseBinary(b[1:])
	if !ok || !got.Equal(sc) {
		t.Fatalf("binary: %v %+v want %+v", ok, got, sc)
	}
	for _, bad := range [][]byte{nil, b[1:BinaryLen], append(b[1:], 0), make([]byte, BinaryLen)} {
		if _, ok := ParseBinary(bad); ok {
			t.Fatalf("%x accepted", bad)
		}
	}
}

func TestNilProviderIsOffAndStartRemoteParents(t *testing.T) {
	if New(nil) != nil {
		t.Fatal("nil provider must give a nil Tracer")
	}
	var r Ref
	if r.Load() != nil {
		t.Fatal("zero Ref must be off")
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	r.Set(tp)
	remote, _ := ParseTraceparent([]byte(validTP))
	_, span := r.Load().StartRemote(context.Background(), remote, "child", trace.WithSpanKind(trace.SpanKindServer))
	span.End()
	_, root := r.Load().StartRemote(context.Background(), trace.SpanContext{}, "root")
	root.End()
	ended := rec.Ended()
	if len(ended) != 2 {
		t.Fatalf("%d spans", len(ended))
	}
	if ended[0].Parent().SpanID() != remote.SpanID() || ended[0].SpanContext().TraceID() != remote.TraceID() {
		t.Fatalf("child not parented on the remote span: %+v", ended[0].Parent())
	}
	if ended[1].Parent().IsValid() {
		t.Fatal("an invalid remote context must give a root span")
	}
	r.Set(nil)
	if r.Load() != nil {
		t.Fatal("Set(nil) must turn tracing off")
	}
}
