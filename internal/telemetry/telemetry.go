// Package telemetry gives each tiercache process (or each node in a demo
// that runs many in one process) its own OpenTelemetry meter provider,
// exported as Prometheus text on /metrics. Nothing is global: three regions
// in one test binary keep three separate sets of metrics.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// ErrSetup wraps failures to build the exporter.
var ErrSetup = errors.New("telemetry: setup failed")

// Telemetry is one process's (or one component's) metrics.
type Telemetry struct {
	registry *prometheus.Registry
	provider *sdkmetric.MeterProvider
}

// New builds a meter provider whose metrics are served by Handler.
func New() (*Telemetry, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	return &Telemetry{registry: reg, provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))}, nil
}

// Meter returns a named meter. A nil Telemetry gives a no-op meter, so
// components can take an optional *Telemetry.
func (t *Telemetry) Meter(name string) metric.Meter {
	if t == nil {
		return noop.NewMeterProvider().Meter(name)
	}
	return t.provider.Meter(name)
}

// Handler serves the metrics as Prometheus text.
func (t *Telemetry) Handler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{})
}

// Close flushes and stops the provider.
func (t *Telemetry) Close() error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(context.Background())
}
