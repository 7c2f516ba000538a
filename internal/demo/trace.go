package demo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/federated"
	"github.com/tiercache/tiercache/internal/dashboard"
)

var _ dashboard.TraceSource = (*Demo)(nil)

// Tracing in the demo. Every L2 node, L3 node and federation endpoint has
// a tracer provider of its own whose spans go to a small in-memory ring
// (a spanRecorder), as separate processes would each export their own.
// Nodes only trace requests that arrive with a trace context, and the
// workload's clients have no tracer, so the workload records nothing:
// only TraceGet's reads, made by a client of their own that samples every
// read, leave spans behind.

// recorderSpans bounds each component's ring of ended spans: a trace
// leaves one to three per component, so this keeps the last hundred or
// so traces while the memory stays small.
const recorderSpans = 512

// traceSettle is how long a trace's set of spans must stay unchanged
// before TraceGet takes it as complete (server spans end as their replies
// go out, just after the caller has its answer); traceWait bounds the wait.
const (
	traceSettle = 100 * time.Millisecond
	traceWait   = 3 * time.Second
)

// tracers are the components' recorders, by service and node.
type tracers struct {
	mu    sync.Mutex
	byKey map[string]*spanRecorder
	list  []*spanRecorder
	seq   atomic.Uint64 // picks TraceGet's fresh keys
}

// provider returns the tracer provider of one component (the same one
// for a restarted node with the same id, so its spans stay together).
func (t *tracers) provider(service, region, node string) trace.TracerProvider {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := service + "/" + node
	if r := t.byKey[key]; r != nil {
		return r.tp
	}
	if t.byKey == nil {
		t.byKey = map[string]*spanRecorder{}
	}
	r := newSpanRecorder(service, region, node, recorderSpans)
	t.byKey[key] = r
	t.list = append(t.list, r)
	return r.tp
}

func (t *tracers) recorders() []*spanRecorder {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.list)
}

func (t *tracers) shutdown() {
	for _, r := range t.recorders() {
		_ = r.tp.Shutdown(context.Background())
	}
}

// spanRecorder is a span processor keeping one component's last ended
// spans in a ring.
type spanRecorder struct {
	service, region, node string
	tp                    *sdktrace.TracerProvider

	mu   sync.Mutex
	ring []sdktrace.ReadOnlySpan
	next int
}

func newSpanRecorder(service, region, node string, capacity int) *spanRecorder {
	r := &spanRecorder{service: service, region: region, node: node, ring: make([]sdktrace.ReadOnlySpan, capacity)}
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r))
	return r
}

func (r *spanRecorder) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (r *spanRecorder) OnEnd(s sdktrace.ReadOnlySpan) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ring[r.next] = s
	r.next = (r.next + 1) % len(r.ring)
}

func (r *spanRecorder) Shutdown(context.Context) error   { return nil }
func (r *spanRecorder) ForceFlush(context.Context) error { return nil }

// spansOf returns the recorded spans of trace id.
func (r *spanRecorder) spansOf(id trace.TraceID) []sdktrace.ReadOnlySpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []sdktrace.ReadOnlySpan
	for _, s := range r.ring {
		if s != nil && s.SpanContext().TraceID() == id {
			out = append(out, s)
		}
	}
	return out
}

// recordedSpan is a span with the component that recorded it.
type recordedSpan struct {
	span sdktrace.ReadOnlySpan
	from *spanRecorder
}

// TraceGet reads key in region through a client of its own that traces
// every read, and returns the spans that read left in every tier. Key ""
// picks a fresh key (a row written to the origin just before, never read
// by the workload) whose global-tier owner is in another region: its
// trace goes from the client through the region's L2 owner, across the
// QUIC link to the remote L3 node, and back to the origin load.
func (d *Demo) TraceGet(ctx context.Context, region, key string) (dashboard.Trace, error) {
	var a *app
	for _, x := range d.apps {
		if x.region.Name == region {
			a = x
		}
	}
	if a == nil {
		return dashboard.Trace{}, fmt.Errorf("%w: %q", federated.ErrUnknownRegion, region)
	}
	if key == "" {
		var err error
		if key, err = d.coldRemoteKey(ctx, a.region); err != nil {
			return dashboard.Trace{}, err
		}
	}
	local := newSpanRecorder("client", region, "app", recorderSpans)
	defer func() { _ = local.tp.Shutdown(context.Background()) }()
	c, stop, err := d.tracingClient(a.region, local.tp)
	if err != nil {
		return dashboard.Trace{}, err
	}
	defer func() {
		stop()
		_ = c.Close()
	}()
	loader := tiercache.LoaderFunc(d.db.Load)
	if _, err := c.Get(ctx, key, loader); err != nil {
		return dashboard.Trace{}, fmt.Errorf("demo: traced read of %s in %s: %w", key, region, err)
	}
	var root sdktrace.ReadOnlySpan
	for _, s := range local.allSpans() {
		if s.Name() == tiercache.SpanGet {
			root = s
		}
	}
	if root == nil {
		return dashboard.Trace{}, fmt.Errorf("demo: the read of %s in %s left no span: an L1 hit never leaves the app", key, region)
	}
	spans, err := d.gather(ctx, root.SpanContext().TraceID(), local)
	if err != nil {
		return dashboard.Trace{}, err
	}
	return buildTrace(root.SpanContext().TraceID(), region, key, spans), nil
}

// allSpans returns every span in the ring.
func (r *spanRecorder) allSpans() []sdktrace.ReadOnlySpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []sdktrace.ReadOnlySpan
	for _, s := range r.ring {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// coldRemoteKey writes a fresh row whose key's global-tier owner is in
// another region than r, and returns its key.
func (d *Demo) coldRemoteKey(ctx context.Context, r *federated.Region) (string, error) {
	for range 1000 {
		// Past the seeded rows: the workload reads and writes only those.
		key := d.db.Key(d.opts.Rows + int(d.inst.traces.seq.Add(1)))
		owner, err := r.Client.Owner([]byte(key))
		if err != nil {
			return "", fmt.Errorf("demo: global owner of %s: %w", key, err)
		}
		if owner.Region == "" || owner.Region == r.Name {
			continue
		}
		if _, err := d.db.Write(ctx, key, []byte("traced")); err != nil {
			return "", fmt.Errorf("demo: writing %s to trace it: %w", key, err)
		}
		return key, nil
	}
	return "", fmt.Errorf("demo: no key with a global owner outside %s in 1000 tries", r.Name)
}

// tracingClient returns a client of region r that follows the topology
// and traces every read into tp.
func (d *Demo) tracingClient(r *federated.Region, tp trace.TracerProvider) (*tiercache.Client, func(), error) {
	// Generous timeouts: the traced read crosses the WAN twice, and a
	// timeout would show a degraded read instead of the path through L3.
	cfg := tiercache.Config{
		Region: r.Name, Keyspaces: d.keyspaces(), TracerProvider: tp,
		DialTimeout: 5 * time.Second, OpTimeout: 10 * time.Second,
	}
	for _, p := range r.Peers() {
		cfg.Nodes = append(cfg.Nodes, tiercache.Node{ID: p.ID, Addr: p.Addr})
	}
	c, err := tiercache.New(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("demo: tracing client in %s: %w", r.Name, err)
	}
	stop := func() {}
	if w := d.dep.Watcher(); w != nil {
		stop = c.FollowTopology(w, r.Name)
	}
	return c, stop, nil
}

// gather collects trace id's spans from every recorder, waiting until
// every span's parent is among them and the set has stopped growing for
// traceSettle (or traceWait has passed: what came is returned).
func (d *Demo) gather(ctx context.Context, id trace.TraceID, local *spanRecorder) ([]recordedSpan, error) {
	deadline := time.Now().Add(traceWait)
	var (
		last    []recordedSpan
		changed = time.Now()
	)
	for {
		var cur []recordedSpan
		for _, r := range append(d.inst.traces.recorders(), local) {
			for _, s := range r.spansOf(id) {
				cur = append(cur, recordedSpan{span: s, from: r})
			}
		}
		if len(cur) != len(last) {
			last, changed = cur, time.Now()
		}
		now := time.Now()
		if (parentsPresent(last) && now.Sub(changed) >= traceSettle) || now.After(deadline) {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("demo: gathering the trace's spans: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// parentsPresent reports whether every span's parent is in spans (the
// root has none).
func parentsPresent(spans []recordedSpan) bool {
	ids := map[trace.SpanID]bool{}
	for _, s := range spans {
		ids[s.span.SpanContext().SpanID()] = true
	}
	for _, s := range spans {
		if p := s.span.Parent(); p.IsValid() && !ids[p.SpanID()] {
			return false
		}
	}
	return true
}

// buildTrace lays the spans out for the page: by start time, offsets
// from the first, parents by index.
func buildTrace(id trace.TraceID, region, key string, spans []recordedSpan) dashboard.Trace {
	slices.SortStableFunc(spans, func(a, b recordedSpan) int { return a.span.StartTime().Compare(b.span.StartTime()) })
	tr := dashboard.Trace{TraceID: id.String(), Region: region, Key: key, Spans: []dashboard.TraceSpan{}}
	if len(spans) == 0 {
		return tr
	}
	begin, end := spans[0].span.StartTime(), spans[0].span.EndTime()
	index := map[trace.SpanID]int{}
	for i, s := range spans {
		index[s.span.SpanContext().SpanID()] = i
		if s.span.EndTime().After(end) {
			end = s.span.EndTime()
		}
	}
	for _, s := range spans {
		sp := s.span
		ts := dashboard.TraceSpan{
			Name: sp.Name(), Service: s.from.service, Region: s.from.region, Node: s.from.node,
			Kind:       strings.TrimPrefix(sp.SpanKind().String(), "SpanKind"),
			StartMs:    spanMs(sp.StartTime().Sub(begin)),
			DurationMs: spanMs(sp.EndTime().Sub(sp.StartTime())),
			Parent:     -1,
			Attrs:      spanAttrs(sp),
		}
		if sp.Name() == tiercache.SpanLoad {
			ts.Service = "origin"
		}
		if i, ok := index[sp.Parent().SpanID()]; ok && sp.Parent().IsValid() {
			ts.Parent = i
		}
		if st := sp.Status(); st.Code == codes.Error {
			ts.Error = st.Description
		}
		tr.Spans = append(tr.Spans, ts)
	}
	tr.DurationMs = spanMs(end.Sub(begin))
	return tr
}

// maxSpanAttrs bounds the attributes shown per span.
const maxSpanAttrs = 8

// spanAttrs returns the span's tiercache.* attributes, without the prefix.
func spanAttrs(s sdktrace.ReadOnlySpan) map[string]string {
	out := map[string]string{}
	for _, kv := range s.Attributes() {
		k := string(kv.Key)
		if !strings.HasPrefix(k, "tiercache.") || len(out) == maxSpanAttrs {
			continue
		}
		out[strings.TrimPrefix(k, "tiercache.")] = kv.Value.Emit()
	}
	return out
}

func spanMs(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
