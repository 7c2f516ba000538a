package tiercache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/tcproto"
	"github.com/tiercache/tiercache/internal/xfetch"
)

// maxWaitPoll bounds the pause between polls of a key whose lease another
// client holds.
const maxWaitPoll = 20 * time.Millisecond

// fetch reads rq's key from its node and resolves what the node answers.
func (c *Client) fetch(ctx context.Context, dst []byte, rq *readReq) ([]byte, error) {
	n, epoch, te, rep, v, err := c.ask(ctx, dst, rq)
	if err != nil {
		return c.degraded(ctx, dst, rq, err)
	}
	return c.resolve(ctx, dst, v, rq, n, epoch, te, rep)
}

// ask sends rq's TC.GET to the key's owner n, and once more to the new
// owner if n answers MOVED. te is the owner's subscription epoch, read
// before asking (see nodeClient.trackEpoch).
func (c *Client) ask(ctx context.Context, dst []byte, rq *readReq) (n *nodeClient, epoch, te uint64, rep getReply, v []byte, err error) {
	topo := c.topo.Load()
	n, epoch = topo.owner(rq.kb), topo.epoch
	te = n.trackEpoch.Load()
	rep, v, err = c.getWithRetry(ctx, n, c.getRequest(rq, epoch), dst)
	if mn, me, ok := c.afterMoved(ctx, err, n, rq.kb); ok {
		n, epoch = mn, me
		te = n.trackEpoch.Load()
		rep, v, err = c.getWithRetry(ctx, n, c.getRequest(rq, epoch), dst)
	}
	return n, epoch, te, rep, v, err
}

func (c *Client) getRequest(rq *readReq, epoch uint64) tcproto.GetRequest {
	return tcproto.GetRequest{
		Key: rq.kb, Epoch: epoch,
		NoLease: rq.def.NoLeases || rq.loader == nil,
		Track:   c.l1 != nil && rq.ks.L1Mode() == keyspace.L1All,
		Hits:    c.hot.takeHits(rq.key, rq.kb),
		MinVer:  rq.minVer,
		From:    bytesOf(rq.from),
	}
}

// getWithRetry is nodeClient.get with BUSY retried after a jittered
// backoff.
func (c *Client) getWithRetry(ctx context.Context, n *nodeClient, req tcproto.GetRequest, dst []byte) (getReply, []byte, error) {
	deadline := c.deadline(ctx)
	for attempt := 0; ; attempt++ {
		rep, v, err := c.nodeGet(ctx, n, deadline, req, dst)
		if err == nil || !errors.Is(err, ErrBusy) || attempt >= c.cfg.BusyRetries || !busyBackoff(ctx, attempt, deadline) {
			return rep, v, err
		}
	}
}

// resolve acts on a TC.GET reply whose value, if any, is v[len(dst):].
// te is the subscription epoch read before the request.
func (c *Client) resolve(ctx context.Context, dst, v []byte, rq *readReq, n *nodeClient, epoch, te uint64, rep getReply) ([]byte, error) {
	if rq.minVer != 0 && c.behind(rq, rep) {
		return c.loadBehind(ctx, dst, rq, n, epoch, te, rep)
	}
	switch rep.status {
	case tcproto.StatusHit:
		c.stats.l2Hits.Add(1)
		c.afterHit(ctx, rq, n, te, v[len(dst):], rep)
		return v, nil
	case tcproto.StatusStale:
		c.stats.l2Stale.Add(1)
		if rep.token != 0 {
			// This client holds the region's one refresh: serve the
			// stale value and load in the background.
			c.stats.leases.Add(1)
			c.stats.ks.leases.Add(rq.slot)
			c.refreshLeased(ctx, rq, n, epoch, te, rep.token, rep.flags)
		}
		return v, nil
	case tcproto.StatusLease:
		c.stats.leases.Add(1)
		c.stats.ks.leases.Add(rq.slot)
		return c.loadLeased(ctx, dst, rq, n, epoch, te, rep)
	case tcproto.StatusWait:
		c.stats.waits.Add(1)
		c.stats.ks.waits.Add(rq.slot)
		return c.awaitFill(ctx, dst, rq, rep.waitMs)
	case tcproto.StatusMiss:
		if rq.loader == nil {
			return dst, ErrNoLoader
		}
		return c.loadUnleased(ctx, dst, rq, n, epoch, te, rep)
	}
	return dst, fmt.Errorf("%w: TC.GET status %v", ErrProtocol, rep.status)
}

// afterHit keeps a hot (or L1All) value in L1, drops a cooled one, and
// starts an early refresh when XFetch says so.
func (c *Client) afterHit(ctx context.Context, rq *readReq, n *nodeClient, te uint64, value []byte, rep getReply) {
	if c.l1 != nil {
		switch mode := rq.ks.L1Mode(); {
		case rep.flags&tcproto.FlagTracked != 0 && (mode == keyspace.L1All || (mode == keyspace.L1Hot && rep.flags&tcproto.FlagHot != 0)):
			c.admitL1(rq, n, te, value, rep.version, rep.softMs, rep.hardMs)
		case mode == keyspace.L1Hot:
			if c.hot.remove(rq.key) {
				c.l1.Delete(rq.kb)
				c.stats.l1Drops.Add(1)
			}
		}
	}
	if rep.softMs < 0 || rq.warm {
		return
	}
	beta := rq.ks.Beta()
	if beta <= 0 {
		return
	}
	now := clock.NowMillis(c.cfg.Clock)
	if xfetch.ShouldRefresh(now, now+rep.softMs, rq.delta.Get(), beta, xfetch.Draw()) {
		c.refreshEarly(ctx, rq, rep.version, false)
	}
}

// loadLeased runs the load this client holds the lease for, publishing its
// result to the process's other readers of the key.
func (c *Client) loadLeased(ctx context.Context, dst []byte, rq *readReq, n *nodeClient, epoch, te uint64, rep getReply) ([]byte, error) {
	var fl interface{ Finish([]byte, error) }
	if !rq.def.NoSingleflight && !rq.leading {
		// If a flight exists (a poller of this process), it sees the
		// fill on its next poll; the load must run either way, or the
		// region waits out the lease.
		if f := c.flights.Start(rq.key); f != nil {
			fl = f
		}
	}
	v, err := c.loadAndFill(ctx, rq, n, epoch, te, rep.token, rep.flags)
	if fl != nil {
		fl.Finish(v, err)
	}
	if err != nil {
		return dst, err
	}
	return append(dst, v...), nil
}

// loadUnleased loads after a plain miss (leases off), coalesced per
// process unless singleflight is off.
func (c *Client) loadUnleased(ctx context.Context, dst []byte, rq *readReq, n *nodeClient, epoch, te uint64, rep getReply) ([]byte, error) {
	return c.shared(ctx, dst, rq, func() ([]byte, error) {
		return c.loadAndFill(ctx, rq, n, epoch, te, 0, rep.flags)
	})
}

// awaitFill waits for another client's fill: one poller per process and
// key, the rest of the process waiting on it.
func (c *Client) awaitFill(ctx context.Context, dst []byte, rq *readReq, waitMs int64) ([]byte, error) {
	if rq.def.NoSingleflight || rq.leading {
		return c.pollFill(ctx, dst, rq, waitMs)
	}
	inner := *rq
	inner.leading = true
	return c.shared(ctx, dst, rq, func() ([]byte, error) {
		return c.pollFill(ctx, nil, &inner, waitMs)
	})
}

// shared runs fn once per key for the process's concurrent readers and
// appends the result to dst. A reader whose leader gave up on its own
// context retries with its own.
func (c *Client) shared(ctx context.Context, dst []byte, rq *readReq, fn func() ([]byte, error)) ([]byte, error) {
	if rq.def.NoSingleflight || rq.leading {
		v, err := fn()
		if err != nil {
			return dst, err
		}
		return append(dst, v...), nil
	}
	for {
		v, err, shared := c.flights.Do(ctx, rq.key, fn)
		if shared {
			c.stats.shared.Add(1)
			if err != nil && isContextErr(err) && ctx.Err() == nil {
				continue
			}
		}
		if err != nil {
			return dst, err
		}
		return append(dst, v...), nil
	}
}

// jitter spreads d over ±25%.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.75 + 0.5*rand.Float64()))
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// pollFill polls the key's node until the lease holder's fill lands, this
// client is granted the lease (the holder gave up), or MaxLeaseWait
// passes; then it loads without filling, since only the lease holder may.
func (c *Client) pollFill(ctx context.Context, dst []byte, rq *readReq, waitMs int64) ([]byte, error) {
	giveUp := time.Now().Add(c.cfg.MaxLeaseWait)
	wait := min(max(time.Duration(waitMs)*time.Millisecond, time.Millisecond), maxWaitPoll)
	for {
		if !sleepCtx(ctx, jitter(wait)) {
			return dst, ctx.Err()
		}
		n, epoch, te, rep, v, err := c.ask(ctx, dst, rq)
		if err != nil {
			return c.degraded(ctx, dst, rq, err)
		}
		if rep.status != tcproto.StatusWait {
			return c.resolve(ctx, dst, v, rq, n, epoch, te, rep)
		}
		c.stats.waits.Add(1)
		c.stats.ks.waits.Add(rq.slot)
		if time.Now().After(giveUp) {
			v, err := c.load(ctx, rq, Hints{})
			return append(dst, v...), err
		}
		wait = min(wait*3/2+time.Millisecond, maxWaitPoll)
	}
}
