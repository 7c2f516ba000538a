package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tiercache/tiercache/internal/demo"
)

func TestDemoRunsAndReports(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"demo", "--duration", "4s", "--report", "json", "--workers", "2", "--keys", "500", "--dashboard", ""}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep demo.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out.String())
	}
	if len(rep.Regions) != 3 || len(rep.Links) != 6 {
		t.Fatalf("want 3 regions and 6 links: %+v", rep)
	}
	for _, r := range rep.Regions {
		if r.Reads == 0 {
			t.Errorf("region %s read nothing", r.Name)
		}
	}
	if rep.RYWViolations != 0 {
		t.Errorf("%d read-your-writes violations: %v", rep.RYWViolations, rep.RYWViolationExamples)
	}
	for _, want := range []string{"reads/s", "raftmeta", "us-east-l2-1="} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q: %q", want, errb.String())
		}
	}
}

func TestDemoRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--report", "xml"},
		{"demo", "--zipf", "0.5"},
		{"demo", "--workers", "0"},
		{"demo", "--write-pct", "200"},
		{"demo", "--profile", "nowhere"},
		{"demo", "extra"},
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
