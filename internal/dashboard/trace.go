package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// MaxTraceBytes bounds the body of POST /api/trace: a region and a key.
const MaxTraceBytes = 2 << 10

// TraceRequest is the body of POST /api/trace.
type TraceRequest struct {
	Region string `json:"region"` // required
	Key    string `json:"key"`    // "" = let the source pick
}

// Trace is one traced read: its spans, gathered from every tier it went
// through, in the order the source chose (parents before children is
// usual but not required).
type Trace struct {
	TraceID    string      `json:"trace_id"`
	Region     string      `json:"region"`      // where the read was made
	Key        string      `json:"key"`         // what was read
	DurationMs float64     `json:"duration_ms"` // first span start to last span end
	Spans      []TraceSpan `json:"spans"`
}

// TraceSpan is one span of a Trace.
type TraceSpan struct {
	Name       string            `json:"name"`
	Service    string            `json:"service"` // the tier: client, l2, federation, l3, origin
	Region     string            `json:"region"`  // the region of the component that recorded it
	Node       string            `json:"node"`    // the node that recorded it ("" for the app client)
	Kind       string            `json:"kind"`    // client, server, internal
	StartMs    float64           `json:"start_ms"`
	DurationMs float64           `json:"duration_ms"`
	Parent     int               `json:"parent"` // index into Spans; -1 for the root
	Attrs      map[string]string `json:"attrs,omitempty"`
	Error      string            `json:"error,omitempty"`
}

// TraceResponse is the body of a successful POST /api/trace.
type TraceResponse struct {
	OK    bool  `json:"ok"`
	Trace Trace `json:"trace"`
}

// handleTrace runs one traced read: a same-origin POST of a small JSON
// TraceRequest, like an action (it makes a real read, which may load the
// origin).
func (s *Server) handleTrace(w http.ResponseWriter, r *http.Request) {
	if !checkPostedJSON(w, r) {
		return
	}
	ts, ok := s.src.(TraceSource)
	if !ok {
		writeError(w, http.StatusNotImplemented, "this source cannot trace reads")
		return
	}
	var req TraceRequest
	if status, err := decodeBody(w, r, &req, MaxTraceBytes, "trace request", `{"region": ..., "key": ...}`); err != nil {
		writeError(w, status, err.Error())
		return
	}
	if err := validateTraceRequest(req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.ActionTimeout)
	defer cancel()
	tr, err := ts.TraceGet(ctx, req.Region, req.Key)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			writeError(w, http.StatusGatewayTimeout, fmt.Sprintf("trace of a read in %s did not finish within %v: %v", req.Region, s.opts.ActionTimeout, err))
			return
		}
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("trace of a read in %s failed: %v", req.Region, err))
		return
	}
	writeJSON(w, http.StatusOK, TraceResponse{OK: true, Trace: tr})
}

// validateTraceRequest wants a region and printable, bounded names.
func validateTraceRequest(req TraceRequest) error {
	if req.Region == "" {
		return errors.New("trace request needs a region")
	}
	if err := checkName("trace region", req.Region); err != nil {
		return err
	}
	return checkName("trace key", req.Key)
}
