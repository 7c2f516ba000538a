package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/tiercache/tiercache/bench"
)

func init() {
	register("bench", "run a benchmark scenario side by side with its peer and print JSON figures", runBench)
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the result as one JSON object on stdout")
	runs := fs.Int("runs", 0, "alternating rounds to measure (0 = scenario default)")
	quick := fs.Bool("quick", false, "a small workload, for smoke tests")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tiercache bench SCENARIO [--json] [--runs N] [--quick] [scenario flags]")
		fmt.Fprintln(stderr, "\nscenarios:")
		for _, s := range bench.All() {
			fmt.Fprintf(stderr, "  %-10s %s\n", s.Name, s.Summary)
		}
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return errors.New("no scenario named")
	}
	name := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	sc, err := bench.Lookup(name)
	if err != nil {
		return err
	}
	res, err := sc.Run(ctx, bench.Options{Runs: *runs, Quick: *quick, Progress: stderr, Args: fs.Args()})
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
