package bench

import (
	"math"
	"strings"
)

// A report row is one figure beside its peer, with the target it is held
// to. Scenarios' figures are flat name → number maps; the per-scenario
// specs in report_specs.go say which names pair up and what the peer is.

// row is one line of a scenario's table.
type row struct {
	Label    string
	Ours     float64 // NaN: not measured
	Peer     float64 // NaN: no peer value
	PeerName string  // "" when the figure has no peer
	Ratio    float64 // ours over peer as the scenario computed it (NaN: none)
	Target   *target // nil: reported, no target
}

// target is a bound on the row's ratio or on its own value.
type target struct {
	onRatio bool
	op      string // "<=", ">=" or "=="
	value   float64
	// rel, when set, makes the bound relative to the peer value:
	// ours <= peer + value (the lag target: one-way delay + 20 ms).
	relToPeer bool
}

func atMost(v float64) *target         { return &target{op: "<=", value: v} }
func atLeast(v float64) *target        { return &target{op: ">=", value: v} }
func exactly(v float64) *target        { return &target{op: "==", value: v} }
func ratioAtMost(v float64) *target    { return &target{onRatio: true, op: "<=", value: v} }
func ratioAtLeast(v float64) *target   { return &target{onRatio: true, op: ">=", value: v} }
func peerPlusAtMost(v float64) *target { return &target{op: "<=", value: v, relToPeer: true} }

// text says the target in words a reader of BENCH.md understands.
func (t *target) text() string {
	if t == nil {
		return "—"
	}
	op := map[string]string{"<=": "≤", ">=": "≥", "==": "="}[t.op]
	switch {
	case t.onRatio:
		return "ratio " + op + " " + fmtValue(t.value)
	case t.relToPeer:
		return op + " peer + " + fmtValue(t.value)
	default:
		return op + " " + fmtValue(t.value)
	}
}

// value is what the target applies to: the ratio, or the figure itself.
func (r row) value() float64 {
	if r.Target != nil && r.Target.onRatio {
		return r.Ratio
	}
	return r.Ours
}

// verdict is "met", "missed", "—" (no target) or "not measured".
func (r row) verdict() string {
	if r.Target == nil {
		return "—"
	}
	v, bound := r.value(), r.Target.value
	if r.Target.relToPeer {
		bound += r.Peer
	}
	if math.IsNaN(v) || math.IsNaN(bound) {
		return "not measured"
	}
	const eps = 1e-9
	ok := false
	switch r.Target.op {
	case "<=":
		ok = v <= bound+eps
	case ">=":
		ok = v >= bound-eps
	case "==":
		ok = math.Abs(v-bound) <= eps
	}
	if ok {
		return "met"
	}
	return "missed"
}

// figureOf returns a figure or NaN when the scenario did not print it.
func figureOf(r *Result, name string) float64 {
	if r == nil {
		return math.NaN()
	}
	if v, ok := r.Figures[name]; ok {
		return v
	}
	return math.NaN()
}

// pair is a row of ours beside a peer, with the scenario's ratio figure.
func pair(r *Result, label, ours, peer, peerName, ratio string, t *target) row {
	rw := row{Label: label, Ours: figureOf(r, ours), Peer: math.NaN(), PeerName: peerName, Ratio: math.NaN(), Target: t}
	if peer != "" {
		rw.Peer = figureOf(r, peer)
	}
	switch {
	case ratio != "":
		rw.Ratio = figureOf(r, ratio)
	case peer != "" && rw.Peer != 0:
		rw.Ratio = rw.Ours / rw.Peer
	}
	return rw
}

// alone is a row with no peer.
func alone(r *Result, label, ours string, t *target) row {
	return pair(r, label, ours, "", "", "", t)
}

// shortVersion turns "Redis server v=7.0.15 sha=..." into "7.0.15".
func shortVersion(s string) string {
	for _, f := range strings.Fields(s) {
		if v, ok := strings.CutPrefix(f, "v="); ok {
			return v
		}
	}
	return ""
}
