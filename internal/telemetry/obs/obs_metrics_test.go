package obs_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/goleak"

	"github.com/tiercache/tiercache/internal/telemetry"
	"github.com/tiercache/tiercache/internal/telemetry/metricstest"
	"github.com/tiercache/tiercache/internal/telemetry/obs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCallbackReadsAtEachScrapeAndUnregisters(t *testing.T) {
	tel, err := telemetry.New()
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Close()
	o := obs.NewObservables(tel.Meter("test"))
	c := o.Counter("tiercache_test_events", "events")
	g := o.Seconds("tiercache_test_lag", "lag")
	var n uint64
	unregister, err := o.Register(func(_ context.Context, ob metric.Observer) error {
		n += 5
		ob.ObserveInt64(c, obs.Int64(n), obs.Attrs([]attribute.KeyValue{attribute.String("node", "a b")}))
		ob.ObserveFloat64(g, 0.25)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := metricstest.Get(t, tel).Must(t, "tiercache_test_events_total", "node", "a b"); v != 5 {
		t.Fatalf("first scrape %v", v)
	}
	s := metricstest.Get(t, tel)
	if v := s.Must(t, "tiercache_test_events_total", "node", "a b"); v != 10 {
		t.Fatalf("second scrape %v: the callback must run per scrape", v)
	}
	if v := s.Must(t, "tiercache_test_lag_seconds"); v != 0.25 {
		t.Fatalf("seconds gauge %v", v)
	}
	if err := unregister(); err != nil {
		t.Fatal(err)
	}
	if err := unregister(); err != nil {
		t.Fatalf("second unregister: %v", err)
	}
	if _, ok := metricstest.Get(t, tel).Value("tiercache_test_events_total"); ok {
		t.Fatal("series exported after unregister")
	}
}

func TestBadNameFailsRegisterAndNilMeterIsNoop(t *testing.T) {
	tel, err := telemetry.New()
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Close()
	o := obs.NewObservables(tel.Meter("test"))
	o.Counter("0 not a name", "")
	if _, err := o.Register(func(context.Context, metric.Observer) error { return nil }); !errors.Is(err, obs.ErrSetup) {
		t.Fatalf("register with a bad instrument: %v", err)
	}
	none := obs.NewObservables(nil)
	c := none.Counter("tiercache_x", "")
	unregister, err := none.Register(func(_ context.Context, ob metric.Observer) error {
		ob.ObserveInt64(c, 1)
		return nil
	})
	if err != nil || unregister() != nil {
		t.Fatalf("no-op meter: %v", err)
	}
}

func TestConversions(t *testing.T) {
	if obs.Int64(math.MaxUint64) != math.MaxInt64 || obs.Int64(7) != 7 {
		t.Fatal("Int64 must saturate, not wrap negative")
	}
	if obs.Bool(true) != 1 || obs.Bool(false) != 0 {
		t.Fatal("Bool")
	}
}
