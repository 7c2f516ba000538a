package l3

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/telemetry/kscount"
	"github.com/tiercache/tiercache/internal/telemetry/tracing"
)

// SpanGet is the name of the span of a traced Get served for another
// region (SetTracerProvider).
const SpanGet = "l3.Get"

// nodeObs is a node's tracing and per-keyspace counts.
type nodeObs struct {
	tracer              tracing.Ref
	keyspaces           atomic.Pointer[keyspace.Table]
	index               kscount.Index
	hits, stale, misses kscount.Row
}

// Get reads a key. A fresh value is a hit; a soft-expired one is stale,
// with a refresh token for the first reader of the lease period when the
// mode grants tokens; a miss grants per req.Mode (see the package doc).
func (n *Node) Get(req GetRequest) (GetReply, error) {
	rep, err := n.get(req)
	if err == nil {
		o := &n.obs
		slot := o.index.Slot(o.keyspaces.Load(), req.Key)
		switch rep.Status {
		case StatusHit:
			o.hits.Add(slot)
		case StatusStale:
			o.stale.Add(slot)
		default:
			o.misses.Add(slot)
		}
	}
	return rep, err
}

// SetKeyspaces names the keyspaces the node counts reads of separately
// (KeyspaceStats, the keyspace metrics); keys of others count under
// "other". nil keeps the names learned so far.
func (n *Node) SetKeyspaces(t *keyspace.Table) { n.obs.keyspaces.Store(t) }

// KeyspaceStats are a node's reads of one keyspace.
type KeyspaceStats struct {
	Keyspace            string
	Hits, Stale, Misses uint64
}

// KeyspaceStats returns the node's per-keyspace reads, "other" first.
func (n *Node) KeyspaceStats() []KeyspaceStats {
	o := &n.obs
	o.index.Sync(o.keyspaces.Load())
	names := o.index.Names()
	out := make([]KeyspaceStats, len(names))
	for slot, name := range names {
		out[slot] = KeyspaceStats{Keyspace: name, Hits: o.hits.Load(slot), Stale: o.stale.Load(slot), Misses: o.misses.Load(slot)}
	}
	return out
}

// SetTracerProvider makes the node trace the Gets other regions send it
// with a trace context (federation carries it; see Serve): a server span
// per Get, the child of the caller's federation span. nil (the default)
// turns tracing off.
func (n *Node) SetTracerProvider(tp trace.TracerProvider) { n.obs.tracer.Set(tp) }

// traceGet starts the span of a Get served for another region when the
// node traces and ctx is part of a trace.
func (n *Node) traceGet(ctx context.Context, req GetRequest) (trace.Span, bool) {
	tr := n.obs.tracer.Load()
	if tr == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return nil, false
	}
	_, span := tr.Start(ctx, SpanGet, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("tiercache.node", n.cfg.ID),
		attribute.String("tiercache.region", n.cfg.Region),
		attribute.String("tiercache.keyspace", string(keyspace.Of(req.Key))),
		attribute.Int("tiercache.mode", int(req.Mode))))
	return span, true
}
