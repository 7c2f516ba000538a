package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/tidwall/redcon"

	"github.com/tiercache/tiercache/internal/resp"
	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l2/store"
)

// regionNodes talks RESP to the region's L2 nodes, authenticated with the
// cluster password: tc.gapply to deliver other regions' writes and
// tc.gread to answer their sticky reads. It keeps a few idle connections
// per node address; a connection that saw any error is dropped.
type regionNodes struct {
	password string
	timeout  time.Duration
	maxBulk  int

	mu     sync.Mutex // protects idle and closed
	idle   map[string][]*nodeConn
	closed bool
}

// maxIdlePerNode bounds the connections kept per node: deliveries are
// serialised per sending region, so a few cover every concurrent caller.
const maxIdlePerNode = 4

type nodeConn struct {
	nc net.Conn
	bw *bufio.Writer
	rd *resp.Reader
}

func newRegionNodes(password string, timeout time.Duration, maxBulk int) *regionNodes {
	return &regionNodes{password: password, timeout: timeout, maxBulk: maxBulk, idle: map[string][]*nodeConn{}}
}

func (r *regionNodes) get(ctx context.Context, addr string) (*nodeConn, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errClosed
	}
	if l := r.idle[addr]; len(l) > 0 {
		c := l[len(l)-1]
		r.idle[addr] = l[:len(l)-1]
		r.mu.Unlock()
		return c, nil
	}
	r.mu.Unlock()
	d := net.Dialer{Timeout: r.timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &nodeConn{nc: nc, bw: bufio.NewWriter(nc), rd: resp.NewReader(nc, 16<<10)}
	c.rd.MaxBulk = r.maxBulk
	if r.password != "" {
		if err := c.exchange(ctx, r.timeout, func() error { return c.rd.ReadOK() }, []byte("AUTH"), []byte(r.password)); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("AUTH: %w", err)
		}
	}
	return c, nil
}

func (r *regionNodes) put(addr string, c *nodeConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || len(r.idle[addr]) >= maxIdlePerNode {
		_ = c.nc.Close()
		return
	}
	r.idle[addr] = append(r.idle[addr], c)
}

// close drops every idle connection; connections in use are closed when
// returned.
func (r *regionNodes) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for _, l := range r.idle {
		for _, c := range l {
			_ = c.nc.Close()
		}
	}
	clear(r.idle)
}

// with runs fn on a connection to addr; what names the command in its
// error. A server error keeps the connection (the stream is in step);
// anything else drops it.
func (r *regionNodes) with(ctx context.Context, addr, what string, fn func(*nodeConn) error) error {
	c, err := r.get(ctx, addr)
	if err != nil {
		return fmt.Errorf("gateway: node %s: %w", addr, err)
	}
	err = fn(c)
	var se *resp.ServerError
	if err == nil || errors.As(err, &se) {
		r.put(addr, c)
	} else {
		_ = c.nc.Close()
	}
	if err != nil {
		return fmt.Errorf("gateway: %s at node %s: %w", what, addr, err)
	}
	return nil
}

// do sends one command to addr and reads its reply with read.
func (r *regionNodes) do(ctx context.Context, addr string, read func(*resp.Reader) error, args ...[]byte) error {
	return r.with(ctx, addr, string(args[0]), func(c *nodeConn) error {
		return c.exchange(ctx, r.timeout, func() error { return read(c.rd) }, args...)
	})
}

// setDeadline bounds the connection's next exchange by timeout or ctx's
// deadline, whichever comes first.
func (c *nodeConn) setDeadline(ctx context.Context, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.nc.SetDeadline(deadline)
}

func (c *nodeConn) exchange(ctx context.Context, timeout time.Duration, read func() error, args ...[]byte) error {
	c.setDeadline(ctx, timeout)
	buf := redcon.AppendArray(nil, len(args))
	for _, a := range args {
		buf = redcon.AppendBulk(buf, a)
	}
	if _, err := c.bw.Write(buf); err != nil {
		return err
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	return read()
}

// apply delivers changes to the L2 node at addr, pipelined, and returns
// the first failure.
func (r *regionNodes) apply(ctx context.Context, addr string, changes []l2.GlobalChange) error {
	return r.with(ctx, addr, "tc.gapply", func(c *nodeConn) error {
		c.setDeadline(ctx, r.timeout)
		return c.pipelineApply(changes)
	})
}

func (c *nodeConn) pipelineApply(changes []l2.GlobalChange) error {
	var buf []byte
	num := func(v uint64) []byte { return strconv.AppendUint(nil, v, 10) }
	for _, ch := range changes {
		n := 5
		if !ch.Delete {
			n = 6
		}
		buf = redcon.AppendArray(buf[:0], n)
		buf = redcon.AppendBulkString(buf, "tc.gapply")
		buf = redcon.AppendBulk(buf, ch.Key)
		buf = redcon.AppendBulk(buf, num(ch.Version))
		buf = redcon.AppendBulk(buf, num(uint64(max(ch.ExpireAt, 0))))
		buf = redcon.AppendBulk(buf, []byte{'0'})
		if !ch.Delete {
			buf = redcon.AppendBulk(buf, ch.Value)
		}
		if _, err := c.bw.Write(buf); err != nil {
			return err
		}
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	var first error
	for range changes {
		if err := c.rd.ReadOK(); err != nil {
			var se *resp.ServerError
			if !errors.As(err, &se) {
				return err
			}
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// read answers a sticky read from the L2 node at addr (tc.gread).
func (r *regionNodes) read(ctx context.Context, addr string, key []byte, minVersion uint64) (l2.StickyRead, error) {
	var rd l2.StickyRead
	err := r.do(ctx, addr, func(rr *resp.Reader) error {
		n, err := rr.ReadArrayHeader()
		if err != nil {
			return err
		}
		if n != 5 {
			return fmt.Errorf("%w: tc.gread reply of %d elements", resp.ErrUnexpected, n)
		}
		result, err := rr.ReadInt()
		if err != nil {
			return err
		}
		vb, _, err := rr.ReadBytes(nil)
		if err != nil {
			return err
		}
		version, err := strconv.ParseUint(string(vb), 10, 64)
		if err != nil {
			return fmt.Errorf("%w: tc.gread version %q", resp.ErrUnexpected, vb)
		}
		var exp [2]int64
		for i := range exp {
			if exp[i], err = rr.ReadInt(); err != nil {
				return err
			}
		}
		value, _, err := rr.ReadBytes(nil)
		if err != nil {
			return err
		}
		switch result {
		case l2.GlobalReadValue:
			rd = l2.StickyRead{Found: true, Item: store.Item{Version: version, ExpireAt: exp[0], SoftExpireAt: exp[1], Value: value}}
		case l2.GlobalReadTomb:
			rd = l2.StickyRead{Tombstone: version}
		}
		return nil
	}, []byte("tc.gread"), key, strconv.AppendUint(nil, minVersion, 10))
	return rd, err
}
