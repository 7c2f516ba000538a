// Package metricstest scrapes a Telemetry's /metrics the way Prometheus
// would and finds series in the text, for the components' metrics tests.
package metricstest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tiercache/tiercache/internal/telemetry"
)

// Scrape is one /metrics response body.
type Scrape string

// Get scrapes tel through its HTTP handler.
func Get(t testing.TB, tel *telemetry.Telemetry) Scrape {
	t.Helper()
	rec := httptest.NewRecorder()
	tel.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: status %d: %s", rec.Code, rec.Body)
	}
	b, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Scrape(b)
}

var labelRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// Value returns the value of the first series called name whose labels
// include every pair of labels ("key", "value", ...).
func (s Scrape) Value(name string, labels ...string) (float64, bool) {
	for line := range strings.Lines(string(s)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		series, val, ok := cutValue(line)
		if !ok {
			continue
		}
		n, lbls, _ := strings.Cut(series, "{")
		if n != name || !hasLabels(lbls, labels) {
			continue
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return 0, false
		}
		return v, true
	}
	return 0, false
}

// Must is Value failing the test when the series is absent.
func (s Scrape) Must(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	v, ok := s.Value(name, labels...)
	if !ok {
		t.Fatalf("series %s%v missing from /metrics:\n%s", name, labels, s)
	}
	return v
}

// cutValue splits "series value [timestamp]" at the space after the
// label set (label values may hold spaces).
func cutValue(line string) (series, val string, ok bool) {
	i := strings.LastIndexByte(line, '}')
	if i < 0 {
		i = 0
	}
	sp := strings.IndexByte(line[i:], ' ')
	if sp < 0 {
		return "", "", false
	}
	series, rest := line[:i+sp], strings.Fields(line[i+sp:])
	if len(rest) == 0 {
		return "", "", false
	}
	return series, rest[0], true
}

func hasLabels(set string, want []string) bool {
	have := map[string]string{}
	for _, m := range labelRE.FindAllStringSubmatch(set, -1) {
		have[m[1]] = m[2]
	}
	for i := 0; i+1 < len(want); i += 2 {
		if v, ok := have[want[i]]; !ok || v != want[i+1] {
			return false
		}
	}
	return true
}
