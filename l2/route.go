package l2

// Routing inside a region. A single-key command whose key another node owns
// is queued on a link to the owner and its reply spliced into this
// connection's reply stream at flush time, so a pipeline of forwarded
// commands costs one round trip, not one per command. A multi-key command
// whose keys have several owners is split into one command per owner; the
// parts run concurrently and their replies are merged in key order. A
// region-wide command (DBSIZE, FLUSHALL) runs on every node.

func init() {
	registerCommand(command{name: fwdCommand, arity: -3, flags: flagInternal, handler: cmdForwarded})
}

// route sends cmd where it belongs and reports true, or reports false when
// this node should run it.
func (c *conn) route(rt *routing, cmd *command, args [][]byte) bool {
	switch cmd.route {
	case routeKey:
		owner := rt.ring.Owner(args[cmd.firstKey])
		if owner == rt.self {
			return false
		}
		if cmd.flags&flagEpoch != 0 && c.redirect(rt, owner, args) {
			return true
		}
		c.forward(rt, owner, args)
		return true
	case routeSplit:
		first, last, step := cmd.keyRange(len(args))
		owner := rt.ring.Owner(args[first])
		for i := first + step; i <= last; i += step {
			if rt.ring.Owner(args[i]) != owner {
				c.split(rt, cmd, args)
				return true
			}
		}
		if owner == rt.self {
			return false
		}
		c.forward(rt, owner, args)
		return true
	case routeAll:
		if len(rt.peers) == 0 {
			return false
		}
		c.fanOut(rt, cmd, args)
		return true
	}
	return false
}

// link picks this connection's link to a peer: always the same one, so
// its commands to one owner keep their order.
func (c *conn) link(p *peer) *peerLink { return p.links[c.id%uint64(len(p.links))] }

// forward queues args on the owner's link; the reply is spliced in at flush.
func (c *conn) forward(rt *routing, owner string, args [][]byte) {
	p := rt.peers[owner]
	if p == nil {
		c.writeError("ERR " + ErrUnknownPeer.Error() + " " + owner)
		return
	}
	if len(args)+fwdArgs > c.node.cfg.Limits.MaxArgs {
		c.writeError(errForwardTooBig)
		return
	}
	cl := c.getCall()
	if err := c.link(p).send(c.proto, args, cl); err != nil {
		c.putCall(cl)
		c.node.stats.forwardErrors.Add(1)
		c.writeError(callError(err))
		return
	}
	c.act.forwarded.Add(1)
	c.slots = append(c.slots, slot{pos: len(c.out), call: cl})
}

// errForwardTooBig refuses a command at the argument limit that the
// forwarding marker would push over it.
const errForwardTooBig = "ERR command has too many arguments to forward to the key's owner"

// part is the share of a split command that one node runs.
type part struct {
	owner string
	keys  []int    // argument indexes of the part's keys, in order
	args  [][]byte // the part's command
	call  *call    // nil for the local part
	reply []byte
}

// split runs a multi-key command as one command per owner and merges.
func (c *conn) split(rt *routing, cmd *command, args [][]byte) {
	first, last, step := cmd.keyRange(len(args))
	var parts []part
	for i := first; i <= last; i += step {
		owner := rt.ring.Owner(args[i])
		j := 0
		for j < len(parts) && parts[j].owner != owner {
			j++
		}
		if j == len(parts) {
			parts = append(parts, part{owner: owner})
		}
		parts[j].keys = append(parts[j].keys, i)
	}
	var tail [][]byte // arguments after the key range, repeated in every part
	if after := first + (last-first)/step*step + step; after < len(args) {
		tail = args[after:]
	}
	for j := range parts {
		p := &parts[j]
		p.args = append(p.args, args[:first]...)
		for _, i := range p.keys {
			p.args = append(p.args, args[i:i+step]...)
		}
		p.args = append(p.args, tail...)
	}
	c.scatter(rt, cmd, parts, (last-first)/step+1)
}

// fanOut runs a region-wide command on every node and merges.
func (c *conn) fanOut(rt *routing, cmd *command, args [][]byte) {
	parts := make([]part, 0, len(rt.peers)+1)
	parts = append(parts, part{owner: rt.self, args: args})
	for id := range rt.peers {
		parts = append(parts, part{owner: id, args: args})
	}
	c.scatter(rt, cmd, parts, 0)
}

// scatter sends every remote part, runs the local one into a scratch
// buffer, waits for the rest and writes the merged reply. nkeys is the
// element count of a mergeArray reply.
func (c *conn) scatter(rt *routing, cmd *command, parts []part, nkeys int) {
	for _, p := range parts {
		if p.owner != rt.self && len(p.args)+fwdArgs > c.node.cfg.Limits.MaxArgs {
			c.writeError(errForwardTooBig)
			return
		}
	}
	var failed error
	for j := range parts {
		p := &parts[j]
		if p.owner == rt.self {
			continue
		}
		peer := rt.peers[p.owner]
		if peer == nil {
			failed = ErrUnknownPeer
			continue
		}
		p.call = c.getCall()
		if err := c.link(peer).send(c.proto, p.args, p.call); err != nil {
			c.putCall(p.call)
			p.call = nil
			failed = err
			continue
		}
		c.act.forwarded.Add(1)
	}
	for j := range parts {
		// The local part runs only if every remote part was sent, to
		// keep a failed write from half applying where it can be helped.
		if p := &parts[j]; p.owner == rt.self && failed == nil {
			p.reply = c.capture(cmd, p.args)
		}
	}
	for j := range parts {
		p := &parts[j]
		if p.call == nil {
			continue
		}
		<-p.call.done
		if p.call.err != nil {
			failed = p.call.err
		} else {
			p.reply = append([]byte(nil), p.call.reply...)
		}
		c.putCall(p.call)
		p.call = nil
	}
	if failed != nil {
		c.node.stats.forwardErrors.Add(1)
		c.writeError(callError(failed))
		return
	}
	c.merge(cmd, parts, nkeys)
}

// capture runs cmd locally and returns its reply instead of writing it.
func (c *conn) capture(cmd *command, args [][]byte) []byte {
	saved, savedCapturing := c.out, c.capturing
	c.out, c.capturing = nil, true
	cmd.handler(c, args)
	reply := c.out
	c.out, c.capturing = saved, savedCapturing
	return reply
}

// merge combines the parts' replies; the first error reply wins.
func (c *conn) merge(cmd *command, parts []part, nkeys int) {
	lim := c.node.cfg.Limits
	for _, p := range parts {
		if len(p.reply) > 0 && p.reply[0] == '-' {
			c.writeRaw(p.reply)
			return
		}
	}
	switch cmd.merge {
	case mergeSum:
		var sum int64
		for _, p := range parts {
			v, ok := intReply(p.reply)
			if !ok {
				c.writeError("ERR unexpected reply from peer " + p.owner)
				return
			}
			sum += v
		}
		c.writeInt(sum)
	case mergeOK:
		c.writeOK()
	case mergeArray:
		elems := make([][]byte, nkeys)
		for _, p := range parts {
			n, pos := arrayHeader(p.reply)
			if n != len(p.keys) {
				c.writeError("ERR unexpected reply from peer " + p.owner)
				return
			}
			for _, argIdx := range p.keys {
				end, _, err := replyAt(p.reply, pos, lim.MaxValueBytes, lim.MaxArgs, 1)
				if err != nil || end == 0 {
					c.writeError("ERR unexpected reply from peer " + p.owner)
					return
				}
				elems[(argIdx-cmd.firstKey)/cmd.keyStep] = p.reply[pos:end]
				pos = end
			}
		}
		c.writeArray(nkeys)
		for _, e := range elems {
			c.writeRaw(e)
		}
	default:
		c.writeError("ERR command cannot be split across nodes")
	}
}

// intReply parses ":<n>\r\n".
func intReply(b []byte) (int64, bool) {
	if len(b) < 4 || b[0] != ':' || b[len(b)-2] != '\r' {
		return 0, false
	}
	return parseInt64(b[1 : len(b)-2])
}

// arrayHeader parses "*<n>\r\n" and returns n and where the elements
// start, or -1.
func arrayHeader(b []byte) (n, pos int) {
	if len(b) == 0 || b[0] != '*' {
		return -1, 0
	}
	n, next, found := headerLine(b, 0)
	if !found || n < 0 {
		return -1, 0
	}
	return n, next
}

// cmdForwarded runs a command a peer forwarded: "tc.fwd <proto> cmd ...".
// The command runs here whatever the ring says (no second forward) and
// replies in the protocol of the client that sent it to the peer.
func cmdForwarded(c *conn, args [][]byte) {
	proto, ok := protoDigit(args[1])
	if !ok {
		c.writeError(errSyntax)
		return
	}
	if c.forwarded {
		c.writeError(errNestedForward)
		return
	}
	inner := lookupCommand(args[2])
	if inner != nil && inner.route == routeLocal {
		c.writeError("ERR command '" + inner.name + "' cannot be forwarded")
		return
	}
	c.act.forwardedIn.Add(1)
	saved := c.proto
	c.proto, c.forwarded = proto, true
	c.exec(args[2:])
	c.proto, c.forwarded = saved, false
}
