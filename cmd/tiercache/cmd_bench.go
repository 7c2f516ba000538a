package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tiercache/tiercache/bench"
)

func init() {
	register("bench", "run a benchmark scenario side by side with its peer and print JSON figures ('bench all' runs them all)", runBench)
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "all":
			return runBenchAll(ctx, args[1:], stdout, stderr)
		case "report":
			return runBenchReport(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the result as one JSON object on stdout")
	runs := fs.Int("runs", 0, "alternating rounds to measure (0 = scenario default)")
	quick := fs.Bool("quick", false, "a small workload, for smoke tests")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tiercache bench SCENARIO [--json] [--runs N] [--quick] [scenario flags]")
		fmt.Fprintln(stderr, "       tiercache bench all --out DIR [--quick] [--only a,b] [--skip a,b]")
		fmt.Fprintln(stderr, "       tiercache bench report --in DIR/results.json --out DIR [--plot-prefix P]")
		fmt.Fprintln(stderr, "\nscenarios:")
		for _, s := range bench.All() {
			fmt.Fprintf(stderr, "  %-16s %s\n", s.Name, s.Summary)
		}
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return errors.New("no scenario named")
	}
	name := args[0]
	common, scenarioArgs := splitBenchArgs(args[1:])
	if err := fs.Parse(common); err != nil {
		return err
	}
	sc, err := bench.Lookup(name)
	if err != nil {
		return err
	}
	res, err := sc.Run(ctx, bench.Options{Runs: *runs, Quick: *quick, Progress: stderr, Args: append(fs.Args(), scenarioArgs...)})
	if err != nil {
		return err
	}
	if *asJSON {
		return res.WriteJSON(stdout)
	}
	for k, v := range res.Figures {
		fmt.Fprintf(stdout, "%-40s %.4g\n", k, v)
	}
	return nil
}

// runBenchAll is `tiercache bench all`: every scenario, then the report.
// It fails (exit 1) when any scenario failed or could not run.
func runBenchAll(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench all", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "folder for results.json, report.md, tables/ and plots/ (required)")
	quick := fs.Bool("quick", false, "each scenario's smoke-test size (a few minutes in all)")
	runs := fs.Int("runs", 0, "runs per scenario (0 = each scenario's default)")
	only := fs.String("only", "", "comma-separated scenarios to run (default: all)")
	skip := fs.String("skip", "", "comma-separated scenarios to leave out")
	timeout := fs.Duration("timeout", 0, "limit per scenario (0 = 15m, 4m with --quick)")
	verbose := fs.Bool("v", false, "print every scenario's progress lines, not only the summary line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("bench all: --out DIR is required and takes no other arguments")
	}
	rep, err := bench.RunAll(ctx, bench.AllOptions{
		Out: *out, Quick: *quick, Runs: *runs, Only: splitList(*only), Skip: splitList(*skip),
		Timeout: *timeout, Status: stderr, Verbose: *verbose,
		Command: "tiercache bench all " + strings.Join(args, " "),
	})
	if rep != nil {
		fmt.Fprintf(stdout, "%d scenarios, %d failed, in %.0f s; report in %s/report.md\n", len(rep.Scenarios), rep.Failed, rep.DurationS, *out)
	}
	if err != nil {
		return err
	}
	if rep.Failed > 0 {
		var names []string
		for _, s := range rep.Scenarios {
			if s.Status != bench.StatusOK {
				names = append(names, s.Name+" ("+s.Status+")")
			}
		}
		return fmt.Errorf("%d scenarios did not complete: %s", rep.Failed, strings.Join(names, ", "))
	}
	return nil
}

// runBenchReport redraws a report from its results.json.
func runBenchReport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "results.json written by bench all (required)")
	out := fs.String("out", "", "folder to write the report into (required)")
	prefix := fs.String("plot-prefix", "", "prefix of plot links in the markdown (default plots/)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		fs.Usage()
		return errors.New("bench report: --in and --out are required")
	}
	rep, err := bench.ReadReport(*in)
	if err != nil {
		return err
	}
	if err := bench.WriteReport(rep, *out, bench.RenderOptions{PlotPrefix: *prefix}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "report in %s/report.md\n", *out)
	return nil
}

// splitBenchArgs separates the flags every scenario shares (--json,
// --quick, --runs N, -h) from the scenario's own, in any order, so
// `bench partition --json --cut 30s` works; everything after "--" is the
// scenario's.
func splitBenchArgs(args []string) (common, scenario []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return common, append(scenario, args[i+1:]...)
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case !strings.HasPrefix(a, "-"):
			scenario = append(scenario, a)
		case name == "json" || name == "quick" || name == "h" || name == "help":
			common = append(common, a)
		case name == "runs":
			common = append(common, a)
			if !hasValue && i+1 < len(args) {
				i++
				common = append(common, args[i])
			}
		default:
			scenario = append(scenario, a)
		}
	}
	return common, scenario
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
