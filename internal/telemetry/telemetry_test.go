package telemetry

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

func TestCountersReachMetricsText(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, _ := New()
	defer b.Close()
	hits, err := a.Meter("tiercache/l2").Int64Counter("tiercache_l2_hits", metric.WithDescription("hits"))
	if err != nil {
		t.Fatal(err)
	}
	hits.Add(context.Background(), 3, metric.WithAttributes(attribute.String("keyspace", "user")))

	body := scrape(t, a)
	if !strings.Contains(body, `tiercache_l2_hits_total{keyspace="user"} 3`) {
		t.Fatalf("counter missing from /metrics:\n%s", body)
	}
	if strings.Contains(scrape(t, b), "tiercache_l2_hits") {
		t.Fatal("metrics leaked between two Telemetry instances")
	}
	var none *Telemetry
	none.Meter("x") // a nil Telemetry must give a usable no-op meter
}

func scrape(t *testing.T, tel *Telemetry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	tel.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}
