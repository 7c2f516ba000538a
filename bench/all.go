package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// RunAll runs every scenario (or a chosen subset) one after another, in
// the order of All, and writes the report: results.json, the markdown
// tables and the SVG plots. A scenario that fails or lacks its peer tool
// is recorded as such and the run goes on; Report.Failed counts them.

// AllOptions tune `tiercache bench all`.
type AllOptions struct {
	// Out is the folder the report is written into (created if needed).
	Out string
	// Quick runs each scenario's smoke-test size; otherwise its defaults.
	Quick bool
	// Runs overrides each scenario's run count (0: its default).
	Runs int
	// Only, when set, names the scenarios to run; Skip names ones to leave
	// out. Unknown names are an error, so a typo never skips silently.
	Only, Skip []string
	// Timeout bounds each scenario (0: 15 minutes, 4 in quick mode).
	Timeout time.Duration
	// Status receives the live one-line summary (stderr in the CLI); nil
	// for none.
	Status io.Writer
	// Verbose also copies every scenario's progress lines to Status.
	Verbose bool
	// Command is recorded in the report as the command that produced it.
	Command string
	// Scenarios replaces All() (tests use it to run stand-ins).
	Scenarios []Scenario
}

// Scenario outcomes in the report.
const (
	StatusOK          = "ok"
	StatusFailed      = "failed"
	StatusPeerMissing = "peer missing"
)

// Report is results.json: the machine, the run, and every scenario.
type Report struct {
	Date      time.Time        `json:"date"`
	Command   string           `json:"command"`
	Mode      string           `json:"mode"`                    // "quick" or "full"
	Runs      int              `json:"runs_override,omitempty"` // --runs, when given
	Host      Host             `json:"machine"`
	DurationS float64          `json:"duration_s"`
	Scenarios []ScenarioReport `json:"scenarios"`
	Failed    int              `json:"failed"`
}

// ScenarioReport is one scenario's outcome.
type ScenarioReport struct {
	Name      string  `json:"name"`
	Summary   string  `json:"summary"`
	Status    string  `json:"status"`
	Error     string  `json:"error,omitempty"`
	DurationS float64 `json:"duration_s"`
	Result    *Result `json:"result,omitempty"`
}

// selectScenarios applies Only and Skip to the list, keeping its order.
func selectScenarios(all []Scenario, only, skip []string) ([]Scenario, error) {
	known := map[string]bool{}
	for _, s := range all {
		known[s.Name] = true
	}
	for _, n := range append(slices.Clone(only), skip...) {
		if !known[n] {
			_, err := lookupIn(all, n)
			return nil, err
		}
	}
	var out []Scenario
	for _, s := range all {
		if (len(only) == 0 || slices.Contains(only, s.Name)) && !slices.Contains(skip, s.Name) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("bench all: no scenario left to run")
	}
	return out, nil
}

// RunAll runs the scenarios and writes the report into o.Out. The error
// is for the run itself (bad options, an unwritable folder, a cancelled
// context); scenario failures are in the report.
func RunAll(ctx context.Context, o AllOptions) (*Report, error) {
	if o.Out == "" {
		return nil, errors.New("bench all: no output folder (--out DIR)")
	}
	all := o.Scenarios
	if all == nil {
		all = All()
	}
	list, err := selectScenarios(all, o.Only, o.Skip)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("bench all: %w", err)
	}
	logf, err := os.Create(filepath.Join(o.Out, "progress.log"))
	if err != nil {
		return nil, fmt.Errorf("bench all: %w", err)
	}
	defer logf.Close()
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 15 * time.Minute
		if o.Quick {
			timeout = 4 * time.Minute
		}
	}
	rep := &Report{Date: time.Now().UTC(), Command: o.Command, Mode: "full", Runs: o.Runs, Host: ThisHost()}
	if o.Quick {
		rep.Mode = "quick"
	}
	st := newStatusLine(o.Status, len(list))
	defer st.close()
	start := time.Now()
	for i, sc := range list {
		st.begin(i, sc.Name)
		progress := io.MultiWriter(logf, st.scenarioWriter(o.Verbose))
		fmt.Fprintf(logf, "== %s (%d/%d) %s\n", sc.Name, i+1, len(list), time.Now().UTC().Format(time.RFC3339))
		sr := runOne(ctx, sc, Options{Runs: o.Runs, Quick: o.Quick, Progress: progress}, timeout)
		fmt.Fprintf(logf, "== %s: %s in %.1f s %s\n", sc.Name, sr.Status, sr.DurationS, sr.Error)
		if sr.Status != StatusOK {
			rep.Failed++
		}
		rep.Scenarios = append(rep.Scenarios, sr)
		st.end(headline(sr))
		if ctx.Err() != nil { // Ctrl-C: report what was measured, then stop
			break
		}
	}
	rep.DurationS = time.Since(start).Seconds()
	rep.Host.LoadAvgEnd = loadAverage()
	if err := WriteReport(rep, o.Out, RenderOptions{}); err != nil {
		return rep, err
	}
	return rep, ctx.Err()
}

// runOne runs one scenario under its timeout and turns its outcome into a
// report entry; a panic is a failure of that scenario, not of the run.
func runOne(ctx context.Context, sc Scenario, o Options, timeout time.Duration) (sr ScenarioReport) {
	sr = ScenarioReport{Name: sc.Name, Summary: sc.Summary}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t0 := time.Now()
	defer func() {
		sr.DurationS = time.Since(t0).Seconds()
		if p := recover(); p != nil {
			sr.Status, sr.Error, sr.Result = StatusFailed, fmt.Sprintf("panic: %v", p), nil
		}
	}()
	res, err := sc.Run(sctx, o)
	switch {
	case errors.Is(err, ErrPeerMissing):
		sr.Status, sr.Error = StatusPeerMissing, err.Error()
	case err != nil:
		if sctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			err = fmt.Errorf("%w (scenario timeout %v)", err, timeout)
		}
		sr.Status, sr.Error = StatusFailed, err.Error()
	case res == nil:
		sr.Status, sr.Error = StatusFailed, "scenario returned no result"
	default:
		sr.Status, sr.Result = StatusOK, res
	}
	return sr
}

// headline is the figure the status line shows when a scenario ends.
func headline(sr ScenarioReport) string {
	if sr.Status != StatusOK {
		return sr.Status + ": " + firstLine(sr.Error)
	}
	for _, row := range specRows(sr.Result) {
		if row.Target != nil {
			what := fmtValue(row.value())
			if row.Target.onRatio {
				what = "ratio " + what
			}
			return row.Label + ": " + what + ", target " + row.Target.text() + " " + row.verdict()
		}
	}
	return fmt.Sprintf("%d figures", len(sr.Result.Figures))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
