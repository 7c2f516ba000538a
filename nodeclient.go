package tiercache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/internal/breaker"
	"github.com/tiercache/tiercache/internal/resp"
	"github.com/tiercache/tiercache/internal/tcproto"
)

// nodeClient is the client's handle on one node: its connection pool,
// circuit breaker and invalidation subscription.
type nodeClient struct {
	id, addr string
	pool     *pool
	br       *breaker.Breaker
	stats    *counters
	// opTimeout caps one exchange with the node, whatever the caller's
	// deadline: a node slower than that counts as failing.
	opTimeout time.Duration

	// trackEpoch counts subscription transitions: odd while the
	// subscription is up. A read admits to L1 only if the epoch it saw
	// before asking is odd and unchanged after, so no push can have been
	// lost in between.
	trackEpoch atomic.Uint64
	stopTrack  context.CancelFunc // ends the subscription goroutine
	// trackConn is the live subscription connection, for tests that cut
	// it.
	trackConn atomic.Pointer[nodeConn]
}

// getReply is a decoded TC.GET reply; the value goes to the caller's
// buffer.
type getReply struct {
	status         tcproto.Status
	version        uint64
	softMs, hardMs int64 // remaining at the node; -1 none
	flags          tcproto.Flags
	token          uint64
	waitMs         int64
}

// begin asks the breaker and takes a connection, waiting for one until
// deadline; the exchange that follows must end by deadline and within
// opTimeout.
func (n *nodeClient) begin(ctx context.Context, deadline time.Time) (*nodeConn, bool, error) {
	probe, err := n.br.Allow()
	if err != nil {
		n.stats.breakerFastFails.Add(1)
		return nil, false, fmt.Errorf("%w: %s: %w", ErrUnavailable, n.id, err)
	}
	c, err := n.pool.get(ctx, deadline)
	if err != nil {
		switch {
		case errors.Is(err, errPoolWait):
			// Our own pool is saturated: not the node's fault (a
			// probe left unreported is replaced after a cooldown),
			// and no reason to go to the origin either.
			return nil, false, fmt.Errorf("%w: %s: %w", ErrOverloaded, n.id, err)
		case errors.Is(err, ErrClosed), ctx.Err() != nil:
		default:
			n.br.Done(probe, false)
		}
		return nil, false, fmt.Errorf("%w: %s: %w", ErrUnavailable, n.id, err)
	}
	if d := time.Now().Add(n.opTimeout); d.Before(deadline) {
		deadline = d
	}
	c.nc.SetDeadline(deadline)
	return c, probe, nil
}

// end reports a call's outcome to the breaker and returns its connection,
// and turns err into the client's error vocabulary.
func (n *nodeClient) end(c *nodeConn, probe bool, err error) error {
	var se *resp.ServerError
	switch {
	case err == nil:
		n.br.Done(probe, true)
		n.pool.put(c, true)
		return nil
	case errors.As(err, &se):
		// The node answered: it is alive and the stream is in step.
		n.br.Done(probe, true)
		n.pool.put(c, true)
		if me, ok := parseMoved(se); ok {
			return me
		}
		if se.Code() == "BUSY" {
			n.stats.busy.Add(1)
			return fmt.Errorf("%w: %s: %s", ErrBusy, n.id, se.Msg)
		}
		return fmt.Errorf("%w: %s: %w", ErrProtocol, n.id, se)
	case errors.Is(err, resp.ErrProtocol), errors.Is(err, resp.ErrUnexpected), errors.Is(err, ErrProtocol):
		n.br.Done(probe, false)
		n.pool.put(c, false)
		return fmt.Errorf("%w: %s: %w", ErrProtocol, n.id, err)
	default:
		n.br.Done(probe, false)
		n.pool.put(c, false)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			n.stats.timeouts.Add(1)
		}
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, n.id, err)
	}
}

// get sends one TC.GET and appends the value to dst.
func (n *nodeClient) get(ctx context.Context, deadline time.Time, req tcproto.GetRequest, dst []byte) (getReply, []byte, error) {
	c, probe, err := n.begin(ctx, deadline)
	if err != nil {
		return getReply{}, dst, err
	}
	c.wbuf = tcproto.AppendGet(c.wbuf[:0], req)
	var rep getReply
	if err = c.flush(); err == nil {
		rep, dst, err = c.readGet(dst)
	}
	return rep, dst, n.end(c, probe, err)
}

// getMany pipelines one TC.GET per request in a single write and reads
// the replies in order; values are appended to buf, value i at
// buf[ends[i-1]:ends[i]].
func (n *nodeClient) getMany(ctx context.Context, deadline time.Time, reqs []tcproto.GetRequest, buf []byte) ([]getReply, []byte, []int, error) {
	c, probe, err := n.begin(ctx, deadline)
	if err != nil {
		return nil, buf, nil, err
	}
	c.wbuf = c.wbuf[:0]
	for _, r := range reqs {
		c.wbuf = tcproto.AppendGet(c.wbuf, r)
	}
	reps := make([]getReply, len(reqs))
	ends := make([]int, len(reqs))
	if err = c.flush(); err == nil {
		for i := range reqs {
			if reps[i], buf, err = c.readGet(buf); err != nil {
				break
			}
			ends[i] = len(buf)
		}
	}
	return reps, buf, ends, n.end(c, probe, err)
}

func (c *nodeConn) readGet(dst []byte) (getReply, []byte, error) {
	var rep getReply
	size, err := c.r.ReadArrayHeader()
	if err != nil {
		return rep, dst, err
	}
	if size != tcproto.GetReplyLen {
		return rep, dst, fmt.Errorf("%w: TC.GET reply of %d elements", ErrProtocol, size)
	}
	st, _, err := c.r.ReadBytes(c.scratch[:0])
	if err != nil {
		return rep, dst, err
	}
	rep.status = tcproto.ParseStatus(st)
	start := len(dst)
	if dst, _, err = c.r.ReadBytes(dst); err != nil {
		return rep, dst[:start], err
	}
	var ints [6]int64
	for i := range ints {
		if ints[i], err = c.r.ReadInt(); err != nil {
			return rep, dst[:start], err
		}
	}
	rep.version, rep.softMs, rep.hardMs = uint64(ints[0]), ints[1], ints[2]
	rep.flags, rep.token, rep.waitMs = tcproto.Flags(ints[3]), uint64(ints[4]), ints[5]
	if rep.status == tcproto.StatusNone {
		return rep, dst[:start], fmt.Errorf("%w: TC.GET status %q", ErrProtocol, st)
	}
	return rep, dst, nil
}

// set sends one TC.SET and returns its status and version.
func (n *nodeClient) set(ctx context.Context, deadline time.Time, req tcproto.SetRequest) (tcproto.Status, uint64, error) {
	c, probe, err := n.begin(ctx, deadline)
	if err != nil {
		return tcproto.StatusNone, 0, err
	}
	c.wbuf = tcproto.AppendSet(c.wbuf[:0], req)
	st, v := tcproto.StatusNone, uint64(0)
	if err = c.flush(); err == nil {
		st, v, err = c.readSetReply()
	}
	return st, v, n.end(c, probe, err)
}

// del sends TC.DEL and returns the tombstone's version.
func (n *nodeClient) del(ctx context.Context, deadline time.Time, key []byte, epoch uint64) (uint64, error) {
	return n.delAfter(ctx, deadline, key, epoch, 0)
}

// delAfter sends TC.DEL ... MINVER minVer (a plain TC.DEL for 0): the
// tombstone's version is above minVer (Session.Invalidate).
func (n *nodeClient) delAfter(ctx context.Context, deadline time.Time, key []byte, epoch, minVer uint64) (uint64, error) {
	c, probe, err := n.begin(ctx, deadline)
	if err != nil {
		return 0, err
	}
	c.wbuf = tcproto.AppendDelAfter(c.wbuf[:0], key, epoch, minVer)
	var v uint64
	if err = c.flush(); err == nil {
		var st tcproto.Status
		if st, v, err = c.readSetReply(); err == nil && st != tcproto.StatusOK {
			err = fmt.Errorf("%w: TC.DEL status %v", ErrProtocol, st)
		}
	}
	return v, n.end(c, probe, err)
}

// unlease gives a lease back so the next misser can load at once.
func (n *nodeClient) unlease(ctx context.Context, deadline time.Time, key []byte, epoch, token uint64) error {
	c, probe, err := n.begin(ctx, deadline)
	if err != nil {
		return err
	}
	c.wbuf = tcproto.AppendUnlease(c.wbuf[:0], key, epoch, token)
	if err = c.flush(); err == nil {
		_, err = c.r.ReadInt()
	}
	return n.end(c, probe, err)
}

func (c *nodeConn) readSetReply() (tcproto.Status, uint64, error) {
	size, err := c.r.ReadArrayHeader()
	if err != nil {
		return tcproto.StatusNone, 0, err
	}
	if size != tcproto.SetReplyLen {
		return tcproto.StatusNone, 0, fmt.Errorf("%w: reply of %d elements", ErrProtocol, size)
	}
	st, _, err := c.r.ReadBytes(c.scratch[:0])
	if err != nil {
		return tcproto.StatusNone, 0, err
	}
	status := tcproto.ParseStatus(st)
	v, err := c.r.ReadInt()
	return status, uint64(v), err
}

// busyBackoff sleeps before retry attempt (0-based) of a call the node
// shed: 1, 2, 4... ms with ±50% jitter, so shed clients do not return in
// step. It reports false if the sleep would pass deadline or ctx ends.
func busyBackoff(ctx context.Context, attempt int, deadline time.Time) bool {
	d := time.Duration(float64(time.Millisecond<<min(attempt, 6)) * (0.5 + rand.Float64()))
	if time.Now().Add(d).After(deadline) {
		return false
	}
	return sleepCtx(ctx, d)
}

// sleepCtx sleeps d or until ctx ends, reporting whether it slept fully.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// trackingUp reports whether the subscription has been up, without a
// break, since epoch was read.
func (n *nodeClient) trackingUp(epoch uint64) bool {
	return epoch%2 == 1 && n.trackEpoch.Load() == epoch
}
