package l2

import (
	"context"
	"time"

	"github.com/tiercache/tiercache/raftmeta"
)

// MigrationControl is the control plane as a migrator sees it. Its methods
// are called from the migrator's control goroutine, one at a time.
type MigrationControl interface {
	// Report publishes this node's progress.
	Report(ctx context.Context, p MigrationProgress) error
	// Paused reports whether the operator has paused the rebalance.
	Paused(ctx context.Context) (bool, error)
}

// MigrationState is where a node's migration stands.
type MigrationState string

// The migration states.
const (
	MigrationIdle    MigrationState = "idle"
	MigrationRunning MigrationState = "running"
	MigrationPaused  MigrationState = "paused"
	MigrationDone    MigrationState = "done"
)

// MigrationProgress is one node's share of a rebalance: what it pushes.
type MigrationProgress struct {
	Node        string
	FromEpoch   uint64 // the epoch of the previous transition (0: none seen)
	Epoch       uint64 // the topology epoch the ranges move to
	State       MigrationState
	RangesTotal int
	RangesDone  int
	KeysTotal   int64 // keys found in the moved ranges when the push began
	Keys        int64 // keys pushed
	BytesTotal  int64
	Bytes       int64
	Batches     int64
	Failed      int64 // keys in batches that could not be pushed
	StartedAt   time.Time
	UpdatedAt   time.Time
	ETA         time.Duration // 0 when unknown or done
	// Pulls and PullHits count this node's pull-through reads as a new
	// owner, and how many found the key.
	Pulls, PullHits uint64
}

// NewMetaControl returns the control plane's rebalance record as a
// migrator's MigrationControl: each node reports its own share (the FSM
// sums them, so `tiercache ctl rebalance status` shows ranges, keys, bytes
// and ETA for the region) and every node follows `tiercache ctl rebalance
// pause|resume`.
func NewMetaControl(cl *raftmeta.Client) MigrationControl { return metaControl{cl} }

type metaControl struct{ cl *raftmeta.Client }

func (c metaControl) Report(ctx context.Context, p MigrationProgress) error {
	st := raftmeta.RebalanceRunning
	switch p.State {
	case MigrationPaused:
		st = raftmeta.RebalancePaused
	case MigrationDone:
		st = raftmeta.RebalanceDone
	}
	_, err := c.cl.ReportRebalance(ctx, raftmeta.RebalanceReport{
		Node: p.Node, FromEpoch: min(p.FromEpoch, p.Epoch), ToEpoch: p.Epoch, StartedAt: p.StartedAt,
		Progress: raftmeta.RebalanceNode{
			State: st, RangesTotal: p.RangesTotal, RangesDone: p.RangesDone,
			KeysTotal: p.KeysTotal, Keys: p.Keys, BytesTotal: p.BytesTotal, Bytes: p.Bytes,
			ETASeconds: p.ETA.Seconds(), UpdatedAt: p.UpdatedAt,
		},
	})
	return err
}

func (c metaControl) Paused(ctx context.Context) (bool, error) {
	r, err := c.cl.Rebalance(ctx)
	if err != nil {
		return false, err
	}
	return r.Held(), nil
}
