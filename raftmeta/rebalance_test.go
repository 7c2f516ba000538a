package raftmeta

import (
	"errors"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/pki"
)

func report(node string, epoch uint64, st RebalanceState, done, keys int64) *RebalanceReport {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	return &RebalanceReport{Node: node, FromEpoch: epoch - 1, ToEpoch: epoch, StartedAt: t0, Progress: RebalanceNode{
		State: st, RangesTotal: 10, RangesDone: int(done), KeysTotal: 100, Keys: keys, BytesTotal: 1000, Bytes: keys * 10,
		ETASeconds: float64(100-keys) / 10, UpdatedAt: t0.Add(time.Duration(keys) * time.Second),
	}}
}

func TestRebalanceReportsMergePerNode(t *testing.T) {
	h := newFSMHarness(t)
	h.apply(command{Op: opReportRebalance, Report: report("n1", 2, RebalanceRunning, 3, 30)})
	h.apply(command{Op: opReportRebalance, Report: report("n2", 2, RebalanceRunning, 5, 50)})
	// n1 again: its own share is replaced, n2's kept.
	h.apply(command{Op: opReportRebalance, Report: report("n1", 2, RebalanceRunning, 4, 40)})
	r := h.f.current().rebalance
	if r == nil || r.ToEpoch != 2 || r.FromEpoch != 1 || r.State != RebalanceRunning {
		t.Fatalf("record %+v", r)
	}
	if r.RangesTotal != 20 || r.RangesDone != 9 || r.Keys != 90 || r.KeysTotal != 200 || r.Bytes != 900 || r.BytesTotal != 2000 {
		t.Fatalf("sums %+v", r)
	}
	if r.ETASeconds != 6 || len(r.Nodes) != 2 {
		t.Fatalf("eta (slowest node) %v, nodes %v", r.ETASeconds, r.Nodes)
	}

	// The operator pauses; reports keep the pause.
	h.apply(command{Op: opRebalanceState, Rebalance: &Rebalance{State: RebalancePaused}})
	h.apply(command{Op: opReportRebalance, Report: report("n2", 2, RebalancePaused, 5, 50)})
	if r := h.f.current().rebalance; r.State != RebalancePaused {
		t.Fatalf("pause lost to a report: %+v", r)
	}
	// A report of an older rebalance changes nothing.
	if res := h.apply(command{Op: opReportRebalance, Report: report("n3", 1, RebalanceRunning, 1, 1)}); res.Changed {
		t.Fatalf("stale report applied")
	}
	h.apply(command{Op: opRebalanceState, Rebalance: &Rebalance{State: RebalanceRunning}})
	h.apply(command{Op: opReportRebalance, Report: report("n1", 2, RebalanceDone, 10, 100)})
	if r := h.f.current().rebalance; r.State != RebalanceRunning {
		t.Fatalf("done before every node: %+v", r)
	}
	h.apply(command{Op: opReportRebalance, Report: report("n2", 2, RebalanceDone, 10, 100)})
	if r := h.f.current().rebalance; r.State != RebalanceDone || r.RangesDone != 20 || r.ETASeconds != 0 {
		t.Fatalf("all done: %+v", r)
	}
	// A new rebalance starts a fresh record.
	h.apply(command{Op: opReportRebalance, Report: report("n1", 3, RebalanceRunning, 0, 0)})
	if r := h.f.current().rebalance; r.ToEpoch != 3 || len(r.Nodes) != 1 || r.State != RebalanceRunning {
		t.Fatalf("new rebalance %+v", r)
	}
}

func TestRebalancePauseBeforeHoldsTheNext(t *testing.T) {
	h := newFSMHarness(t)
	if res := h.apply(command{Op: opRebalanceState, Rebalance: &Rebalance{State: RebalancePaused}}); res.Err != nil || !res.Changed {
		t.Fatalf("pause with no record: %+v", res)
	}
	if !h.f.current().rebalance.Held() {
		t.Fatal("pause not recorded")
	}
	// The next rebalance's first report (a node with nothing to push is
	// done at once) starts held, and stays so as other nodes report.
	h.apply(command{Op: opReportRebalance, Report: report("n4", 2, RebalanceDone, 10, 100)})
	h.apply(command{Op: opReportRebalance, Report: report("n1", 2, RebalancePaused, 0, 0)})
	if r := h.f.current().rebalance; r.State != RebalancePaused || !r.Held() || r.ToEpoch != 2 {
		t.Fatalf("next rebalance %+v", r)
	}
	if res := h.apply(command{Op: opRebalanceState, Rebalance: &Rebalance{State: "done"}}); !errors.Is(res.Err, ErrInvalid) {
		t.Fatalf("state done accepted: %+v", res)
	}
	if err := (RebalanceReport{Node: "n1", Progress: RebalanceNode{State: "bogus"}}).Validate(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad state accepted: %v", err)
	}
}

func TestRebalancePauseResumeOverHTTP(t *testing.T) {
	c := newCluster(t, clusterOpts{n: 1})
	ctx := ctxFor(t, 10*time.Second)
	node, admin := c.client(pki.RoleNode), c.client(pki.RoleAdmin)
	if _, err := node.ReportRebalance(ctx, *report("n1", 2, RebalanceRunning, 1, 10)); err != nil {
		t.Fatalf("node reports: %v", err)
	}
	if _, err := node.PauseRebalance(ctx); !errors.Is(err, ErrForbidden) {
		t.Fatalf("node pauses: %v", err)
	}
	if _, err := admin.PauseRebalance(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := admin.Rebalance(ctx); err != nil || r.State != RebalancePaused || r.Keys != 10 {
		t.Fatalf("paused record %+v %v", r, err)
	}
	if _, err := admin.ResumeRebalance(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := admin.Rebalance(ctx); err != nil || r.State != RebalanceRunning {
		t.Fatalf("resumed record %+v %v", r, err)
	}
}
