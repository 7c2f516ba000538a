package l2

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/telemetry/kscount"
	"github.com/tiercache/tiercache/internal/telemetry/tracing"
)

// Span names of the node's spans (SetTracerProvider).
const (
	SpanTCGet     = "l2.TC.GET"     // a traced TC.GET served by this node
	SpanGlobalGet = "l2.global.Get" // its ask of the global tier on an owner miss
)

// tierObs is what the tier commands need for tracing and per-keyspace
// counts; the counts themselves live in each connection's activity.
type tierObs struct {
	tracer tracing.Ref
	ks     kscount.Index
}

// SetTracerProvider makes the node trace the TC.GETs that arrive with a
// trace context (TC.GET ... TRACE <traceparent>): a server span per
// request, joined to the caller's trace, and a child span for the global
// tier's answer on an owner miss, whose context travels on to the remote
// region. Requests without one are not traced, so a node's cost stays with
// the callers that asked. nil (the default) turns tracing off.
func (n *Node) SetTracerProvider(tp trace.TracerProvider) { n.tier.obs.tracer.Set(tp) }

// tcGetSpan starts the server span of a TC.GET whose TRACE argument is a
// valid traceparent, when tracing is on; ok is false otherwise (a
// malformed context is ignored, never an error to the caller).
func (c *conn) tcGetSpan(traceparent []byte) (context.Context, trace.Span, bool) {
	tr := c.tierOf().ts.obs.tracer.Load()
	if tr == nil {
		return nil, nil, false
	}
	sc, ok := tracing.ParseTraceparent(traceparent)
	if !ok {
		return nil, nil, false
	}
	ctx, span := tr.StartRemote(context.Background(), sc, SpanTCGet, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("tiercache.node", c.node.cfg.ID)))
	return ctx, span, true
}

// countRead counts a TC.GET's outcome for key's keyspace on the
// connection, and notes it on the request's span if it is traced.
func (c *conn) countRead(ctx context.Context, key []byte, found, stale bool) {
	n := c.node
	slot := n.tier.obs.ks.Slot(n.cluster().keyspaces.Load(), key)
	result := "miss"
	switch {
	case !found:
		c.act.ksMisses.Add(slot)
	case stale:
		c.act.ksStale.Add(slot)
		result = "stale"
	default:
		c.act.ksHits.Add(slot)
		result = "hit"
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attribute.String("tiercache.keyspace", string(keyspace.Of(key))), attribute.String("tiercache.result", result))
	}
}

// askGlobal asks the global tier about key, in a child span when ctx is
// traced; the span's context rides the call to the key's L3 owner.
func (c *conn) askGlobal(ctx context.Context, g *globalState, key []byte, mode GlobalMode) (GlobalReply, error) {
	tr := c.tierOf().ts.obs.tracer.Load()
	if tr == nil || !trace.SpanFromContext(ctx).SpanContext().IsValid() {
		return g.get(ctx, key, mode)
	}
	ctx, span := tr.Start(ctx, SpanGlobalGet, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.Int("tiercache.mode", int(mode))))
	rep, err := g.get(ctx, key, mode)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	} else {
		span.SetAttributes(attribute.Int("tiercache.global_status", int(rep.Status)))
	}
	span.End()
	return rep, err
}

// KeyspaceStats are a node's TC.GET outcomes for one keyspace (the
// keyspaces of SetKeyspaces, up to kscount.MaxNamed; the rest count under
// "other").
type KeyspaceStats struct {
	Keyspace            string
	Hits, Stale, Misses uint64
}

// KeyspaceStats returns the node's per-keyspace TC.GET counts, "other"
// first.
func (n *Node) KeyspaceStats() []KeyspaceStats {
	act := n.activity()
	idx := &n.tier.obs.ks
	idx.Sync(n.cluster().keyspaces.Load()) // a table no read has seen yet
	names := idx.Names()
	out := make([]KeyspaceStats, len(names))
	for slot, name := range names {
		out[slot] = KeyspaceStats{Keyspace: name, Hits: act.ksHits.Load(slot), Stale: act.ksStale.Load(slot), Misses: act.ksMisses.Load(slot)}
	}
	return out
}
