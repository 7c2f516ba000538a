// Package bench holds tiercache's benchmark scenarios (stampede, hot key,
// failover, rebalance, read-your-writes, the RESP comparison with Redis) and
// the harness that runs each side by side with its peer and prints one JSON
// object of figures. Every figure that compares is a ratio of tiercache over
// its peer measured in the same run, alternating, so machine drift cancels.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
)

// Errors.
var (
	ErrUnknownScenario = errors.New("bench: unknown scenario")
	ErrPeerMissing     = errors.New("bench: peer tool missing")
)

// Machine describes where figures were measured.
type Machine struct {
	CPUs      int    `json:"cpus"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	GoVersion string `json:"go"`
	CPUModel  string `json:"cpu_model,omitempty"`
}

// Result is the JSON object a scenario prints (DESIGN.md, Benchmarks).
type Result struct {
	Scenario string             `json:"scenario"`
	Machine  Machine            `json:"machine"`
	Runs     int                `json:"runs"`
	Figures  map[string]float64 `json:"figures"`
	// Notes carry context a reader needs (peer versions, settings).
	Notes map[string]string `json:"notes,omitempty"`
	// Series carry per-run or over-time samples for plots.
	Series map[string][]float64 `json:"series,omitempty"`
}

// Options tune a run. The zero value means each scenario's defaults.
type Options struct {
	// Runs is how many alternating rounds to measure (0 = scenario default).
	Runs int
	// Quick shrinks the workload for smoke tests in CI.
	Quick bool
	// Progress receives human-readable progress (stderr in the CLI).
	Progress io.Writer
	// Args are scenario-specific flags left after the common ones.
	Args []string
}

// RunsOr returns the requested number of runs, or def when none was asked.
func (o Options) RunsOr(def int) int {
	if o.Runs > 0 {
		return o.Runs
	}
	return def
}

// Progressf writes a progress line if o.Progress is set.
func (o Options) Progressf(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format, args...)
	}
}

// Scenario is one benchmark.
type Scenario struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, o Options) (*Result, error)
}

// Lookup finds a scenario by name.
func Lookup(name string) (Scenario, error) { return lookupIn(All(), name) }

func lookupIn(all []Scenario, name string) (Scenario, error) {
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
	}
	names := make([]string, 0)
	for _, s := range all {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	return Scenario{}, fmt.Errorf("%w %q (have %s)", ErrUnknownScenario, name, strings.Join(names, ", "))
}

// NewResult starts a result for scenario on this machine.
func NewResult(scenario string, runs int) *Result {
	return &Result{Scenario: scenario, Machine: ThisMachine(), Runs: runs, Figures: map[string]float64{}, Notes: map[string]string{}, Series: map[string][]float64{}}
}

// WriteJSON prints r as one JSON object and a newline.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ThisMachine describes the running machine.
func ThisMachine() Machine {
	return Machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version(), CPUModel: cpuModel()}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			if i := strings.IndexByte(line, ':'); i >= 0 {
				return strings.TrimSpace(line[i+1:])
			}
		}
	}
	return ""
}
