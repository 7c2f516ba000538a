// Package obs builds observable OpenTelemetry instruments over the Stats
// snapshots the components already keep. It depends on the metric API
// only, so the library packages that use it (l2, l3, the client) do not
// pull in the Prometheus exporter; internal/telemetry serves the result.
package obs

import (
	"errors"
	"math"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// ErrSetup wraps failures to create or register instruments.
var ErrSetup = errors.New("metrics: setup failed")

// Observables builds a component's observable instruments and registers
// one callback for all of them. The components already keep Stats
// snapshots for tests and logs; reading those at collection time (once per
// scrape, one snapshot for every instrument) exports metrics without adding
// a single atomic to a hot path.
//
// Names are given without the Prometheus suffixes: the exporter appends
// _total to counters and the unit (_seconds for "s") itself, so the same
// names suit an OTLP exporter.
type Observables struct {
	m    metric.Meter
	list []metric.Observable
	err  error
}

// NewObservables starts a set on m (a nil m means a no-op meter's set:
// every instrument is usable and records nothing).
func NewObservables(m metric.Meter) *Observables {
	if m == nil {
		return &Observables{m: noop.NewMeterProvider().Meter("")}
	}
	return &Observables{m: m}
}

// Counter adds a monotonic int64 counter.
func (o *Observables) Counter(name, desc string) metric.Int64ObservableCounter {
	c, err := o.m.Int64ObservableCounter(name, metric.WithDescription(desc))
	o.add(c, err)
	return c
}

// Gauge adds an int64 gauge.
func (o *Observables) Gauge(name, desc string) metric.Int64ObservableGauge {
	g, err := o.m.Int64ObservableGauge(name, metric.WithDescription(desc))
	o.add(g, err)
	return g
}

// Seconds adds a float64 gauge in seconds (exported as name_seconds).
func (o *Observables) Seconds(name, desc string) metric.Float64ObservableGauge {
	g, err := o.m.Float64ObservableGauge(name, metric.WithDescription(desc), metric.WithUnit("s"))
	o.add(g, err)
	return g
}

// FloatGauge adds a float64 gauge without a unit.
func (o *Observables) FloatGauge(name, desc string) metric.Float64ObservableGauge {
	g, err := o.m.Float64ObservableGauge(name, metric.WithDescription(desc))
	o.add(g, err)
	return g
}

func (o *Observables) add(inst metric.Observable, err error) {
	if err != nil {
		o.err = errors.Join(o.err, err)
		return
	}
	o.list = append(o.list, inst)
}

// Register installs cb as the one callback of every instrument added so
// far. unregister stops the observations (the series vanish from the next
// scrape), for a component closed before its Telemetry; it is safe to call
// more than once.
func (o *Observables) Register(cb metric.Callback) (unregister func() error, err error) {
	if o.err != nil {
		return nil, errors.Join(ErrSetup, o.err)
	}
	reg, err := o.m.RegisterCallback(cb, o.list...)
	if err != nil {
		return nil, errors.Join(ErrSetup, err)
	}
	return reg.Unregister, nil
}

// Int64 converts a uint64 counter for an int64 instrument, saturating
// instead of wrapping negative (a counter going backwards reads as a reset).
func Int64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// Secs converts a duration for a seconds gauge.
func Secs(d time.Duration) float64 { return d.Seconds() }

// Bool is 1 for true, 0 for false, for state gauges.
func Bool(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Attrs returns an observe option for base plus extra, copying so callers
// can reuse base.
func Attrs(base []attribute.KeyValue, extra ...attribute.KeyValue) metric.ObserveOption {
	kv := make([]attribute.KeyValue, 0, len(base)+len(extra))
	return metric.WithAttributeSet(attribute.NewSet(append(append(kv, base...), extra...)...))
}
