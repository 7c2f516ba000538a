package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

func init() {
	register("demo", "run a whole tiercache region on loopback with a live workload", runDemo)
}

// demoOptions are the demo's flags.
type demoOptions struct {
	duration time.Duration
	report   string
	nodes    int
	keys     int
	zipfS    float64
	workers  int
	ttl      time.Duration
	originMs time.Duration
	writePct int
}

func parseDemoFlags(args []string, stderr io.Writer) (demoOptions, error) {
	var o demoOptions
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long (0 = run until Ctrl-C)")
	fs.StringVar(&o.report, "report", "", "print a final report on stdout: json")
	fs.IntVar(&o.nodes, "nodes", 3, "L2 nodes in the region")
	fs.IntVar(&o.keys, "keys", 100_000, "distinct keys the workload reads")
	fs.Float64Var(&o.zipfS, "zipf", 1.1, "Zipf exponent of key popularity (> 1)")
	fs.IntVar(&o.workers, "workers", 32, "concurrent app requests")
	fs.DurationVar(&o.ttl, "ttl", 30*time.Second, "TTL of cached entries")
	fs.DurationVar(&o.originMs, "origin-latency", time.Millisecond, "simulated latency of one origin (database) read")
	fs.IntVar(&o.writePct, "write-pct", 2, "percent of requests that update a row and invalidate its key")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.report != "" && o.report != "json":
		return o, fmt.Errorf("--report %q: only json is supported", o.report)
	case o.nodes < 1 || o.nodes > 64:
		return o, fmt.Errorf("--nodes %d: want 1..64", o.nodes)
	case o.keys < 1:
		return o, fmt.Errorf("--keys %d: want at least 1", o.keys)
	case o.zipfS <= 1:
		return o, fmt.Errorf("--zipf %v: want > 1", o.zipfS)
	case o.workers < 1:
		return o, fmt.Errorf("--workers %d: want at least 1", o.workers)
	case o.writePct < 0 || o.writePct > 100:
		return o, fmt.Errorf("--write-pct %d: want 0..100", o.writePct)
	case o.duration < 0 || o.ttl <= 0:
		return o, errors.New("--duration and --ttl must not be negative")
	}
	return o, nil
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseDemoFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	region, err := startDemoRegion("local", o.nodes)
	if err != nil {
		return err
	}
	defer region.Close()
	fmt.Fprintf(stderr, "tiercache demo: region %q with %d L2 nodes: %s\n", region.name, len(region.nodes), region.addrs())
	fmt.Fprintln(stderr, "tiercache demo: Ctrl-C stops it")

	wl := newDemoWorkload(o, region)
	rep := wl.run(ctx, stderr)
	if o.report == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stderr, "tiercache demo: %d ops, hit ratio %.3f, %d origin loads\n", rep.OpsTotal, rep.HitRatio, rep.OriginLoads)
	return nil
}
