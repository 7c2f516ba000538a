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
}

// Validate reports the first bad field, wrapping ErrInvalid.
func (r Rebalance) Validate() error {
	if err := validName("rebalance id", r.ID); err != nil {
		return err
	}
	switch r.State {
	case RebalanceRunning, RebalancePaused, RebalanceDone:
	default:
		return fmt.Errorf("%w: rebalance state %q (want running, paused or done)", ErrInvalid, r.State)
	}
	if r.RangesTotal < 0 || r.RangesDone < 0 || r.RangesDone > r.RangesTotal {
		return fmt.Errorf("%w: ranges done %d of %d", ErrInvalid, r.RangesDone, r.RangesTotal)
	}
	if r.Keys < 0 || r.Bytes < 0 {
		return fmt.Errorf("%w: negative keys (%d) or bytes (%d)", ErrInvalid, r.Keys, r.Bytes)
	}
	if r.ToEpoch < r.FromEpoch {
		return fmt.Errorf("%w: to_epoch %d before from_epoch %d", ErrInvalid, r.ToEpoch, r.FromEpoch)
	}
	return nil
}
