package l3

import (
	"context"
	"errors"
	"fmt"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l2/store"
)

// ErrFillRefused is returned by L2Global.Fill when the owner kept its own
// version (the token was spent or dropped, or it holds newer data).
var ErrFillRefused = errors.New("l3: fill refused")

// L2Global is the global tier as an L2 node sees it (l2.GlobalTier): the
// node's owner misses, fills and writes go through a Client. l2 defines
// the interface and knows nothing of l3; this adapter is the one place the
// two meet.
type L2Global struct{ c *Client }

var _ l2.GlobalTier = (*L2Global)(nil)

// NewL2Global returns c as an l2.GlobalTier, for (*l2.Node).SetGlobal.
func NewL2Global(c *Client) *L2Global { return &L2Global{c: c} }

var modeOf = [...]Mode{l2.GlobalRead: ModeRead, l2.GlobalTicket: ModeTicket, l2.GlobalLease: ModeLease}

// Get asks the key's L3 owner.
func (a *L2Global) Get(ctx context.Context, key []byte, mode l2.GlobalMode) (l2.GlobalReply, error) {
	m := ModeRead
	if int(mode) < len(modeOf) {
		m = modeOf[mode]
	}
	rep, err := a.c.Get(ctx, GetRequest{Key: key, Mode: m})
	if err != nil {
		return l2.GlobalReply{}, err
	}
	out := l2.GlobalReply{Item: rep.Item, Token: rep.Token, WaitMs: rep.WaitMs}
	switch rep.Status {
	case StatusHit:
		out.Status = l2.GlobalHit
	case StatusStale:
		out.Status = l2.GlobalStale
	case StatusLease:
		out.Status = l2.GlobalLeased
	case StatusWait:
		out.Status = l2.GlobalWait
	default:
		out.Status = l2.GlobalMiss
	}
	return out, nil
}

// Fill stores the region's load at the owner under token.
func (a *L2Global) Fill(ctx context.Context, key []byte, token uint64, it store.Item) error {
	rep, err := a.c.Fill(ctx, FillRequest{Key: key, Token: token, Item: it})
	if err != nil {
		return err
	}
	if rep.Status != StatusOK {
		return fmt.Errorf("%w: %q at version %d: %s (held %d)", ErrFillRefused, key, it.Version, rep.Status, rep.Version)
	}
	return nil
}

// Release gives back a global lease.
func (a *L2Global) Release(ctx context.Context, key []byte, token uint64) error {
	_, err := a.c.Release(ctx, key, token)
	return err
}

// Publish hands a write to the key's owner and every other region.
func (a *L2Global) Publish(c l2.GlobalChange) error {
	return a.c.Publish(federation.Change{Key: c.Key, Value: c.Value, Version: c.Version, ExpireAt: c.ExpireAt, Delete: c.Delete})
}

// ChangesForL2 converts a batch from the change stream for
// (*l2.Node).ApplyGlobal. The slices are shared, not copied.
func ChangesForL2(changes []federation.Change) []l2.GlobalChange {
	out := make([]l2.GlobalChange, len(changes))
	for i, c := range changes {
		out[i] = l2.GlobalChange{Key: c.Key, Value: c.Value, Version: c.Version, ExpireAt: c.ExpireAt, Delete: c.Delete}
	}
	return out
}
