package tiercache

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/tcproto"
	"github.com/tiercache/tiercache/internal/telemetry/tracing"
)

// Span names and attribute keys of the client's spans (Config.TracerProvider).
const (
	SpanGet  = "tiercache.Get"  // a read that left L1
	SpanNode = "TC.GET"         // one request to an L2 node
	SpanLoad = "tiercache.Load" // one Loader call (the origin)

	attrKeyspace = attribute.Key("tiercache.keyspace")
	attrNode     = attribute.Key("tiercache.node")
	attrStatus   = attribute.Key("tiercache.status")
)

// getTraced is getMiss inside a span. Keys are not recorded (they may
// name people); their keyspace is.
func (c *Client) getTraced(ctx context.Context, dst []byte, rq *readReq) ([]byte, error) {
	ctx, span := c.cfg.tracer.Start(ctx, SpanGet,
		trace.WithAttributes(attrKeyspace.String(string(keyspace.Of(rq.kb)))))
	v, err := c.getMiss(ctx, dst, rq)
	endSpan(span, err)
	return v, err
}

// nodeGet sends one TC.GET to n, inside a client span whose context
// travels with the request when tracing is on.
func (c *Client) nodeGet(ctx context.Context, n *nodeClient, deadline time.Time, req tcproto.GetRequest, dst []byte) (getReply, []byte, error) {
	tr := c.cfg.tracer
	if tr == nil {
		return n.get(ctx, deadline, req, dst)
	}
	ctx, span := tr.Start(ctx, SpanNode, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attrNode.String(n.id)))
	var buf [tracing.TraceparentLen]byte
	if sc := span.SpanContext(); sc.IsValid() {
		req.Trace = tracing.AppendTraceparent(buf[:0], sc)
	}
	rep, v, err := n.get(ctx, deadline, req, dst)
	if err == nil {
		span.SetAttributes(attrStatus.String(rep.status.String()))
	}
	endSpan(span, err)
	return rep, v, err
}

// loadTraced calls the Loader inside a span.
func (c *Client) loadTraced(ctx context.Context, tr *tracing.Tracer, rq *readReq, h Hints) ([]byte, error) {
	ctx, span := tr.Start(ctx, SpanLoad, trace.WithAttributes(
		attrKeyspace.String(string(keyspace.Of(rq.kb))),
		attribute.Bool("tiercache.background", h.Background),
		attribute.Bool("tiercache.leased", h.Leased),
		attribute.Bool("tiercache.degraded", h.Degraded)))
	v, err := rq.loader.Load(withHints(ctx, h), rq.key)
	endSpan(span, err)
	return v, err
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
