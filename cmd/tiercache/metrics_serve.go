package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/tiercache/tiercache/internal/telemetry"
)

// serveMetrics gives the process its own Telemetry, lets register add the
// component's instruments to it, and serves them as Prometheus text on
// http://addr/metrics. Scrapers usually live on other hosts, so unlike
// --pprof any address is allowed: the series name nodes and regions but
// carry no keys or values. stop ends the server (waiting briefly for a
// scrape in progress), then the registration and the provider.
func serveMetrics(addr, scope string, register func(metric.Meter) (func() error, error)) (bound string, stop func(), err error) {
	tel, err := telemetry.New()
	if err != nil {
		return "", nil, err
	}
	unregister, err := register(tel.Meter(scope))
	if err != nil {
		tel.Close()
		return "", nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		unregister()
		tel.Close()
		return "", nil, fmt.Errorf("--metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", tel.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Serve returns ErrServerClosed at stop; if the listener breaks
		// instead, the process keeps serving cache traffic without
		// metrics rather than dying for them.
		_ = srv.Serve(ln)
	}()
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		cancel()
		<-done
		unregister()
		tel.Close()
	}, nil
}

// registrar adds a component's instruments to a meter; the func it returns
// removes them.
type registrar = func(metric.Meter) (func() error, error)

// registerAll registers every component on m, as one registration for
// serveMetrics: if one fails, those already registered are removed.
func registerAll(m metric.Meter, regs ...registrar) (func() error, error) {
	var undo []func() error
	unregister := func() error {
		var errs []error
		for _, u := range undo {
			errs = append(errs, u())
		}
		return errors.Join(errs...)
	}
	for _, r := range regs {
		u, err := r(m)
		if err != nil {
			_ = unregister()
			return nil, err
		}
		undo = append(undo, u)
	}
	return unregister, nil
}
