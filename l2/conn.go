package l2

import (
	"errors"
	"net"
	"sync"
	"time"
)

const (
	// flushThreshold makes a batch write out early once this much reply
	// is buffered, so a long pipeline of big values does not pile up.
	flushThreshold = 256 << 10
	// idleOutBuf is the output capacity kept between batches.
	idleOutBuf = 1 << 20
	// maxIdleArgs is the argument capacity kept between batches.
	maxIdleArgs = 4096
)

// slot is a forwarded command's place in the reply stream: its reply goes
// at out[pos], between the replies written before and after it.
type slot struct {
	pos  int
	call *call
}

// conn is one client connection and its protocol state. Only the
// connection's own goroutine touches it, except nc writes, which wmu
// serialises so that out-of-band frames (RESP3 pushes) can interleave
// between batches.
type conn struct {
	node  *Node
	nc    net.Conn
	id    uint64
	addr  string
	laddr string
	born  time.Time

	// Protocol state, changed by AUTH, HELLO, CLIENT SETNAME, QUIT.
	proto     int  // 2 or 3
	authed    bool // true when no password is required
	name      string
	forwarded bool // running a command on behalf of a peer
	capturing bool // out is a scratch buffer (a split's local part)
	quit      bool // close once the replies are flushed

	// ext holds per-connection state of extension commands (tracking,
	// leases); they own its type. Close hooks see it.
	ext any

	rd     *reqReader
	args   [][]byte // the batch's arguments, all commands back to back
	ends   []int    // ends[i] is where command i's arguments end in args
	held   int      // commands counted in node.inflight until the flush
	out    []byte
	flat   []byte // out with forwarded replies spliced in
	slots  []slot
	calls  []*call   // free list
	failed bool      // a write failed; stop processing
	act    *activity // this connection's counts, summed by Node.Stats

	wmu sync.Mutex // serialises writes to nc
}

func newConn(n *Node, nc net.Conn, id uint64) *conn {
	return &conn{
		node:   n,
		nc:     nc,
		id:     id,
		addr:   nc.RemoteAddr().String(),
		laddr:  nc.LocalAddr().String(),
		born:   n.cfg.Clock.Now(),
		proto:  2,
		authed: n.cfg.RequirePass == "",
		rd:     newReqReader(n.rlim),
		act:    newActivity(),
	}
}

// needAuth reports whether the client still owes the password.
func (c *conn) needAuth() bool { return !c.authed }

// serve reads, runs and answers commands until the client leaves, a
// protocol error, or the node closes the connection.
func (c *conn) serve() {
	for {
		err := c.rd.fill(c.nc)
		if err != nil {
			var pe *protoError
			if errors.As(err, &pe) {
				c.protocolFailure(pe)
			}
			return
		}
		if !c.processBuffered() {
			return
		}
	}
}

// processBuffered runs every complete command in the read buffer, in
// batches, and flushes the replies. It reports whether to keep serving.
func (c *conn) processBuffered() bool {
	for {
		c.args, c.ends = c.args[:0], c.ends[:0]
		var perr error
		oneAtATime := false
		for {
			// Before AUTH each command may change the limits that apply
			// to the next, so they are parsed one per batch.
			oneAtATime = c.needAuth()
			args, ok, err := c.rd.next(c.args, oneAtATime)
			c.args = args
			if err != nil {
				perr = err
				break
			}
			if !ok {
				oneAtATime = false
				break
			}
			c.ends = append(c.ends, len(c.args))
			if oneAtATime {
				break
			}
		}
		if len(c.ends) > 0 {
			c.runBatch()
		}
		if c.failed {
			c.releaseHeld()
			return false
		}
		if perr != nil {
			var pe *protoError
			if !errors.As(perr, &pe) {
				pe = &protoError{"ERR " + perr.Error()}
			}
			c.protocolFailure(pe)
			return false
		}
		if c.quit {
			c.flush()
			return false
		}
		if !oneAtATime {
			break
		}
	}
	if cap(c.args) > maxIdleArgs { // a huge MSET or MGET does not pin its arrays
		c.args, c.ends = nil, nil
	}
	return c.flush() == nil
}

// runBatch executes the parsed commands, or refuses them all with BUSY
// when the node is over its in-flight limit.
func (c *conn) runBatch() {
	n := c.node
	cnt := len(c.ends)
	c.held += cnt
	c.act.commands.Add(uint64(cnt))
	shed := n.inflight.Add(int64(cnt)) > int64(n.cfg.MaxInFlight)
	if shed {
		n.stats.busy.Add(uint64(cnt))
	}
	start := 0
	for _, end := range c.ends {
		args := c.args[start:end]
		start = end
		if shed {
			c.writeError(errBusy)
		} else {
			c.exec(args)
		}
		if c.quit || c.failed {
			return
		}
		if len(c.out) > flushThreshold {
			c.flush()
		}
	}
}

// exec runs one command: lookup, arity, auth, key limits, then routing
// to the key's owner or the local handler.
func (c *conn) exec(args [][]byte) {
	cmd := lookupCommand(args[0])
	if cmd == nil {
		c.writeError(unknownCommandError(args))
		return
	}
	if !cmd.arityOK(len(args)) {
		c.writeError(arityError(cmd.name))
		return
	}
	if cmd.flags&flagNoAuth == 0 && c.needAuth() {
		c.writeError(errNoAuth)
		return
	}
	c.act.perCommand[cmd.id].Add(1)
	if first, last, step := cmd.keyRange(len(args)); first > 0 {
		limit := c.node.cfg.Limits.MaxKeyBytes
		for i := first; i <= last; i += step {
			if len(args[i]) > limit {
				c.writeError(keyTooLongError(len(args[i]), limit))
				return
			}
		}
	}
	if cmd.route != routeLocal && !c.forwarded {
		if rt := c.node.routing.Load(); rt.ring != nil && c.route(rt, cmd, args) {
			return
		}
	}
	cmd.handler(c, args)
}

// flush writes the batch's replies, waiting for forwarded ones in order.
func (c *conn) flush() error {
	out := c.out
	if len(c.slots) > 0 {
		flat := c.flat[:0]
		prev := 0
		for _, s := range c.slots {
			flat = append(flat, out[prev:s.pos]...)
			prev = s.pos
			<-s.call.done
			if s.call.err != nil {
				c.node.stats.forwardErrors.Add(1)
				flat = append(flat, '-')
				flat = append(flat, callError(s.call.err)...)
				flat = append(flat, '\r', '\n')
			} else {
				flat = append(flat, s.call.reply...)
			}
			c.putCall(s.call)
		}
		flat = append(flat, out[prev:]...)
		clear(c.slots)
		c.slots = c.slots[:0]
		c.flat = flat
		out = flat
	}
	var err error
	if len(out) > 0 {
		c.wmu.Lock()
		_, err = c.nc.Write(out)
		c.wmu.Unlock()
	}
	c.out, c.flat = trimBuf(c.out), trimBuf(c.flat)
	c.releaseHeld()
	if err != nil {
		c.failed = true
	}
	return err
}

func trimBuf(b []byte) []byte {
	if cap(b) > idleOutBuf {
		return nil
	}
	return b[:0]
}

// releaseHeld hands the batch's commands back to the in-flight budget.
func (c *conn) releaseHeld() {
	if c.held > 0 {
		c.node.inflight.Add(-int64(c.held))
		c.held = 0
	}
}

// protocolFailure answers a malformed or oversized request and ends the
// connection, as Redis does.
func (c *conn) protocolFailure(pe *protoError) {
	c.node.stats.protocolErrors.Add(1)
	c.writeError(pe.msg)
	c.flush()
}

// push writes an out-of-band frame (a RESP3 push) between batches. It is
// safe to call from any goroutine.
func (c *conn) push(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(frame)
	return err
}

func (c *conn) getCall() *call {
	if n := len(c.calls); n > 0 {
		cl := c.calls[n-1]
		c.calls = c.calls[:n-1]
		return cl
	}
	return newCall()
}

func (c *conn) putCall(cl *call) {
	cl.err = nil
	if cap(cl.reply) > idleReadBuf {
		cl.reply = nil
	}
	c.calls = append(c.calls, cl)
}
