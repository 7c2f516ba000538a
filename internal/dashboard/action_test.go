package dashboard

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// postJSON sends body to path as a same-origin page would, after mod
// has adjusted the request.
func postJSON(t *testing.T, h http.Handler, path, body string, mod func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://dash.test"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://dash.test")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if mod != nil {
		mod(req)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func postAction(t *testing.T, h http.Handler, body string, mod func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	return postJSON(t, h, "/api/action", body, mod)
}

func TestActionRefusesBadInput(t *testing.T) {
	big := `{"kind":"kill-node","target":"` + strings.Repeat("x", MaxActionBytes) + `"}`
	cases := []struct {
		name   string
		method string
		body   string
		mod    func(*http.Request)
		status int
		says   string // a word the error message must contain
	}{
		{name: "GET", method: http.MethodGet, status: http.StatusMethodNotAllowed, says: "POST"},
		{name: "PUT", method: http.MethodPut, body: `{"kind":"kill-node","target":"eu-l2-1"}`, status: http.StatusMethodNotAllowed, says: "POST"},
		{name: "text/plain", body: `{"kind":"kill-node","target":"eu-l2-1"}`,
			mod: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, status: http.StatusUnsupportedMediaType, says: "application/json"},
		{name: "form", body: `kind=kill-node&target=eu-l2-1`,
			mod: func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, status: http.StatusUnsupportedMediaType, says: "application/json"},
		{name: "no content type", body: `{"kind":"kill-node","target":"eu-l2-1"}`,
			mod: func(r *http.Request) { r.Header.Del("Content-Type") }, status: http.StatusUnsupportedMediaType, says: "Content-Type"},
		{name: "foreign origin", body: `{"kind":"kill-node","target":"eu-l2-1"}`,
			mod: func(r *http.Request) { r.Header.Set("Origin", "http://evil.example"); r.Header.Del("Sec-Fetch-Site") }, status: http.StatusForbidden, says: "evil.example"},
		{name: "same host other port", body: `{"kind":"kill-node","target":"eu-l2-1"}`,
			mod: func(r *http.Request) { r.Header.Set("Origin", "http://dash.test:9999"); r.Header.Del("Sec-Fetch-Site") }, status: http.StatusForbidden, says: "not this host"},
		{name: "null origin", body: `{"kind":"kill-node","target":"eu-l2-1"}`,
			mod: func(r *http.Request) { r.Header.Set("Origin", "null"); r.Header.Del("Sec-Fetch-Site") }, status: http.StatusForbidden, says: "not this host"},
		{name: "cross-site fetch", body: `{"kind":"kill-node","target":"eu-l2-1"}`,
			mod: func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, status: http.StatusForbidden, says: "cross-site"},
		{name: "too large", body: big, status: http.StatusRequestEntityTooLarge, says: "bytes"},
		{name: "too large, length unknown", body: big,
			mod: func(r *http.Request) { r.ContentLength = -1 }, status: http.StatusRequestEntityTooLarge, says: "bytes"},
		{name: "empty body", body: ``, status: http.StatusBadRequest, says: "empty"},
		{name: "not JSON", body: `kill it`, status: http.StatusBadRequest, says: "malformed"},
		{name: "unknown field", body: `{"kind":"kill-node","target":"eu-l2-1","force":true}`, status: http.StatusBadRequest, says: "force"},
		{name: "two objects", body: `{"kind":"kill-node","target":"eu-l2-1"}{"kind":"kill-node","target":"us-l2-1"}`, status: http.StatusBadRequest, says: "after"},
		{name: "unknown kind", body: `{"kind":"format-disk","target":"eu-l2-1"}`, status: http.StatusBadRequest, says: "format-disk"},
		{name: "no kind", body: `{"target":"eu-l2-1"}`, status: http.StatusBadRequest, says: "unknown action kind"},
		{name: "kill without target", body: `{"kind":"kill-node"}`, status: http.StatusBadRequest, says: "needs a target"},
		{name: "partition without target", body: `{"kind":"partition-region","target":""}`, status: http.StatusBadRequest, says: "needs a target"},
		{name: "control character in target", body: `{"kind":"kill-node","target":"eu\u0000l2"}`, status: http.StatusBadRequest, says: "unprintable"},
		{name: "target too long", body: `{"kind":"expire-hot-key","target":"` + strings.Repeat("k", maxTargetLen+1) + `"}`, status: http.StatusBadRequest, says: "over"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := twoSamples()
			s := newTestServer(t, src, Options{})
			method := c.method
			if method == "" {
				method = http.MethodPost
			}
			rec := postAction(t, s.Handler(), c.body, func(r *http.Request) {
				r.Method = method
				if c.mod != nil {
					c.mod(r)
				}
			})
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			msg, _ := decodeMap(t, rec)["error"].(string)
			if !strings.Contains(msg, c.says) {
				t.Errorf("error %q does not mention %q", msg, c.says)
			}
			if c.status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "POST" {
				t.Errorf("Allow %q, want POST", rec.Header().Get("Allow"))
			}
			if got := src.actions(); len(got) != 0 {
				t.Errorf("the source received %v from a refused request", got)
			}
		})
	}
}

func TestActionReachesTheSourceAndShowsAtOnce(t *testing.T) {
	src := twoSamples()
	s := newTestServer(t, src, Options{})
	s.sample()
	s.sample()

	rec := postAction(t, s.Handler(), `{"kind":"kill-node","target":"eu-l2-1"}`, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	m := decodeMap(t, rec)
	if m["ok"] != true {
		t.Errorf("response %v, want ok", m)
	}
	if got := src.actions(); len(got) != 1 || got[0] != (Action{Kind: ActionKillNode, Target: "eu-l2-1"}) {
		t.Fatalf("source got %v, want one kill-node eu-l2-1", got)
	}
	// The page sees the node down without waiting for the next sample.
	snap := decodeMap(t, get(t, s.Handler(), "/api/snapshot"))["snapshot"].(map[string]any)
	node := snap["regions"].([]any)[0].(map[string]any)["nodes"].([]any)[0].(map[string]any)
	if node["running"] != false || node["state"] != "down" {
		t.Errorf("after the kill the snapshot shows node %v, want running false, state down", node)
	}
}

func TestActionWithoutOriginAndEmptyHotKeyTarget(t *testing.T) {
	src := twoSamples()
	s := newTestServer(t, src, Options{})
	// A client that is no browser page sends no Origin: allowed.
	rec := postAction(t, s.Handler(), `{"kind":"expire-hot-key","target":""}`, func(r *http.Request) {
		r.Header.Del("Origin")
		r.Header.Del("Sec-Fetch-Site")
		r.Header.Set("Content-Type", "application/json; charset=utf-8")
	})
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if got := src.actions(); len(got) != 1 || got[0] != (Action{Kind: ActionExpireHotKey}) {
		t.Errorf("source got %v, want expire-hot-key with an empty target", got)
	}
}

func TestActionErrorsFromTheSource(t *testing.T) {
	src := twoSamples()
	src.actErr = errors.New("no node zz-l2-9")
	s := newTestServer(t, src, Options{})
	rec := postAction(t, s.Handler(), `{"kind":"restart-node","target":"zz-l2-9"}`, nil)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422: %s", rec.Code, rec.Body)
	}
	if msg, _ := decodeMap(t, rec)["error"].(string); !strings.Contains(msg, "no node zz-l2-9") {
		t.Errorf("error %q does not carry the source's message", msg)
	}
}

func TestActionTimeout(t *testing.T) {
	src := twoSamples()
	src.actFn = func(ctx context.Context, a Action) error {
		<-ctx.Done() // an action that never finishes on its own
		return ctx.Err()
	}
	s := newTestServer(t, src, Options{ActionTimeout: 20 * time.Millisecond})
	rec := postAction(t, s.Handler(), `{"kind":"heal-region","target":"eu"}`, nil)
	if rec.Code != http.StatusGatewayTimeout {
		t.Fatalf("status %d, want 504: %s", rec.Code, rec.Body)
	}
	body, _ := io.ReadAll(rec.Body)
	if !strings.Contains(string(body), "did not finish") {
		t.Errorf("body %s", body)
	}
}
