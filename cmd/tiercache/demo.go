package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/tiercache/tiercache/internal/dashboard"
	"github.com/tiercache/tiercache/internal/demo"
)

func init() {
	register("demo", "run a whole three-region federation on loopback with a live workload and dashboard", runDemo)
}

// demoFlags are the demo's command line.
type demoFlags struct {
	opts      demo.Options
	duration  time.Duration
	report    string
	dashboard string
}

func parseDemoFlags(args []string, stderr io.Writer) (demoFlags, error) {
	var f demoFlags
	o := &f.opts
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&f.duration, "duration", 0, "stop after this long (0 = run until Ctrl-C)")
	fs.StringVar(&f.report, "report", "", "print a final report on stdout: json")
	fs.StringVar(&f.dashboard, "dashboard", "127.0.0.1:8080", "serve the dashboard on this address (\"\" = none)")
	fs.StringVar(&o.Profile, "profile", "", "region profile: a builtin name or a file (default local-3)")
	fs.IntVar(&o.Rows, "keys", demo.DefaultRows, "rows in the origin database, the keys the workload reads")
	fs.Float64Var(&o.ZipfS, "zipf", demo.DefaultZipfS, "Zipf exponent of key popularity (> 1)")
	fs.IntVar(&o.Workers, "workers", demo.DefaultWorkers, "app goroutines per region")
	fs.DurationVar(&o.TTL, "ttl", demo.DefaultTTL, "TTL of cached rows")
	fs.DurationVar(&o.OriginLatency, "origin-latency", demo.DefaultOriginLatency, "added latency of one origin (database) read")
	fs.IntVar(&o.WritePct, "write-pct", demo.DefaultWritePct, "percent of operations that update a row (-1: none)")
	fs.IntVar(&o.SessionPct, "session-pct", demo.DefaultSessionPct, "percent of operations that write then read back in a session (-1: none)")
	fs.IntVar(&o.CrossPct, "cross-pct", demo.DefaultCrossPct, "percent of session reads made in another region with the session's token (-1: none)")
	fs.DurationVar(&o.TrendEvery, "trend-every", demo.DefaultTrendEvery, "how often a new key starts trending (negative: never)")
	fs.DurationVar(&o.ReplicaLag, "replica-lag", 0, "answer origin loads not hinted to the primary from a replica this far behind (0: none)")
	fs.DurationVar(&o.StickyWindow, "sticky-window", demo.DefaultStickyWindow, "read-your-writes window")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	switch {
	case fs.NArg() > 0:
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case f.report != "" && f.report != "json":
		return f, fmt.Errorf("--report %q: only json is supported", f.report)
	case f.duration < 0:
		return f, errors.New("--duration must not be negative")
	case o.Workers < 1:
		return f, fmt.Errorf("--workers %d: want at least 1", o.Workers)
	case o.Rows < 1:
		return f, fmt.Errorf("--keys %d: want at least 1", o.Rows)
	case o.TTL <= 0:
		return f, errors.New("--ttl must be positive")
	}
	return f, o.Validate()
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseDemoFlags(args, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "tiercache demo: starting the control plane, three regions, the WAN and the origin…")
	d, err := demo.Start(f.opts)
	if err != nil {
		return err
	}
	defer d.Close()
	dep := d.Deployment()
	fmt.Fprintf(stderr, "tiercache demo: up in %v: raftmeta %v (leader %s), files in %s\n",
		d.Startup().Round(time.Millisecond), dep.MetaAddrs(), dep.Leader(), d.Dir())
	for _, r := range dep.Regions() {
		fmt.Fprintf(stderr, "tiercache demo:   %-9s", r.Name)
		for _, p := range r.Peers() {
			fmt.Fprintf(stderr, " %s=%s", p.ID, p.Addr)
		}
		fmt.Fprintf(stderr, " %s=%s\n", r.L3.ID(), r.Endpoint.Addr())
	}
	if f.dashboard != "" {
		stop := startDashboard(d, f.dashboard, stderr)
		defer stop()
	}
	fmt.Fprintln(stderr, "tiercache demo: Ctrl-C stops it")
	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}
	rep := d.Watch(ctx, stderr)
	if f.report == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stderr, "tiercache demo: %d reads, %d writes in %.0fs: L1 %.1f%% L2 %.1f%% L3 %.1f%% origin %.1f%%, %d origin queries, %d stale reads, %d/%d read-your-writes violations\n",
		rep.Reads, rep.Writes, rep.DurationS, 100*rep.HitRatioL1, 100*rep.HitRatioL2, 100*rep.HitRatioL3, 100*rep.OriginRatio,
		rep.OriginQueries, rep.StaleReads, rep.RYWViolations, rep.RYWChecks)
	return nil
}

// startDashboard serves the dashboard on addr; if it cannot (the port is
// busy), it says so and the demo runs without it.
func startDashboard(d *demo.Demo, addr string, stderr io.Writer) (stop func()) {
	srv, err := dashboard.New(d, dashboard.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "tiercache demo: no dashboard: %v\n", err)
		return func() {}
	}
	at, err := srv.Start(addr)
	if err != nil {
		srv.Close()
		fmt.Fprintf(stderr, "tiercache demo: no dashboard on %s (%v); continuing without it (--dashboard ADDR picks another address)\n", addr, err)
		return func() {}
	}
	fmt.Fprintf(stderr, "tiercache demo: dashboard at http://%s/\n", at)
	fmt.Fprintf(stderr, "tiercache demo: metrics at http://%s/metrics\n", at)
	return func() { srv.Close() }
}
