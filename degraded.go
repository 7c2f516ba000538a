package tiercache

import (
	"context"
	"errors"
	"fmt"
)

// When a key's node is unavailable (breaker open, connection refused,
// timeout, BUSY after retries) the read does not move to another ring
// node: moving a dead node's whole load onto a neighbour is how one
// failure becomes a cascade. Nor does it queue on the dead node. Where it
// goes is Config.Degraded:
//
//   - DegradedGutter (the default, when Config.GutterNodes name any):
//     first to a gutter node outside the ring (Meta's gutter pool,
//     gutter.go), which caches the value for a short TTL; its misses load
//     under the cap below, and a gutter that is down falls back to it.
//   - DegradedLoader (and any client without gutter nodes): straight to
//     the origin, coalesced per key and capped at DegradedLoads concurrent
//     loads per client, and the value is not cached (the node that would
//     hold it, and send its invalidations, is the one that is down).
//     Beyond the cap the read fails fast with the node's error, so the
//     origin sees at most DegradedLoads loads per client however long the
//     outage.
//
// bench/degraded.go measures both side by side; gutter.go gives the
// figures that made the gutter the default. A stale L1 entry, when there is one, has already been
// served before we get here.

// degraded answers a read whose node failed with cause.
func (c *Client) degraded(ctx context.Context, dst []byte, rq *readReq, cause error) ([]byte, error) {
	c.stats.degraded.Add(1)
	if ctx.Err() != nil {
		return dst, ctx.Err()
	}
	if rq.bg || errors.Is(cause, ErrOverloaded) {
		return dst, cause
	}
	if c.gutter != nil && rq.minVer == 0 {
		// A sticky read skips the gutter: its short-lived copies carry
		// no version to check against the session's write.
		return c.shared(ctx, dst, rq, func() ([]byte, error) { return c.viaGutter(ctx, rq, cause) })
	}
	if rq.loader == nil {
		return dst, cause
	}
	return c.shared(ctx, dst, rq, func() ([]byte, error) { return c.capLoad(ctx, rq, cause) })
}

// capLoad loads rq's key from the origin if fewer than DegradedLoads such
// loads run in this client, and fails fast with cause otherwise.
func (c *Client) capLoad(ctx context.Context, rq *readReq, cause error) ([]byte, error) {
	if rq.loader == nil {
		return nil, cause
	}
	select {
	case c.degradedSem <- struct{}{}:
	default:
		c.stats.degradedRefused.Add(1)
		return nil, fmt.Errorf("%w (origin load cap of %d reached)", cause, c.cfg.DegradedLoads)
	}
	defer func() { <-c.degradedSem }()
	c.stats.degradedLoads.Add(1)
	return c.load(ctx, rq, Hints{Degraded: true})
}
