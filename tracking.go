package tiercache

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tidwall/redcon"

	"github.com/tiercache/tiercache/internal/resp"
	"github.com/tiercache/tiercache/internal/tcproto"
)

// The invalidation subscription: one dedicated connection per node, on
// which the client sends TC.TRACK and then only reads pushes
// ["invalidate", key, version] (and the PONGs of its keepalive pings). A
// push removes the key from L1, leaving a tombstone that refuses an older
// fill still in flight. When the subscription breaks, or stays silent for
// three pings, the node's keys leave L1 at once and nothing of that node is
// admitted until it is back: a client never keeps a value it could miss
// the invalidation of. A push lost without the connection breaking is
// covered by the L1 TTL.

const (
	trackMinBackoff = 50 * time.Millisecond
	trackMaxBackoff = 2 * time.Second
)

// runTracking keeps n's subscription up until ctx ends.
func (c *Client) runTracking(ctx context.Context, n *nodeClient) {
	backoff := trackMinBackoff
	for ctx.Err() == nil {
		start := time.Now()
		c.trackOnce(ctx, n)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > 10*trackMaxBackoff {
			backoff = trackMinBackoff
		}
		if !sleepCtx(ctx, jitter(backoff)) {
			return
		}
		backoff = min(2*backoff, trackMaxBackoff)
	}
}

// trackOnce runs one subscription session until it fails or ctx ends.
func (c *Client) trackOnce(ctx context.Context, n *nodeClient) error {
	ping := c.cfg.TrackPing
	conn, err := dialNode(ctx, n.addr, c.cfg.Password, time.Now().Add(c.cfg.DialTimeout))
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { conn.nc.Close() })
	defer func() {
		stop()
		conn.nc.Close()
		close(done)
		wg.Wait()
	}()

	conn.wbuf = tcproto.AppendTrack(conn.wbuf[:0])
	conn.nc.SetWriteDeadline(time.Now().Add(c.cfg.OpTimeout))
	if err := conn.flush(); err != nil {
		return err
	}
	conn.nc.SetReadDeadline(time.Now().Add(c.cfg.OpTimeout))
	// Pushes may come before the confirmation; all are applied.
	for {
		kind, err := c.readTrackMessage(conn, n)
		if err != nil {
			return err
		}
		if kind == resp.Simple {
			break
		}
	}
	n.trackEpoch.Add(1) // odd: up
	n.trackConn.Store(conn)
	defer func() {
		n.trackConn.Store(nil)
		c.trackLost(n)
	}()

	wg.Add(1)
	go func() {
		defer wg.Done()
		pingLoop(conn, ping, done)
	}()
	for {
		conn.nc.SetReadDeadline(time.Now().Add(3 * ping))
		if _, err := c.readTrackMessage(conn, n); err != nil {
			return err
		}
	}
}

// pingLoop writes a PING every interval until done is closed, so a dead
// peer shows as a silent subscription.
func pingLoop(conn *nodeConn, interval time.Duration, done <-chan struct{}) {
	cmd := redcon.AppendArray(nil, 1)
	cmd = redcon.AppendBulkString(cmd, "PING")
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		conn.nc.SetWriteDeadline(time.Now().Add(interval))
		if _, err := conn.nc.Write(cmd); err != nil {
			conn.nc.Close()
			return
		}
	}
}

// readTrackMessage reads one message of the subscription and applies it.
func (c *Client) readTrackMessage(conn *nodeConn, n *nodeClient) (resp.Kind, error) {
	kind, size, b, err := conn.r.Next(conn.scratch[:0])
	if err != nil {
		return 0, err
	}
	switch kind {
	case resp.Simple:
		return kind, nil
	case resp.Error:
		return kind, &resp.ServerError{Msg: string(b)}
	case resp.Array:
	default:
		return kind, fmt.Errorf("%w: %c on the tracking connection", ErrProtocol, kind)
	}
	if size != 3 {
		return kind, fmt.Errorf("%w: push of %d elements", ErrProtocol, size)
	}
	typ, _, err := conn.r.ReadBytes(conn.scratch[:0])
	if err != nil {
		return kind, err
	}
	if string(typ) != tcproto.PushInvalidate {
		return kind, fmt.Errorf("%w: push %q", ErrProtocol, typ)
	}
	key, _, err := conn.r.ReadBytes(conn.scratch[:0])
	if err != nil {
		return kind, err
	}
	conn.scratch = key[:0] // keep a grown buffer
	version, err := conn.r.ReadInt()
	if err != nil {
		return kind, err
	}
	if c.losePushes.Load() {
		return kind, nil
	}
	if c.l1 != nil {
		c.l1.Invalidate(key, uint64(version))
	}
	c.hot.remove(string(key))
	c.stats.pushes.Add(1) // after applying: tests wait on it
	return kind, nil
}

// trackLost marks n's subscription down and drops n's keys from L1.
func (c *Client) trackLost(n *nodeClient) {
	n.trackEpoch.Add(1) // even: down
	c.stats.trackDrops.Add(1)
	for _, k := range c.hot.dropNode(n.id) {
		c.l1.Delete(bytesOf(k))
	}
}
