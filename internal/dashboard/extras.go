package dashboard

import (
	"context"
	"net/http"
)

// The dashboard's optional extras: a Source that implements one of these
// interfaces gets the matching endpoint, and the page its card. A Source
// that does not is served as before (/metrics is then not found, and
// POST /api/trace answers 501).

// MetricsSource is a Source that exports its components' metrics. The
// server mounts the handler on GET /metrics (Prometheus text).
type MetricsSource interface {
	MetricsHandler() http.Handler
}

// TraceSource is a Source that can trace one read end to end. TraceGet
// reads key in region with tracing on and returns that read's spans;
// key "" lets the source pick a key that shows the most (cold, with its
// global-tier owner in another region). region names a region of the
// snapshots. It must be safe for concurrent use; ctx bounds it.
type TraceSource interface {
	TraceGet(ctx context.Context, region, key string) (Trace, error)
}

// mountExtras adds the endpoints of the extras src offers.
func (s *Server) mountExtras(mux *http.ServeMux) {
	if ms, ok := s.src.(MetricsSource); ok {
		if h := ms.MetricsHandler(); h != nil {
			mux.Handle("GET /metrics", h)
		}
	}
	mux.HandleFunc("/api/trace", s.handleTrace)
}
