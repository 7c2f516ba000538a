package l2

import (
	"context"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/telemetry/metricstest"
)

// TestKeyspaceReadMetrics sends TC.GETs of named and unnamed keyspaces
// over RESP and checks the node's per-keyspace series.
func TestKeyspaceReadMetrics(t *testing.T) {
	tel := newTelemetry(t)
	n := startNode(t, Config{ID: "k1", RegionID: 2, ActiveExpiry: -1})
	n.SetKeyspaces(&keyspace.Table{Spaces: map[string]keyspace.Settings{"user": {}}})
	unregister, err := n.RegisterMetrics(tel.Meter("tiercache/l2"), "eu")
	if err != nil {
		t.Fatal(err)
	}
	defer unregister()
	rdb := newClient(t, n.Addr(), nil)
	ctx := context.Background()
	do := func(args ...any) {
		t.Helper()
		if err := rdb.Do(ctx, args...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	do("TC.GET", "user:1", 0)                                      // miss: lease
	do("TC.SET", "user:1", 0, "alice", 60000, 60000)               // a write after a commit
	do("TC.GET", "user:1", 0)                                      // hit
	do("TC.GET", "user:1", 0)                                      // hit
	do("TC.GET", "cart:1", 0, "NOLEASE")                           // miss, keyspace not named
	do("TC.GET", "nocolon", 0, "NOLEASE")                          // the whole key is its keyspace: not named either
	do("TC.GET", "user:2", 0, "NOLEASE", "TRACE", "not-a-context") // a bad context is ignored

	s := metricstest.Get(t, tel)
	want := map[[2]string]float64{
		{"tiercache_keyspace_hits_total", "user"}:    2,
		{"tiercache_keyspace_misses_total", "user"}:  2,
		{"tiercache_keyspace_misses_total", "other"}: 2,
		{"tiercache_keyspace_hits_total", "other"}:   0,
	}
	for k, v := range want {
		if got := s.Must(t, k[0], "tier", "l2", "keyspace", k[1], "node", "k1", "region", "eu"); got != v {
			t.Errorf("%s{keyspace=%s} = %v, want %v", k[0], k[1], got, v)
		}
	}
	if strings.Contains(string(s), `keyspace="cart"`) || strings.Contains(string(s), `keyspace="nocolon"`) {
		t.Error("a keyspace the table does not name got its own series")
	}
}

// TestTCGetTracedOnlyWithContext checks that a tracing node records a
// server span for a TC.GET carrying a valid traceparent, parented on it,
// and nothing for one without or with a malformed one.
func TestTCGetTracedOnlyWithContext(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	n := startNode(t, Config{ID: "t1"})
	n.SetTracerProvider(tp)
	rdb := newClient(t, n.Addr(), nil)
	ctx := context.Background()
	const tp1 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, extra := range [][]any{nil, {"TRACE", "00-zz"}, {"TRACE", strings.ToUpper(tp1)}, {"TRACE", tp1}} {
		if err := rdb.Do(ctx, append([]any{"TC.GET", "user:1", 0, "NOLEASE"}, extra...)...).Err(); err != nil {
			t.Fatalf("%v: %v", extra, err)
		}
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1 (only the valid context)", len(spans))
	}
	sp := spans[0]
	if sp.Name() != SpanTCGet || sp.Parent().SpanID().String() != "00f067aa0ba902b7" || sp.SpanContext().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("span %s parent %v trace %v", sp.Name(), sp.Parent().SpanID(), sp.SpanContext().TraceID())
	}
	var result string
	for _, a := range sp.Attributes() {
		if a.Key == "tiercache.result" {
			result = a.Value.AsString()
		}
	}
	if result != "miss" {
		t.Fatalf("result attribute %q, want miss", result)
	}
}
