// Package tracing holds what every tier needs to take part in one
// OpenTelemetry trace: a per-instance tracer that is nil (and free) when
// tracing is off, and the two encodings a span context travels in between
// tiers: the W3C traceparent text on the RESP tier protocol (TC.GET ...
// TRACE) and a fixed 25-byte binary form in the federation call frame.
//
// Nothing here is global: each client, node and endpoint is handed its own
// trace.TracerProvider, so several regions run in one process with their
// spans kept apart.
package tracing

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope name of every tiercache tracer.
const Scope = "github.com/tiercache/tiercache"

// Tracer is one component's tracer. A nil *Tracer means tracing is off;
// callers test for nil before building span attributes, so the off path
// costs one pointer comparison.
type Tracer struct {
	t trace.Tracer
}

// New returns a Tracer from tp, or nil when tp is nil.
func New(tp trace.TracerProvider) *Tracer {
	if tp == nil {
		return nil
	}
	return &Tracer{t: tp.Tracer(Scope)}
}

// Start starts a span as trace.Tracer.Start does.
func (t *Tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return t.t.Start(ctx, name, opts...)
}

// StartRemote starts a span whose parent is sc, a span context that came
// over the wire; an invalid sc gives a root span.
func (t *Tracer) StartRemote(ctx context.Context, sc trace.SpanContext, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if sc.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
	}
	return t.t.Start(ctx, name, opts...)
}

// Ref holds a component's Tracer, swappable while it runs (SetTracerProvider
// methods). The zero value is off.
type Ref struct {
	p atomic.Pointer[Tracer]
}

// Set installs tp's tracer; nil turns tracing off.
func (r *Ref) Set(tp trace.TracerProvider) { r.p.Store(New(tp)) }

// Load returns the current Tracer, nil when off.
func (r *Ref) Load() *Tracer { return r.p.Load() }
