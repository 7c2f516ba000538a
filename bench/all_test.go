package bench

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// standIn is a scenario with fixed figures under a real scenario's name,
// so the report's specs for that name apply: the runner and the renderer
// are checked deterministically, with no measurement.
func standIn(name string, figures map[string]float64, series map[string][]float64, err error) Scenario {
	return Scenario{Name: name, Summary: name + " stand-in", Run: func(_ context.Context, o Options) (*Result, error) {
		o.Progressf("%s: measuring\n", name)
		if err != nil {
			return nil, err
		}
		r := NewResult(name, o.RunsOr(2))
		for k, v := range figures {
			r.Figures[k] = v
		}
		for k, v := range series {
			r.Series[k] = v
		}
		r.Notes["workload"] = "a | pipe in a note"
		return r, nil
	}}
}

// syncBuffer is a bytes.Buffer safe for the status line's writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRunAllReportsEveryOutcome: a scenario that fails, one whose peer
// tool is missing and one that panics are reported as such, the run goes
// on to the next, Failed counts them, and the measured ones get their
// rows (each figure beside its peer, target and verdict) and plots.
func TestRunAllReportsEveryOutcome(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	status := &syncBuffer{}
	scenarios := []Scenario{
		standIn("hotkey", map[string]float64{"max_mean_load_l1_on": 1.08, "max_mean_load_l1_off": 1.5}, nil, nil),
		standIn("resp", nil, nil, errors.Join(ErrPeerMissing, errors.New("redis-server not on PATH"))),
		standIn("failover", nil, nil, errors.New("victim never marked down")),
		{Name: "partition", Summary: "panics", Run: func(context.Context, Options) (*Result, error) { panic("boom") }},
		standIn("rebalance", map[string]float64{
			"keys_moved_over_ideal": 0.97, "origin_peak_over_steady_naive": 1.93, "origin_peak_over_steady_tiercache": 1.25,
		}, map[string][]float64{
			"origin_t_s": {-0.1, 0, 0.1, 0.2}, "origin_per_100ms_naive": {10, 10, 40, 12}, "origin_per_100ms_tiercache": {10, 10, 11, 10},
		}, nil),
	}
	rep, err := RunAll(context.Background(), AllOptions{Out: dir, Scenarios: scenarios, Status: status, Command: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 3 || len(rep.Scenarios) != 5 {
		t.Fatalf("failed %d of %d scenarios, want 3 of 5", rep.Failed, len(rep.Scenarios))
	}
	want := []string{StatusOK, StatusPeerMissing, StatusFailed, StatusFailed, StatusOK}
	for i, sr := range rep.Scenarios {
		if sr.Status != want[i] {
			t.Errorf("%s: status %q (%s), want %q", sr.Name, sr.Status, sr.Error, want[i])
		}
	}
	if !strings.Contains(rep.Scenarios[3].Error, "boom") {
		t.Errorf("panic not reported: %q", rep.Scenarios[3].Error)
	}
	if rep.Host.CPUs == 0 || rep.Host.GoVersion == "" || rep.Date.IsZero() {
		t.Errorf("machine not recorded: %+v", rep.Host)
	}

	md := readFile(t, filepath.Join(dir, "report.md"))
	for _, s := range []string{
		"| max/mean node load, Zipf(1.1) | 1.08 | hot-key L1 off | 1.5 | 0.72 | ≤ 1.25 | met |",
		"| origin peak over steady (1 s buckets) | 1.25 | naive switch-over | 1.93 |",
		"| ≤ 1.2 | **missed** |",
		"| keys moved over the ideal 1/6 | 0.97 | — | — | — | ≤ 1.1 | met |",
		"**peer missing**, not measured: bench: peer tool missing",
		"**failed**, not measured: victim never marked down",
		"panic: boom",
		`a \| pipe in a note`, // a pipe cannot break the table
		"![rebalance-origin](plots/rebalance-origin.svg)",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("report.md lacks %q", s)
		}
	}
	for _, name := range []string{"hotkey", "resp", "failover", "partition", "rebalance"} {
		if _, err := os.Stat(filepath.Join(dir, "tables", name+".md")); err != nil {
			t.Errorf("table of %s: %v", name, err)
		}
	}
	for _, p := range []string{"hotkey-load", "rebalance-peak", "rebalance-origin"} {
		els := parseSVG(t, []byte(readFile(t, filepath.Join(dir, "plots", p+".svg"))))
		if len(elements(els, "rect")) < 3 || len(elements(els, "text")) < 5 {
			t.Errorf("%s.svg has too few elements", p)
		}
	}
	if n := len(elements(parseSVG(t, []byte(readFile(t, filepath.Join(dir, "plots", "rebalance-origin.svg")))), "polyline")); n != 2 {
		t.Errorf("rebalance-origin.svg: %d lines, want 2", n)
	}
	// Failed scenarios draw nothing.
	if _, err := os.Stat(filepath.Join(dir, "plots", "resp-throughput.svg")); !os.IsNotExist(err) {
		t.Errorf("a plot for a scenario that did not run: %v", err)
	}

	// results.json round-trips and redraws the same report.
	back, err := ReadReport(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if back.Scenarios[0].Result.Figures["max_mean_load_l1_on"] != 1.08 || back.Failed != 3 {
		t.Fatalf("results.json lost figures: %+v", back.Scenarios[0])
	}
	dir2 := t.TempDir()
	if err := WriteReport(back, dir2, RenderOptions{PlotPrefix: "docs/bench/"}); err != nil {
		t.Fatal(err)
	}
	md2 := readFile(t, filepath.Join(dir2, "report.md"))
	if !strings.Contains(md2, "![hotkey-load](docs/bench/hotkey-load.svg)") ||
		strings.ReplaceAll(md2, "docs/bench/", "plots/") != md {
		t.Errorf("the report redrawn from results.json differs")
	}

	// The status line named each scenario in turn and showed its figures.
	st := status.String()
	for _, s := range []string{"[1/5] hotkey", "[5/5] rebalance", "hotkey: measuring", "max/mean node load, Zipf(1.1): 1.08, target ≤ 1.25 met", "peer missing"} {
		if !strings.Contains(st, s) {
			t.Errorf("status output lacks %q:\n%s", s, st)
		}
	}
	if log := readFile(t, filepath.Join(dir, "progress.log")); !strings.Contains(log, "rebalance: measuring") {
		t.Errorf("progress.log lacks the scenarios' lines:\n%s", log)
	}
}

func TestRunAllRefusesBadSelections(t *testing.T) {
	sc := []Scenario{standIn("hotkey", nil, nil, nil)}
	for _, o := range []AllOptions{
		{Out: t.TempDir(), Scenarios: sc, Only: []string{"hotkye"}},
		{Out: t.TempDir(), Scenarios: sc, Skip: []string{"nope"}},
		{Out: t.TempDir(), Scenarios: sc, Skip: []string{"hotkey"}},
		{Scenarios: sc},
	} {
		if _, err := RunAll(context.Background(), o); err == nil {
			t.Errorf("RunAll(only %v, skip %v, out %q) ran", o.Only, o.Skip, o.Out)
		} else if len(o.Only) > 0 && !errors.Is(err, ErrUnknownScenario) {
			t.Errorf("unknown name: %v", err)
		}
	}
}

func TestRowVerdicts(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		r    row
		want string
	}{
		{row{Ours: 1, Ratio: 0.76, Target: ratioAtLeast(0.9)}, "missed"},
		{row{Ours: 1, Ratio: 1.02, Target: ratioAtLeast(1)}, "met"},
		{row{Ours: 1.56, Ratio: 1.56, Target: ratioAtMost(1.2)}, "missed"},
		{row{Ours: 105, Peer: 100, Target: peerPlusAtMost(20)}, "met"},
		{row{Ours: 125, Peer: 100, Target: peerPlusAtMost(20)}, "missed"},
		{row{Ours: 0, Target: exactly(0)}, "met"},
		{row{Ours: 2, Target: exactly(0)}, "missed"},
		{row{Ours: nan, Target: atMost(1)}, "not measured"},
		{row{Ours: 1, Ratio: nan, Target: ratioAtMost(1)}, "not measured"},
		{row{Ours: 3}, "—"},
	} {
		if got := c.r.verdict(); got != c.want {
			t.Errorf("%+v (target %s): %s, want %s", c.r, c.r.Target.text(), got, c.want)
		}
	}
}

// TestBenchAllQuickSmoke is `tiercache bench all --quick` on the fast
// scenarios (the federation ones and the long outages are skipped: the
// whole suite's quick runs have their own tests): the files are written,
// each scenario's table names every figure beside its peer, and the plots
// parse as SVG with bars and labels. Without redis-server the RESP
// scenario must be reported as missing its peer, not dropped.
func TestBenchAllQuickSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real scenarios")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	only := []string{"resp", "clientget", "stampede", "hotkey"}
	rep, err := RunAll(context.Background(), AllOptions{Out: dir, Quick: true, Runs: 1, Only: only})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Scenarios) != len(only) || rep.Mode != "quick" {
		t.Fatalf("%d scenarios in %s mode", len(rep.Scenarios), rep.Mode)
	}
	md := readFile(t, filepath.Join(dir, "report.md"))
	peers := map[string]string{"resp": "redis-server", "clientget": "go-redis", "stampede": "naive cache-aside", "hotkey": "hot-key L1 off"}
	for _, sr := range rep.Scenarios {
		if sr.Status == StatusPeerMissing && os.Getenv("TIERCACHE_REQUIRE_REDIS") != "1" {
			if !strings.Contains(md, "**peer missing**, not measured") {
				t.Errorf("%s: missing peer not reported in the table", sr.Name)
			}
			continue
		}
		if sr.Status != StatusOK {
			t.Errorf("%s: %s: %s", sr.Name, sr.Status, sr.Error)
			continue
		}
		table := readFile(t, filepath.Join(dir, "tables", sr.Name+".md"))
		rows := specRows(sr.Result)
		if len(rows) == 0 {
			t.Errorf("%s: no rows", sr.Name)
		}
		for _, rw := range rows {
			if math.IsNaN(rw.Ours) && sr.Name != "clientget" { // clientget's peer rows need redis
				t.Errorf("%s: row %q has no measured value", sr.Name, rw.Label)
			}
			line := "| " + cell(rw.Label) + " | " + fmtCell(rw.Ours) + " | " + orDash(cell(rw.PeerName)) + " | "
			if !strings.Contains(table, line) || !strings.Contains(md, line) {
				t.Errorf("%s: no row %q in the tables", sr.Name, line)
			}
		}
		if !strings.Contains(table, "| "+peers[sr.Name]) && !strings.Contains(table, peers[sr.Name]+" ") {
			t.Errorf("%s: the table never names the peer %q:\n%s", sr.Name, peers[sr.Name], table)
		}
		plots, _ := filepath.Glob(filepath.Join(dir, "plots", sr.Name+"-*.svg"))
		if len(plots) == 0 {
			t.Errorf("%s: no plots", sr.Name)
		}
		for _, p := range plots {
			els := parseSVG(t, []byte(readFile(t, p)))
			if len(elements(els, "text")) < 5 || len(elements(els, "rect"))+len(elements(els, "polyline")) < 2 {
				t.Errorf("%s: too few elements", p)
			}
			if !strings.Contains(md, "plots/"+filepath.Base(p)) {
				t.Errorf("report.md does not link %s", filepath.Base(p))
			}
		}
	}
	if _, err := ReadReport(filepath.Join(dir, "results.json")); err != nil {
		t.Fatal(err)
	}
}
