package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// extrasSource is a scripted source that also traces reads (returning a
// trace built from its arguments) and serves metrics.
type extrasSource struct {
	*scriptedSource
	mu      sync.Mutex
	traced  []TraceRequest
	traceFn func(ctx context.Context, region, key string) (Trace, error) // replaces TraceGet's body when set
}

func (f *extrasSource) TraceGet(ctx context.Context, region, key string) (Trace, error) {
	f.mu.Lock()
	f.traced = append(f.traced, TraceRequest{Region: region, Key: key})
	fn := f.traceFn
	f.mu.Unlock()
	if fn != nil {
		return fn(ctx, region, key)
	}
	return Trace{TraceID: "t-" + region, Region: region, Key: key, DurationMs: 3, Spans: []TraceSpan{
		{Name: "get", Service: "client", Region: region, DurationMs: 3, Parent: -1},
		{Name: "load", Service: "origin", Region: region, StartMs: 1, DurationMs: 2, Parent: 0},
	}}, nil
}

func (f *extrasSource) requests() []TraceRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]TraceRequest(nil), f.traced...)
}

func (f *extrasSource) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "tiercache_fake_total{region=%q} 7\n", "eu")
	})
}

func postTrace(t *testing.T, h http.Handler, body string, mod func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	return postJSON(t, h, "/api/trace", body, mod)
}

func TestTraceRefusesBadInput(t *testing.T) {
	big := `{"region":"eu","key":"` + strings.Repeat("x", MaxTraceBytes) + `"}`
	ok := `{"region":"eu","key":"user:1"}`
	cases := []struct {
		name   string
		method string
		body   string
		mod    func(*http.Request)
		status int
		says   string
	}{
		{name: "GET", method: http.MethodGet, status: http.StatusMethodNotAllowed, says: "POST"},
		{name: "text/plain", body: ok, mod: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, status: http.StatusUnsupportedMediaType, says: "application/json"},
		{name: "no content type", body: ok, mod: func(r *http.Request) { r.Header.Del("Content-Type") }, status: http.StatusUnsupportedMediaType, says: "Content-Type"},
		{name: "foreign origin", body: ok,
			mod: func(r *http.Request) { r.Header.Set("Origin", "http://evil.example"); r.Header.Del("Sec-Fetch-Site") }, status: http.StatusForbidden, says: "evil.example"},
		{name: "cross-site fetch", body: ok, mod: func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, status: http.StatusForbidden, says: "cross-site"},
		{name: "too large", body: big, status: http.StatusRequestEntityTooLarge, says: "bytes"},
		{name: "too large, length unknown", body: big, mod: func(r *http.Request) { r.ContentLength = -1 }, status: http.StatusRequestEntityTooLarge, says: "bytes"},
		{name: "empty body", body: ``, status: http.StatusBadRequest, says: "empty"},
		{name: "not JSON", body: `trace it`, status: http.StatusBadRequest, says: "malformed"},
		{name: "unknown field", body: `{"region":"eu","depth":9}`, status: http.StatusBadRequest, says: "depth"},
		{name: "two objects", body: ok + ok, status: http.StatusBadRequest, says: "after"},
		{name: "no region", body: `{"key":"user:1"}`, status: http.StatusBadRequest, says: "needs a region"},
		{name: "control character in key", body: `{"region":"eu","key":"a\u0007b"}`, status: http.StatusBadRequest, says: "unprintable"},
		{name: "region too long", body: `{"region":"` + strings.Repeat("r", maxTargetLen+1) + `"}`, status: http.StatusBadRequest, says: "over"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := &extrasSource{scriptedSource: twoSamples()}
			s := newTestServer(t, src, Options{})
			method := c.method
			if method == "" {
				method = http.MethodPost
			}
			rec := postTrace(t, s.Handler(), c.body, func(r *http.Request) {
				r.Method = method
				if c.mod != nil {
					c.mod(r)
				}
			})
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			if msg, _ := decodeMap(t, rec)["error"].(string); !strings.Contains(msg, c.says) {
				t.Errorf("error %q does not mention %q", msg, c.says)
			}
			if got := src.requests(); len(got) != 0 {
				t.Errorf("the source traced %v for a refused request", got)
			}
		})
	}
}

func TestTraceReturnsTheSourcesTrace(t *testing.T) {
	src := &extrasSource{scriptedSource: twoSamples()}
	s := newTestServer(t, src, Options{})
	rec := postTrace(t, s.Handler(), `{"region":"eu","key":""}`, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var resp TraceResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if !resp.OK || resp.Trace.TraceID != "t-eu" || len(resp.Trace.Spans) != 2 || resp.Trace.Spans[1].Parent != 0 || resp.Trace.Spans[1].Service != "origin" {
		t.Errorf("response %+v", resp)
	}
	if got := src.requests(); len(got) != 1 || got[0] != (TraceRequest{Region: "eu"}) {
		t.Errorf("source traced %v, want one read in eu with no key", got)
	}
}

func TestTraceErrorsFromTheSource(t *testing.T) {
	src := &extrasSource{scriptedSource: twoSamples()}
	src.traceFn = func(context.Context, string, string) (Trace, error) {
		return Trace{}, errors.New("unknown region \"mars\"")
	}
	s := newTestServer(t, src, Options{})
	rec := postTrace(t, s.Handler(), `{"region":"mars"}`, nil)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422: %s", rec.Code, rec.Body)
	}
	if msg, _ := decodeMap(t, rec)["error"].(string); !strings.Contains(msg, `unknown region "mars"`) {
		t.Errorf("error %q does not carry the source's message", msg)
	}

	src.traceFn = func(ctx context.Context, _, _ string) (Trace, error) {
		<-ctx.Done() // a read that never finishes on its own
		return Trace{}, ctx.Err()
	}
	s = newTestServer(t, src, Options{ActionTimeout: 20 * time.Millisecond})
	if rec := postTrace(t, s.Handler(), `{"region":"eu"}`, nil); rec.Code != http.StatusGatewayTimeout {
		t.Fatalf("status %d, want 504: %s", rec.Code, rec.Body)
	}
}

// A source without the extras has no /metrics and answers a trace with 501.
func TestExtrasAbsentFromAPlainSource(t *testing.T) {
	s := newTestServer(t, twoSamples(), Options{})
	if rec := get(t, s.Handler(), "/metrics"); rec.Code != http.StatusNotFound {
		t.Errorf("/metrics of a plain source: status %d, want 404", rec.Code)
	}
	rec := postTrace(t, s.Handler(), `{"region":"eu"}`, nil)
	if rec.Code != http.StatusNotImplemented {
		t.Fatalf("trace of a plain source: status %d, want 501: %s", rec.Code, rec.Body)
	}
}

func TestMetricsServedFromTheSource(t *testing.T) {
	s := newTestServer(t, &extrasSource{scriptedSource: twoSamples()}, Options{})
	rec := get(t, s.Handler(), "/metrics")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if !strings.Contains(rec.Body.String(), `tiercache_fake_total{region="eu"} 7`) {
		t.Errorf("body %q lacks the source's series", rec.Body)
	}
	req := httptest.NewRequest(http.MethodPost, "/metrics", nil)
	post := httptest.NewRecorder()
	s.Handler().ServeHTTP(post, req)
	if post.Code == http.StatusOK {
		t.Errorf("POST /metrics served: %s", post.Body)
	}
}
