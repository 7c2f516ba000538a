package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The report `bench all` writes into its folder:
//
//	results.json         every scenario's figures, notes and series, the machine
//	report.md            the whole report: machine, summary, a table per scenario, plots
//	tables/NAME.md       one scenario's table alone, to paste into BENCH.md
//	plots/FILE.svg       the charts the tables link to
//	progress.log         every scenario's progress lines
//
// Rendering is a pure function of results.json, so `tiercache bench
// report` can redraw a report without measuring again.

// RenderOptions tune the markdown.
type RenderOptions struct {
	// PlotPrefix is prepended to plot file names in links ("plots/" when
	// empty); BENCH.md uses "docs/bench/".
	PlotPrefix string
}

// WriteReport writes results.json, the markdown and the plots into dir.
func WriteReport(rep *Report, dir string, ro RenderOptions) error {
	for _, sub := range []string{"", "tables", "plots"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return fmt.Errorf("bench report: %w", err)
		}
	}
	for _, sr := range rep.Scenarios {
		dropNonFinite(sr.Result)
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("bench report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench report: %w", err)
	}
	plots, err := writePlots(rep, filepath.Join(dir, "plots"))
	if err != nil {
		return err
	}
	for _, sr := range rep.Scenarios {
		md := scenarioMarkdown(rep, sr, plots[sr.Name], ro)
		if err := os.WriteFile(filepath.Join(dir, "tables", sr.Name+".md"), []byte(md), 0o644); err != nil {
			return fmt.Errorf("bench report: %w", err)
		}
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(ReportMarkdown(rep, plots, ro)), 0o644)
}

// dropNonFinite removes NaN and infinite figures, which JSON cannot carry,
// and says so in the notes (a figure divided by zero samples shows as not
// measured rather than failing the whole report); such series points
// become 0.
func dropNonFinite(r *Result) {
	if r == nil {
		return
	}
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	for k, v := range r.Figures {
		if bad(v) {
			delete(r.Figures, k)
			if r.Notes == nil {
				r.Notes = map[string]string{}
			}
			r.Notes["dropped_"+k] = fmt.Sprintf("figure was %v (no samples)", v)
		}
	}
	for _, s := range r.Series {
		for i, v := range s {
			if bad(v) {
				s[i] = 0
			}
		}
	}
}

// ReadReport loads a results.json written by WriteReport.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("bench report: %s: %w", path, err)
	}
	if len(rep.Scenarios) == 0 {
		return nil, fmt.Errorf("bench report: %s holds no scenarios", path)
	}
	return &rep, nil
}

// writePlots draws every scenario's charts and returns the file names
// (without folder) per scenario, in drawing order.
func writePlots(rep *Report, dir string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, sr := range rep.Scenarios {
		if sr.Result == nil {
			continue
		}
		sp := specFor(sr.Name, sr.Result)
		write := func(file string, svg []byte) error {
			name := file + ".svg"
			out[sr.Name] = append(out[sr.Name], name)
			return os.WriteFile(filepath.Join(dir, name), svg, 0o644)
		}
		var errs []error
		for _, b := range sp.Bars {
			if drawable(b.Chart) {
				errs = append(errs, write(b.File, b.Chart.SVG()))
			}
		}
		for _, l := range sp.Lines {
			errs = append(errs, write(l.File, l.Chart.SVG()))
		}
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("bench report: %w", err)
		}
	}
	return out, nil
}

// drawable says whether a bar chart has at least one measured value.
func drawable(c BarChart) bool {
	for _, g := range c.Groups {
		for _, v := range g.Values {
			if !math.IsNaN(v) {
				return true
			}
		}
	}
	return false
}

// ReportMarkdown renders the whole report.
func ReportMarkdown(rep *Report, plots map[string][]string, ro RenderOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# tiercache benchmark report\n\n")
	b.WriteString(MachineMarkdown(rep))
	b.WriteString("\nEach table puts a tiercache figure beside its peer measured in the same run. Ratio is the scenario's own ratio " +
		"figure where it prints one (resp: the median of per-run ratios, each run's two sides measured back to back), otherwise " +
		"tiercache over the peer value shown; values are means over runs. Targets are the issues' targets.\n")
	b.WriteString("\n## Summary\n\n")
	b.WriteString(SummaryMarkdown(rep))
	for _, sr := range rep.Scenarios {
		b.WriteString("\n")
		b.WriteString(scenarioMarkdown(rep, sr, plots[sr.Name], ro))
	}
	return b.String()
}

// MachineMarkdown is the machine and run section.
func MachineMarkdown(rep *Report) string {
	h := rep.Host
	var b strings.Builder
	fmt.Fprintf(&b, "- Date: %s (UTC); mode: %s; whole run %s\n", rep.Date.UTC().Format("2006-01-02 15:04"), rep.Mode, clockLong(rep.DurationS))
	fmt.Fprintf(&b, "- Machine: %s, %d logical CPUs, %s memory, %s/%s, %s\n", orDash(h.CPUModel), h.CPUs, gib(h.MemoryBytes), h.OS, h.Arch, h.GoVersion)
	fmt.Fprintf(&b, "- Load average (1/5/15 min): %.2f %.2f %.2f at the start, %.2f %.2f %.2f at the end\n",
		h.LoadAvgStart[0], h.LoadAvgStart[1], h.LoadAvgStart[2], h.LoadAvgEnd[0], h.LoadAvgEnd[1], h.LoadAvgEnd[2])
	if rep.Command != "" {
		fmt.Fprintf(&b, "- Command: `%s`\n", rep.Command)
	}
	return b.String()
}

// SummaryMarkdown is one line per scenario: status, runs, time, targets.
func SummaryMarkdown(rep *Report) string {
	var b strings.Builder
	b.WriteString("| Scenario | Status | Runs | Time | Targets met | Targets missed |\n|---|---|--:|--:|--:|--:|\n")
	for _, sr := range rep.Scenarios {
		met, missed := 0, []string{}
		runs := "—"
		if sr.Result != nil {
			runs = fmt.Sprint(sr.Result.Runs)
			for _, rw := range specRows(sr.Result) {
				switch rw.verdict() {
				case "met":
					met++
				case "missed", "not measured":
					missed = append(missed, rw.Label)
				}
			}
		}
		status := sr.Status
		if sr.Status != StatusOK {
			status = "**" + sr.Status + "**: " + cell(firstLine(sr.Error))
		}
		miss := fmt.Sprint(len(missed))
		if len(missed) > 0 {
			miss += " (" + cell(strings.Join(missed, "; ")) + ")"
		}
		fmt.Fprintf(&b, "| [%s](#%s) | %s | %s | %.0f s | %d | %s |\n", sr.Name, anchor(sr.Name), status, runs, sr.DurationS, met, miss)
	}
	return b.String()
}

// scenarioMarkdown is one scenario's section: what it measures against,
// the table, the notes, and links to its plots.
func scenarioMarkdown(rep *Report, sr ScenarioReport, plots []string, ro RenderOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n%s.\n\n", sr.Name, sr.Summary)
	sp := specFor(sr.Name, sr.Result)
	runs := "—"
	if sr.Result != nil {
		runs = fmt.Sprint(sr.Result.Runs)
	}
	fmt.Fprintf(&b, "Peer: %s. Runs: %s. Time: %.0f s. Reproduce: `%s`\n\n", sp.Peer, runs, sr.DurationS, reproduce(rep, sr.Name))
	if sr.Status != StatusOK {
		fmt.Fprintf(&b, "**%s**, not measured: %s\n", sr.Status, cell(sr.Error))
		return b.String()
	}
	b.WriteString("| Figure | tiercache | Peer | Peer value | Ratio | Target | Result |\n|---|--:|---|--:|--:|---|---|\n")
	for _, rw := range sp.Rows {
		verdict := rw.verdict()
		if verdict == "missed" || verdict == "not measured" {
			verdict = "**" + verdict + "**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", cell(rw.Label), fmtCell(rw.Ours), orDash(cell(rw.PeerName)),
			fmtCell(rw.Peer), fmtCell(rw.Ratio), rw.Target.text(), verdict)
	}
	if notes := notesOf(sr.Result) + perRunOf(sr.Result); notes != "" {
		b.WriteString("\n" + notes)
	}
	if len(plots) > 0 {
		b.WriteString("\n")
		prefix := ro.PlotPrefix
		if prefix == "" {
			prefix = "plots/"
		}
		for _, p := range plots {
			fmt.Fprintf(&b, "![%s](%s%s)\n", strings.TrimSuffix(p, ".svg"), prefix, p)
		}
	}
	return b.String()
}

// notesOf lists a result's notes as a bullet list, sorted by key.
func notesOf(r *Result) string {
	if r == nil || len(r.Notes) == 0 {
		return ""
	}
	keys := make([]string, 0, len(r.Notes))
	for k := range r.Notes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "- %s: %s\n", k, cell(r.Notes[k]))
	}
	return b.String()
}

// perRunOf lists the series that hold one value per run, so a reader sees
// how far runs on a shared machine swing around the figure in the table.
func perRunOf(r *Result) string {
	if r == nil || r.Runs < 2 {
		return ""
	}
	keys := make([]string, 0, len(r.Series))
	for k, s := range r.Series {
		if len(s) == r.Runs && k != "latency_percentiles" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		vals := make([]string, len(r.Series[k]))
		for i, v := range r.Series[k] {
			vals[i] = fmtValue(v)
		}
		fmt.Fprintf(&b, "- per run, %s: %s\n", k, strings.Join(vals, ", "))
	}
	return b.String()
}

// reproduce is the command that measures one scenario as this run did.
func reproduce(rep *Report, name string) string {
	cmd := "go run ./cmd/tiercache bench " + name + " --json"
	if rep.Mode == "quick" {
		cmd += " --quick"
	}
	if rep.Runs > 0 {
		cmd += fmt.Sprintf(" --runs %d", rep.Runs)
	}
	return cmd
}

func fmtCell(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmtValue(v)
}

// cell makes s safe inside a markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// anchor is GitHub's heading anchor for a scenario name.
func anchor(name string) string { return strings.ToLower(name) }

func gib(b uint64) string {
	if b == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.0f GiB", float64(b)/(1<<30))
}

func clockLong(s float64) string {
	m := int(s) / 60
	return fmt.Sprintf("%d min %02d s", m, int(s)%60)
}
