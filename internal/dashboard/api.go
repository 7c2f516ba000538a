package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// SnapshotResponse is the body of GET /api/snapshot.
type SnapshotResponse struct {
	IntervalMs int64    `json:"interval_ms"` // the sampling interval; the page refreshes at it
	Snapshot   Snapshot `json:"snapshot"`    // the latest snapshot
	Rates      *Rates   `json:"rates"`       // the latest interval's rates; null before two samples
}

// errorResponse is the body of every API error.
type errorResponse struct {
	Error string `json:"error"`
}

// routes wires the page, its assets and the API.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/snapshot", s.handleSnapshot)
	mux.HandleFunc("/api/history", s.handleHistory)
	mux.HandleFunc("/api/action", s.handleAction)
	s.mountExtras(mux) // /metrics and /api/trace, for sources that offer them (extras.go)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no API endpoint %s", r.URL.Path))
	})
	mux.Handle("GET /assets/", http.FileServerFS(assets)) // URL paths are the embedded paths
	mux.HandleFunc("GET /{$}", serveIndex)
	mux.HandleFunc("/", http.NotFound)
	return securityHeaders(mux)
}

// securityHeaders keeps the page from being framed (the buttons kill
// nodes), from loading anything but its own assets, and from sniffing.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy",
			"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
				"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// allowGet answers 405 unless the request is a GET or HEAD.
func allowGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed: use GET", r.Method))
	return false
}

func (s *Server) handleSnapshot(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	s.mu.Lock()
	resp := SnapshotResponse{IntervalMs: s.opts.Interval.Milliseconds(), Snapshot: s.latest, Rates: s.latestRates}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// handleHistory serves the last window_s seconds of rates (all of the
// history without it), counted back from the latest sample.
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	window := s.opts.History
	if v := r.URL.Query().Get("window_s"); v != "" {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("window_s must be a positive whole number of seconds, got %q", v))
			return
		}
		if secs < int64(s.opts.History/time.Second) {
			window = time.Duration(secs) * time.Second
		}
	}
	s.mu.Lock()
	var samples []Rates
	if s.hasPrev {
		samples = s.hist.since(s.prev.TimeMs - window.Milliseconds())
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, buildHistory(s.opts.Interval.Milliseconds(), samples))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the response: "+err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(errorResponse{Error: msg}) // a string always encodes
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
