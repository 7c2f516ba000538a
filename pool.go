package tiercache

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/redcon"

	"github.com/tiercache/tiercache/internal/resp"
)

// nodeConn is one connection to a node. One goroutine uses it at a time:
// the pool hands it out exclusively, and a call writes its commands and
// reads their replies before giving it back, so pipelined commands and
// their replies stay in order.
type nodeConn struct {
	nc   net.Conn
	r    *resp.Reader
	wbuf []byte
	// scratch receives reply elements that are parsed and dropped.
	scratch []byte
}

const (
	readBufSize   = 16 << 10
	idleWriteBuf  = 64 << 10
	maxReplyValue = 512 << 20
)

func dialNode(ctx context.Context, addr, password string, deadline time.Time) (*nodeConn, error) {
	d := net.Dialer{Deadline: deadline}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	c := &nodeConn{nc: nc, r: resp.NewReader(nc, readBufSize), scratch: make([]byte, 0, 64)}
	c.r.MaxBulk = maxReplyValue
	if password != "" {
		nc.SetDeadline(deadline)
		c.wbuf = redcon.AppendArray(c.wbuf[:0], 2)
		c.wbuf = redcon.AppendBulkString(c.wbuf, "AUTH")
		c.wbuf = redcon.AppendBulkString(c.wbuf, password)
		if _, err := nc.Write(c.wbuf); err != nil {
			nc.Close()
			return nil, err
		}
		if err := c.r.ReadOK(); err != nil {
			nc.Close()
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	return c, nil
}

// flush writes the buffered commands and trims an oversized buffer.
func (c *nodeConn) flush() error {
	_, err := c.nc.Write(c.wbuf)
	if cap(c.wbuf) > idleWriteBuf {
		c.wbuf = nil
	} else {
		c.wbuf = c.wbuf[:0]
	}
	return err
}

// pool holds up to size connections to one node.
type pool struct {
	addr, password string
	dialTimeout    time.Duration

	idle   chan *nodeConn
	slots  chan struct{} // one token per open connection
	closed atomic.Bool

	mu   sync.Mutex // protects live
	live map[*nodeConn]struct{}
}

func newPool(addr, password string, size int, dialTimeout time.Duration) *pool {
	return &pool{
		addr: addr, password: password, dialTimeout: dialTimeout,
		idle:  make(chan *nodeConn, size),
		slots: make(chan struct{}, size),
		live:  map[*nodeConn]struct{}{},
	}
}

// get returns an idle connection, a new one while under size, or waits for
// one until deadline.
func (p *pool) get(ctx context.Context, deadline time.Time) (*nodeConn, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	select {
	case c := <-p.idle:
		return c, nil
	default:
	}
	select {
	case c := <-p.idle:
		return c, nil
	case p.slots <- struct{}{}:
		return p.dial(ctx, deadline)
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case c := <-p.idle:
		return c, nil
	case p.slots <- struct{}{}:
		return p.dial(ctx, deadline)
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, errPoolWait
	}
}

// dial opens a connection in a slot already taken.
func (p *pool) dial(ctx context.Context, deadline time.Time) (*nodeConn, error) {
	if d := time.Now().Add(p.dialTimeout); d.Before(deadline) {
		deadline = d
	}
	c, err := dialNode(ctx, p.addr, p.password, deadline)
	if err != nil {
		<-p.slots
		return nil, err
	}
	p.mu.Lock()
	p.live[c] = struct{}{}
	p.mu.Unlock()
	if p.closed.Load() {
		p.discard(c)
		return nil, ErrClosed
	}
	return c, nil
}

// put gives c back; a connection that failed or whose stream may be out of
// step (reuse false) is closed instead.
func (p *pool) put(c *nodeConn, reuse bool) {
	if !reuse || p.closed.Load() {
		p.discard(c)
		return
	}
	select {
	case p.idle <- c:
	default:
		p.discard(c)
	}
}

func (p *pool) discard(c *nodeConn) {
	c.nc.Close()
	p.mu.Lock()
	_, ok := p.live[c]
	delete(p.live, c)
	p.mu.Unlock()
	if ok {
		<-p.slots
	}
}

// close closes every connection, idle or in use; calls in progress fail.
func (p *pool) close() {
	if p.closed.Swap(true) {
		return
	}
	p.mu.Lock()
	for c := range p.live {
		c.nc.Close()
	}
	p.mu.Unlock()
	for {
		select {
		case c := <-p.idle:
			p.discard(c)
		default:
			return
		}
	}
}
