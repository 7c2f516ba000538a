package dashboard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// twoSamples is a source whose first two snapshots are a second apart.
func twoSamples() *scriptedSource {
	return &scriptedSource{snaps: []Snapshot{
		{TimeMs: 1_000, Epoch: 7, Leader: "meta-1", Regions: []RegionState{region("eu", 100, 50, 20, 10, 5)}},
		{TimeMs: 2_000, Epoch: 7, Leader: "meta-1",
			Regions: []RegionState{region("eu", 1100, 850, 120, 20, 15)},
			Links:   []LinkState{{From: "eu", To: "us", Connected: true, RTTMs: 70, LagP99Ms: 42}},
			HotKeys: []HotKey{{Key: "item:1", Region: "eu", Rate: 900}},
			Events:  []Event{{TimeMs: 1500, Text: "started"}}},
	}}
}

// newTestServer builds a Server that samples only when the test says.
func newTestServer(t *testing.T, src Source, opts Options) *Server {
	t.Helper()
	s, err := newServer(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

// decodeMap decodes a JSON object body, failing on anything else.
func decodeMap(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, rec.Body)
	}
	return m
}

func hasKeys(t *testing.T, what string, v any, keys ...string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is %T, want an object", what, v)
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s has no %q (keys: %v)", what, k, keysOf(m))
		}
	}
	return m
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestSnapshotEndpointBeforeAndAfterTwoSamples(t *testing.T) {
	src := twoSamples()
	s := newTestServer(t, src, Options{Interval: 500 * time.Millisecond})
	s.sample()

	rec := get(t, s.Handler(), "/api/snapshot")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	m := decodeMap(t, rec)
	if m["rates"] != nil {
		t.Errorf("rates after one sample = %v, want null", m["rates"])
	}
	if m["interval_ms"] != 500.0 {
		t.Errorf("interval_ms = %v, want 500", m["interval_ms"])
	}

	s.sample()
	m = decodeMap(t, get(t, s.Handler(), "/api/snapshot"))
	snap := hasKeys(t, "snapshot", m["snapshot"], "time_ms", "epoch", "leader", "regions", "links", "hot_keys", "events")
	if snap["epoch"] != 7.0 || snap["leader"] != "meta-1" || snap["time_ms"] != 2000.0 {
		t.Errorf("snapshot header %v %v %v, want 7 meta-1 2000", snap["epoch"], snap["leader"], snap["time_ms"])
	}
	regions := snap["regions"].([]any)
	reg := hasKeys(t, "region", regions[0], "name", "partitioned", "nodes", "requests", "l1_hits", "l2_hits",
		"l3_hits", "origin_loads", "stale_reads", "ryw_checks", "ryw_violations", "errors", "p50_ms", "p99_ms")
	hasKeys(t, "node", reg["nodes"].([]any)[0], "id", "tier", "addr", "state", "running", "keys", "breaker")
	hasKeys(t, "link", snap["links"].([]any)[0], "from", "to", "connected", "rtt_ms", "lag_p50_ms", "lag_p99_ms", "backlog")
	hasKeys(t, "hot key", snap["hot_keys"].([]any)[0], "key", "region", "rate")
	hasKeys(t, "event", snap["events"].([]any)[0], "time_ms", "text")

	rates := hasKeys(t, "rates", m["rates"], "time_ms", "interval_ms", "total", "regions", "links")
	total := hasKeys(t, "rates.total", rates["total"], "requests_per_s", "l1_ratio", "l2_ratio", "l3_ratio",
		"origin_ratio", "origin_loads_per_s", "stale_reads_per_s", "errors_per_s", "ryw_violations")
	// 1000 requests in 1 s: 800 from L1, 100 from L2, 10 from L3, 10 origin loads.
	if total["requests_per_s"] != 1000.0 || total["l1_ratio"] != 0.8 || total["l2_ratio"] != 0.1 ||
		total["l3_ratio"] != 0.01 || total["origin_loads_per_s"] != 10.0 {
		t.Errorf("total rates %v", total)
	}
	rr := hasKeys(t, "rates.regions[0]", rates["regions"].([]any)[0], "name", "requests_per_s", "l1_ratio", "p50_ms", "p99_ms")
	if rr["name"] != "eu" || rr["requests_per_s"] != 1000.0 {
		t.Errorf("region rates %v", rr)
	}
	hasKeys(t, "rates.links[0]", rates["links"].([]any)[0], "from", "to", "connected", "lag_p50_ms", "lag_p99_ms", "backlog")
}

func TestHistoryEndpoint(t *testing.T) {
	src := &scriptedSource{}
	for i := range 6 {
		n := uint64(i) * 100
		src.snaps = append(src.snaps, Snapshot{TimeMs: int64(i+1) * 1000,
			Regions: []RegionState{region("eu", n, n/2, 0, 0, uint64(i))}})
	}
	s := newTestServer(t, src, Options{})
	for range 6 {
		s.sample()
	}

	m := decodeMap(t, get(t, s.Handler(), "/api/history"))
	hasKeys(t, "history", m, "interval_ms", "time_ms", "total", "regions", "links")
	if got := m["time_ms"].([]any); len(got) != 5 || got[0] != 2000.0 || got[4] != 6000.0 {
		t.Errorf("time_ms %v, want the 5 intervals 2000..6000", got)
	}
	total := hasKeys(t, "total", m["total"], "requests_per_s", "l1_ratio", "l2_ratio", "l3_ratio", "origin_ratio", "origin_loads_per_s")
	for _, v := range total["requests_per_s"].([]any) {
		if v != 100.0 {
			t.Errorf("requests_per_s %v, want 100 each second", total["requests_per_s"])
			break
		}
	}
	if l1 := total["l1_ratio"].([]any); l1[0] != 0.5 {
		t.Errorf("l1_ratio %v, want 0.5", l1)
	}
	reg := hasKeys(t, "regions[0]", m["regions"].([]any)[0], "name", "requests_per_s", "p50_ms", "p99_ms", "origin_loads_per_s")
	if len(reg["p99_ms"].([]any)) != 5 {
		t.Errorf("region series not aligned with time_ms: %v", reg["p99_ms"])
	}

	// A window counts back from the latest sample (6000): 2 s keeps 4000..6000.
	m = decodeMap(t, get(t, s.Handler(), "/api/history?window_s=2"))
	if got := m["time_ms"].([]any); len(got) != 3 || got[0] != 4000.0 {
		t.Errorf("window_s=2: time_ms %v, want 4000, 5000, 6000", got)
	}

	for _, bad := range []string{"0", "-3", "abc", "1.5"} {
		rec := get(t, s.Handler(), "/api/history?window_s="+bad)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("window_s=%s: status %d, want 400", bad, rec.Code)
		}
		if e := decodeMap(t, rec)["error"]; e == nil || e == "" {
			t.Errorf("window_s=%s: no error message", bad)
		}
	}
}

func TestHistoryBeforeAnySampleIsEmpty(t *testing.T) {
	s := newTestServer(t, twoSamples(), Options{})
	m := decodeMap(t, get(t, s.Handler(), "/api/history"))
	if got, ok := m["time_ms"].([]any); !ok || len(got) != 0 {
		t.Errorf("time_ms = %v, want []", m["time_ms"])
	}
	if got, ok := m["regions"].([]any); !ok || len(got) != 0 {
		t.Errorf("regions = %v, want []", m["regions"])
	}
}

func TestReadEndpointsRefuseOtherMethods(t *testing.T) {
	s := newTestServer(t, twoSamples(), Options{})
	for _, path := range []string{"/api/snapshot", "/api/history"} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader("{}")))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("POST %s: status %d Allow %q, want 405 with Allow GET, HEAD", path, rec.Code, rec.Header().Get("Allow"))
		}
		if decodeMap(t, rec)["error"] == nil {
			t.Errorf("POST %s: no JSON error", path)
		}
	}
	rec := get(t, s.Handler(), "/api/nothing")
	if rec.Code != http.StatusNotFound || decodeMap(t, rec)["error"] == nil {
		t.Errorf("unknown API path: status %d, want a 404 JSON error", rec.Code)
	}
	if rec := get(t, s.Handler(), "/nothing"); rec.Code != http.StatusNotFound {
		t.Errorf("unknown page: status %d, want 404", rec.Code)
	}
}

func TestPageAndAssetsAreServedFromTheBinary(t *testing.T) {
	s := newTestServer(t, twoSamples(), Options{})
	rec := get(t, s.Handler(), "/")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: status %d type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	page := rec.Body.String()
	for _, want := range []string{`href="/assets/style.css"`, `src="/assets/app.js"`, `id="topology"`, `id="chart-hits"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q does not keep the page to its own origin", csp)
	}
	for path, typ := range map[string]string{"/assets/app.js": "javascript", "/assets/style.css": "text/css"} {
		rec := get(t, s.Handler(), path)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Type"), typ) {
			t.Errorf("GET %s: status %d type %q, want 200 %s", path, rec.Code, rec.Header().Get("Content-Type"), typ)
		}
		body, _ := io.ReadAll(rec.Body)
		if len(body) == 0 {
			t.Errorf("GET %s: empty", path)
		}
	}
	// Nothing is loaded from another host: every src and href is local.
	for _, attr := range []string{`src="`, `href="`} {
		for _, part := range strings.Split(page, attr)[1:] {
			if !strings.HasPrefix(part, "/") {
				t.Errorf("page loads %s%s", attr, part[:min(len(part), 40)])
			}
		}
	}
}

func TestHistoryIsBounded(t *testing.T) {
	src := &scriptedSource{}
	for i := range 10 {
		n := uint64(i) * 10
		src.snaps = append(src.snaps, Snapshot{TimeMs: int64(i+1) * 1000, Regions: []RegionState{region("eu", n, n, 0, 0, 0)}})
	}
	// Three seconds at one sample a second: the ring keeps 4 samples.
	s := newTestServer(t, src, Options{Interval: time.Second, History: 3 * time.Second})
	for range 10 {
		s.sample()
	}
	m := decodeMap(t, get(t, s.Handler(), "/api/history"))
	if got := m["time_ms"].([]any); len(got) != 4 || got[0] != 7000.0 || got[3] != 10000.0 {
		t.Errorf("time_ms %v, want the newest 4 samples, 7000..10000", got)
	}
}
