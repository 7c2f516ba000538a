package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchAllCommand runs `tiercache bench all --quick` on one fast
// scenario, then redraws its report with `bench report` for BENCH.md's
// plot folder.
func TestBenchAllCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real scenario")
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"bench", "all", "--quick", "--only", "hotkey", "--out", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "1 scenarios, 0 failed") || !strings.Contains(errb.String(), "[1/1] hotkey") {
		t.Errorf("stdout %q, stderr %q", out.String(), errb.String())
	}
	for _, f := range []string{"results.json", "report.md", "tables/hotkey.md", "plots/hotkey-load.svg", "progress.log"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	redraw := t.TempDir()
	out.Reset()
	errb.Reset()
	if code := run([]string{"bench", "report", "--in", filepath.Join(dir, "results.json"), "--out", redraw, "--plot-prefix", "docs/bench/"}, &out, &errb); code != 0 {
		t.Fatalf("bench report: exit %d: %s", code, errb.String())
	}
	md, err := os.ReadFile(filepath.Join(redraw, "report.md"))
	if err != nil || !bytes.Contains(md, []byte("](docs/bench/hotkey-load.svg)")) {
		t.Fatalf("redrawn report (%v):\n%s", err, md)
	}
}

// TestBenchAllFailsWhenAScenarioFails: a scenario that cannot finish (here
// its time limit is over before it starts) is reported, and the command
// exits non-zero naming it.
func TestBenchAllFailsWhenAScenarioFails(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a region")
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := run([]string{"bench", "all", "--quick", "--only", "stampede", "--timeout", "1ns", "--out", dir}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "did not complete: stampede (failed)") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil || !bytes.Contains(md, []byte("**failed**, not measured")) {
		t.Fatalf("report (%v):\n%s", err, md)
	}
}

func TestBenchAllRejectsBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "all"}, // no --out
		{"bench", "all", "--out", t.TempDir(), "extra"}, // stray argument
		{"bench", "all", "--out", t.TempDir(), "--only", "no-such"},
		{"bench", "report", "--in", filepath.Join(t.TempDir(), "missing.json"), "--out", t.TempDir()},
		{"bench", "report", "--out", t.TempDir()},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code == 0 {
			t.Errorf("%q succeeded", args)
		} else if errb.Len() == 0 {
			t.Errorf("%q failed without saying why", args)
		}
	}
}

func TestSplitBenchArgs(t *testing.T) {
	common, scenario := splitBenchArgs([]string{"--json", "--cut", "30s", "--runs", "2", "-quick", "--keys=10", "--runs=3", "--", "--json"})
	if got, want := strings.Join(common, " "), "--json --runs 2 -quick --runs=3"; got != want {
		t.Errorf("common %q, want %q", got, want)
	}
	if got, want := strings.Join(scenario, " "), "--cut 30s --keys=10 --json"; got != want {
		t.Errorf("scenario %q, want %q", got, want)
	}
}
