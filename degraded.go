package tiercache

import (
	"context"
	"errors"
	"fmt"
)

// When a key's node is unavailable (breaker open, connection refused,
// timeout, BUSY after retries) the read does not move to another node:
// moving a dead node's whole load onto a neighbour is how one failure
// becomes a cascade. Nor does it queue on the dead node. It goes straight
// to the origin, coalesced per key and capped at DegradedLoads concurrent
// loads per client, and the value is not cached (the node that would hold
// it, and send its invalidations, is the one that is down). Beyond the cap
// the read fails fast with the node's error, so the origin sees at most
// DegradedLoads loads per client however long the outage.
//
// Why not Meta's gutter pool (a few spare servers with short TTLs that
// take over a failed node's keys): it needs idle capacity standing by in
// every region, and its entries miss invalidations meant for the failed
// owner, so they can serve stale data for their whole TTL. A stale L1
// entry, when there is one, has already been served before we get here.

// degraded answers a read whose node failed with cause.
func (c *Client) degraded(ctx context.Context, dst []byte, rq *readReq, cause error) ([]byte, error) {
	c.stats.degraded.Add(1)
	if ctx.Err() != nil {
		return dst, ctx.Err()
	}
	if rq.bg || rq.loader == nil || errors.Is(cause, ErrOverloaded) {
		return dst, cause
	}
	load := func() ([]byte, error) {
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
	return c.shared(ctx, dst, rq, load)
}
