package federation

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tiercache/tiercache/internal/telemetry/tracing"
)

// Tracing a call across the link. A traced call sets flagTrace in the call
// header and carries, after the timeout, a length-prefixed trace field:
// the caller's span context in tracing's 25-byte binary form. The length
// is bounded (maxTraceField) and checked against what the payload holds
// before anything is read; a field of another length (a later format) is
// skipped, so tracing never fails a call. A receiver of this version
// accepts calls with and without the field; an older receiver would misread
// it, so turn tracing on only once both ends run this version.

// flagTrace marks a call header that carries a trace field.
const flagTrace = 2

// maxTraceField bounds the trace field.
const maxTraceField = 64

// Span names of the endpoint's spans (SetTracerProvider).
const (
	SpanCall  = "federation.Call"  // client side: one call to a peer region
	SpanServe = "federation.Serve" // server side: one call from a peer region
)

// traceField is a call's span context in binary form; comparable, so
// callHeader stays comparable.
type traceField struct {
	set bool
	b   [tracing.BinaryLen]byte
}

func traceFieldOf(sc trace.SpanContext) traceField {
	if !sc.IsValid() {
		return traceField{}
	}
	f := traceField{set: true}
	tracing.AppendBinary(f.b[:0], sc)
	return f
}

func (f traceField) append(dst []byte) []byte {
	if !f.set {
		return dst
	}
	dst = append(dst, byte(len(f.b)))
	return append(dst, f.b[:]...)
}

// decodeTraceField reads a trace field; an oversized or truncated one
// fails the decoder, one of an unknown length is skipped.
func decodeTraceField(d *decoder) traceField {
	n := d.uvarint()
	if d.err != nil {
		return traceField{}
	}
	if n > maxTraceField || n > uint64(len(d.b)) {
		d.fail("%d-byte trace field in %d bytes", n, len(d.b))
		return traceField{}
	}
	raw := d.b[:n]
	d.b = d.b[n:]
	if n != tracing.BinaryLen {
		return traceField{}
	}
	f := traceField{set: true}
	copy(f.b[:], raw)
	return f
}

// spanContext returns the field as a remote span context (invalid if unset
// or malformed).
func (f traceField) spanContext() trace.SpanContext {
	if !f.set {
		return trace.SpanContext{}
	}
	sc, _ := tracing.ParseBinary(f.b[:])
	return sc
}

// SetTracerProvider makes the endpoint trace its calls: a client span per
// Link.Call made with a traced context (the span's context travels in the
// call frame) and a server span per call received with a trace field,
// joined to the caller's trace and handed to the Handler in its ctx.
// Untraced calls record nothing. nil (the default) turns tracing off.
func (e *Endpoint) SetTracerProvider(tp trace.TracerProvider) { e.tracer.Set(tp) }

// startCallSpan starts the client span of a call when the endpoint traces
// and ctx is part of a trace.
func (l *Link) startCallSpan(ctx context.Context, kind uint8) (context.Context, trace.Span, traceField) {
	tr := l.ep.tracer.Load()
	if tr == nil || !trace.SpanFromContext(ctx).SpanContext().IsValid() {
		return ctx, nil, traceField{}
	}
	ctx, span := tr.Start(ctx, SpanCall, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.Int("tiercache.kind", int(kind)),
		attribute.String("tiercache.region", l.ep.cfg.Region),
		attribute.String("tiercache.peer", l.region)))
	return ctx, span, traceFieldOf(span.SpanContext())
}

// startServeSpan starts the server span of a call that came with a trace
// field, when the endpoint traces.
func (e *Endpoint) startServeSpan(ctx context.Context, h callHeader, peer string) (context.Context, trace.Span) {
	tr := e.tracer.Load()
	if tr == nil || !h.trace.set {
		return ctx, nil
	}
	sc := h.trace.spanContext()
	if !sc.IsValid() {
		return ctx, nil
	}
	return tr.StartRemote(ctx, sc, SpanServe, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.Int("tiercache.kind", int(h.kind)),
		attribute.String("tiercache.region", e.cfg.Region),
		attribute.String("tiercache.peer", peer)))
}

// endSpan ends a span started above (nil: none was).
func endSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
