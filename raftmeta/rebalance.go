package raftmeta

import (
	"fmt"
	"time"
)

// RebalanceState is where a range migration stands.
type RebalanceState string

// The rebalance states.
const (
	RebalanceRunning RebalanceState = "running"
	RebalancePaused  RebalanceState = "paused"
	RebalanceDone    RebalanceState = "done"
)

// Rebalance is the progress record of one range migration, kept in the
// FSM so every member (and `tiercache ctl rebalance status`) sees the same
// figures. The rebalancer that moves ranges fills it; raftmeta only stores
// and validates it.
type Rebalance struct {
	ID    string         `json:"id"`
	State RebalanceState `json:"state"`
	// FromEpoch and ToEpoch are the topologies the ranges move between.
	FromEpoch   uint64    `json:"from_epoch"`
	ToEpoch     uint64    `json:"to_epoch"`
	RangesTotal int       `json:"ranges_total"`
	RangesDone  int       `json:"ranges_done"`
	Keys        int64     `json:"keys"`  // keys moved so far
	Bytes       int64     `json:"bytes"` // bytes moved so far
	StartedAt   time.Time `json:"started_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// KeysTotal and BytesTotal are what the moved ranges held when the
	// push began; ETASeconds is the slowest node's estimate (0: unknown
	// or done). Nodes holds each reporting node's share; the figures
	// above are their sums.
	KeysTotal  int64                    `json:"keys_total,omitempty"`
	BytesTotal int64                    `json:"bytes_total,omitempty"`
	ETASeconds float64                  `json:"eta_seconds,omitempty"`
	Nodes      map[string]RebalanceNode `json:"nodes,omitempty"`
	// Hold is the operator's pause (`tiercache ctl rebalance pause`): it
	// outlives node reports, and a pause given when no rebalance runs
	// holds the next one. State is paused while Hold is set and some
	// node is not done.
	Hold bool `json:"hold,omitempty"`
}

// Held reports whether migrators should hold their pushes.
func (r *Rebalance) Held() bool {
	return r != nil && (r.Hold || r.State == RebalancePaused)
}

// Validate reports the first bad field, wrapping ErrInvalid.
func (r Rebalance) Validate() error {
	if err := validName("rebalance id", r.ID); err != nil {
		return err
	}
	if err := validProgress(r.State, r.RangesDone, r.RangesTotal); err != nil {
		return err
	}
	if r.Keys < 0 || r.Bytes < 0 {
		return fmt.Errorf("%w: negative keys (%d) or bytes (%d)", ErrInvalid, r.Keys, r.Bytes)
	}
	return validEpochs(r.FromEpoch, r.ToEpoch)
}

// validProgress checks the state and range counts a rebalance record and
// a node's report share.
func validProgress(state RebalanceState, rangesDone, rangesTotal int) error {
	switch state {
	case RebalanceRunning, RebalancePaused, RebalanceDone:
	default:
		return fmt.Errorf("%w: rebalance state %q (want running, paused or done)", ErrInvalid, state)
	}
	if rangesTotal < 0 || rangesDone < 0 || rangesDone > rangesTotal {
		return fmt.Errorf("%w: ranges done %d of %d", ErrInvalid, rangesDone, rangesTotal)
	}
	return nil
}

func validEpochs(from, to uint64) error {
	if to < from {
		return fmt.Errorf("%w: to_epoch %d before from_epoch %d", ErrInvalid, to, from)
	}
	return nil
}

// RebalanceNode is one node's share of a rebalance: the ranges it pushes
// to their new owners. Each node's migrator reports its own with
// Client.ReportRebalance; the record's totals are the sums.
type RebalanceNode struct {
	State       RebalanceState `json:"state"`
	RangesTotal int            `json:"ranges_total"`
	RangesDone  int            `json:"ranges_done"`
	KeysTotal   int64          `json:"keys_total"`
	Keys        int64          `json:"keys"`
	BytesTotal  int64          `json:"bytes_total"`
	Bytes       int64          `json:"bytes"`
	ETASeconds  float64        `json:"eta_seconds"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

// RebalanceReport is one node's progress report for the rebalance to
// ToEpoch.
type RebalanceReport struct {
	Node      string        `json:"node"`
	FromEpoch uint64        `json:"from_epoch"`
	ToEpoch   uint64        `json:"to_epoch"`
	StartedAt time.Time     `json:"started_at"`
	Progress  RebalanceNode `json:"progress"`
}

// Validate reports the first bad field, wrapping ErrInvalid.
func (r RebalanceReport) Validate() error {
	if err := validName("node id", r.Node); err != nil {
		return err
	}
	p := r.Progress
	if err := validProgress(p.State, p.RangesDone, p.RangesTotal); err != nil {
		return err
	}
	if p.Keys < 0 || p.Bytes < 0 || p.KeysTotal < 0 || p.BytesTotal < 0 || p.ETASeconds < 0 {
		return fmt.Errorf("%w: negative progress figures", ErrInvalid)
	}
	return validEpochs(r.FromEpoch, r.ToEpoch)
}

// mergeReport folds a node's report into the record (nil: none yet) and
// returns the new record, or nil when the report is for an older
// rebalance. The operator's pause (Hold) survives reports and carries
// over to a new rebalance; the record is done when every node that has
// reported is (a node with nothing to push reports done at once) and
// every node in expect has reported. expect names the nodes known to
// have ranges to push (the draining ones): at the start of a drain the
// up nodes, which push nothing, report done 0/0 at once, before the
// draining node's first report, and without expect the record would say
// done while the drain has not begun.
func mergeReport(cur *Rebalance, rep RebalanceReport, expect []string) *Rebalance {
	var r Rebalance
	switch {
	case cur != nil && rep.ToEpoch < cur.ToEpoch:
		return nil
	case cur != nil && rep.ToEpoch == cur.ToEpoch:
		r = *cur
		r.Hold = cur.Held()
		r.Nodes = make(map[string]RebalanceNode, len(cur.Nodes)+1)
		for id, n := range cur.Nodes {
			r.Nodes[id] = n
		}
	default:
		r = Rebalance{ID: fmt.Sprintf("epoch-%d", rep.ToEpoch), State: RebalanceRunning, FromEpoch: rep.FromEpoch,
			ToEpoch: rep.ToEpoch, StartedAt: rep.StartedAt, Nodes: map[string]RebalanceNode{}}
		r.Hold = cur.Held()
	}
	r.Nodes[rep.Node] = rep.Progress
	// A node new to the region reports 0; the others their last epoch.
	r.FromEpoch = max(r.FromEpoch, rep.FromEpoch)
	if r.StartedAt.IsZero() || (!rep.StartedAt.IsZero() && rep.StartedAt.Before(r.StartedAt)) {
		r.StartedAt = rep.StartedAt
	}
	r.RangesTotal, r.RangesDone, r.Keys, r.Bytes, r.KeysTotal, r.BytesTotal, r.ETASeconds = 0, 0, 0, 0, 0, 0, 0
	done := true
	for _, n := range r.Nodes {
		r.RangesTotal += n.RangesTotal
		r.RangesDone += n.RangesDone
		r.Keys += n.Keys
		r.Bytes += n.Bytes
		r.KeysTotal += n.KeysTotal
		r.BytesTotal += n.BytesTotal
		r.ETASeconds = max(r.ETASeconds, n.ETASeconds)
		if n.UpdatedAt.After(r.UpdatedAt) {
			r.UpdatedAt = n.UpdatedAt
		}
		done = done && n.State == RebalanceDone
	}
	for _, id := range expect {
		if _, ok := r.Nodes[id]; !ok {
			done = false
		}
	}
	switch {
	case done:
		r.State, r.ETASeconds = RebalanceDone, 0
	case r.Hold:
		r.State = RebalancePaused
	default:
		r.State = RebalanceRunning
	}
	return &r
}
