package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestDemoRunsAndReports(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"demo", "--duration", "3s", "--report", "json", "--workers", "8", "--keys", "2000"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep demoReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out.String())
	}
	if rep.OpsTotal == 0 || rep.HitRatio <= 0 || rep.HitRatio > 1 {
		t.Fatalf("implausible report: %+v", rep)
	}
	if len(rep.Regions) != 1 || len(rep.Regions[0].Nodes) != 3 {
		t.Fatalf("want one region of 3 nodes: %+v", rep.Regions)
	}
	for _, n := range rep.Regions[0].Nodes {
		if n.Ops == 0 {
			t.Errorf("node %s served nothing", n.ID)
		}
	}
	if rep.Errors != 0 {
		t.Errorf("%d errors", rep.Errors)
	}
	if !strings.Contains(errb.String(), "ops/s") {
		t.Errorf("no live summary line on stderr: %q", errb.String())
	}
}

func TestDemoRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--report", "xml"},
		{"demo", "--zipf", "0.5"},
		{"demo", "--nodes", "0"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}
