package raftmeta

import "testing"

// At the start of a drain the up nodes, which have nothing to push,
// report done 0/0 before the draining node's first report: the record must
// not say done until the draining node has reported and finished.
func TestRebalanceNotDoneBeforeDrainingNodeReports(t *testing.T) {
	h := newFSMHarness(t)
	for _, id := range []string{"n1", "n2", "n3"} {
		h.topo(command{Op: opRegister, Spec: spec(id, "eu")})
	}
	if r := h.topo(command{Op: opDrain, NodeID: "n3", Drain: true}); r.Err != nil {
		t.Fatal(r.Err)
	}
	epoch := h.f.current().topo.Epoch
	if n, _ := h.f.current().topo.Node("n3"); n.State != StateDraining {
		t.Fatalf("n3 is %s, want draining", n.State)
	}
	idle := func(node string) *RebalanceReport {
		rep := report(node, epoch, RebalanceDone, 0, 0)
		rep.Progress.RangesTotal, rep.Progress.KeysTotal, rep.Progress.BytesTotal = 0, 0, 0
		return rep
	}
	h.apply(command{Op: opReportRebalance, Report: idle("n1")})
	h.apply(command{Op: opReportRebalance, Report: idle("n2")})
	if r := h.f.current().rebalance; r == nil || r.State != RebalanceRunning {
		t.Fatalf("record before the draining node reported: %+v", r)
	}
	h.apply(command{Op: opReportRebalance, Report: report("n3", epoch, RebalanceRunning, 4, 40)})
	if r := h.f.current().rebalance; r.State != RebalanceRunning || r.RangesDone != 4 || r.RangesTotal != 10 {
		t.Fatalf("record while n3 pushes: %+v", r)
	}
	h.apply(command{Op: opReportRebalance, Report: report("n3", epoch, RebalanceDone, 10, 100)})
	if r := h.f.current().rebalance; r.State != RebalanceDone || r.Keys != 100 {
		t.Fatalf("record after n3 is done: %+v", r)
	}
}

// Without a draining node, nodes that push nothing finish the record at
// once, as before: only draining nodes are waited for.
func TestRebalanceDoneWithoutDrainingNode(t *testing.T) {
	h := newFSMHarness(t)
	h.topo(command{Op: opRegister, Spec: spec("n1", "eu")})
	epoch := h.f.current().topo.Epoch
	h.apply(command{Op: opReportRebalance, Report: report("n1", epoch, RebalanceDone, 10, 100)})
	if r := h.f.current().rebalance; r == nil || r.State != RebalanceDone {
		t.Fatalf("record %+v", r)
	}
}
