package l2

import (
	"context"

	"github.com/tiercache/tiercache/internal/tcproto"
	"github.com/tiercache/tiercache/l2/store"
)

// The versioned tier protocol (docs/protocol.md): TC.GET answers a hit with
// the value's version, remaining soft and hard TTL and a hot flag; a miss
// with a lease, a wait or a plain miss; a soft-expired value as stale with,
// for one reader per lease period, a refresh lease. TC.SET fills with a
// lease token or writes after a commit; TC.DEL leaves a versioned
// tombstone. Each routed command carries the sender's topology epoch: a
// node that does not own the key and has a newer epoch answers TCMOVED
// (cluster_moved.go) rather than forward it.
//
// The commands route by key like GET, so a client with an old ring is
// forwarded to the owner.

func init() {
	registerCommand(command{name: tcproto.CmdGet, flags: flagEpoch | flagReadOnly | flagFast, arity: -3,
		firstKey: 1, lastKey: 1, route: routeKey, handler: cmdTCGet})
	registerCommand(command{name: tcproto.CmdSet, flags: flagEpoch | flagWrite, arity: -6,
		firstKey: 1, lastKey: 1, route: routeKey, handler: cmdTCSet})
	registerCommand(command{name: tcproto.CmdDel, flags: flagEpoch | flagWrite | flagFast, arity: -3,
		firstKey: 1, lastKey: 1, route: routeKey, handler: cmdTCDel})
	registerCommand(command{name: tcproto.CmdUnlease, flags: flagEpoch | flagWrite | flagFast, arity: 4,
		firstKey: 1, lastKey: 1, route: routeKey, handler: cmdTCUnlease})
}

func (c *conn) writeTierSyntax(err error) { c.writeError("ERR " + err.Error()) }

func cmdTCGet(c *conn, args [][]byte) {
	req, err := tcproto.ParseGet(args)
	if err != nil {
		c.writeTierSyntax(err)
		return
	}
	if len(req.Trace) != 0 {
		if ctx, span, ok := c.tcGetSpan(req.Trace); ok {
			c.tcGet(ctx, &req)
			span.End()
			return
		}
	}
	c.tcGet(context.Background(), &req)
}

// tcGet serves a parsed TC.GET; ctx carries its span when it is traced.
func (c *conn) tcGet(ctx context.Context, req *tcproto.GetRequest) {
	n, ts := c.node, c.tierOf().ts
	o := ts.opts.Load()
	now := n.nowMillis()

	var flags tcproto.Flags
	if ts.hot.touch(req.Key, 1+req.Hits) {
		flags |= tcproto.FlagHot
	}
	if flags&tcproto.FlagHot != 0 || req.Track {
		// Registered before the read: a write that lands after the read
		// finds the key tracked and pushes its invalidation.
		ts.tracked.add(req.Key, now, now+o.TrackWindow.Milliseconds())
		flags |= tcproto.FlagTracked
	}
	period := o.LeasePeriod.Milliseconds()

	it, ok := n.store.Get(req.Key)
	if !ok {
		// During a rebalance, a key of a range this node is gaining may
		// still be on its previous owner (migrate_pull.go).
		it, ok = n.pullThrough(req.Key)
	}
	if req.MinVer != 0 {
		// A sticky read: the session wrote req.MinVer. Observing it keeps
		// any fill this node versions from now on past that write.
		n.versions.Observe(req.MinVer)
		if !ok || it.Version < req.MinVer {
			if c.serveSticky(req, it, ok, flags, now) {
				return
			}
			ok = false
		} else {
			ts.stickyN.local.Add(1)
		}
	}
	stale := ok && it.SoftExpireAt != 0 && now >= it.SoftExpireAt
	c.countRead(ctx, req.Key, ok, stale)
	if ok {
		status := tcproto.StatusHit
		if stale {
			status = tcproto.StatusStale
		}
		var token uint64
		refresh := req.Refresh && (req.RefreshOf == 0 || req.RefreshOf == it.Version)
		if (stale || refresh) && !req.NoLease {
			// One refresh per lease period, and none once the value
			// has been replaced: the others keep serving.
			// The check runs under the key's lease lock, which a fill
			// holds while it writes: a refresh that landed since the
			// read above must not start a second load.
			seen := it.Version
			token, _ = ts.leases.grant(req.Key, now, period, func() bool {
				cur, ok := n.store.Peek(req.Key)
				return ok && cur.Version == seen
			})
			n.rememberRefresh(req.Key, token, now, period) // global_refresh.go
		}
		c.writeGetReply(status, it, now, flags, token, 0)
		return
	}
	g := ts.global.Load()
	if req.NoLease {
		if g != nil && c.readGlobal(ctx, g, req.Key, flags) {
			return
		}
		c.writeGetReply(tcproto.StatusMiss, store.Item{}, now, flags, 0, 0)
		return
	}
	token, wait := ts.leases.grant(req.Key, now, period, func() bool { return !n.store.Exists(req.Key) })
	switch {
	case token != 0 && g != nil:
		c.leaseGlobal(ctx, g, req.Key, token, flags, now)
	case token != 0:
		c.writeGetReply(tcproto.StatusLease, store.Item{}, now, flags, token, 0)
	case wait > 0:
		c.writeGetReply(tcproto.StatusWait, store.Item{}, now, flags, 0, min(wait, o.LeaseWait.Milliseconds()))
	default:
		// Filled between our read and the lease check.
		if it, ok = n.store.Get(req.Key); ok {
			c.writeGetReply(tcproto.StatusHit, it, now, flags, 0, 0)
			return
		}
		c.writeGetReply(tcproto.StatusWait, store.Item{}, now, flags, 0, 1)
	}
}

// writeGetReply writes [status, value, version, soft_ttl_ms, hard_ttl_ms,
// flags, lease_token, wait_ms].
func (c *conn) writeGetReply(st tcproto.Status, it store.Item, now int64, flags tcproto.Flags, token uint64, waitMs int64) {
	c.writeArray(tcproto.GetReplyLen)
	c.writeSimple(st.String())
	if st == tcproto.StatusHit || st == tcproto.StatusStale {
		c.writeBulk(it.Value)
	} else {
		c.writeNull()
	}
	c.writeInt(int64(it.Version))
	hard := int64(-1)
	if it.ExpireAt != 0 {
		hard = it.ExpireAt - now
	}
	soft := hard
	if it.SoftExpireAt != 0 {
		soft = it.SoftExpireAt - now
	}
	if st != tcproto.StatusHit && st != tcproto.StatusStale {
		soft, hard = 0, 0
	}
	c.writeInt(soft)
	c.writeInt(hard)
	c.writeInt(int64(flags))
	c.writeInt(int64(token))
	c.writeInt(waitMs)
}

func cmdTCSet(c *conn, args [][]byte) {
	req, err := tcproto.ParseSet(args)
	if err != nil {
		c.writeTierSyntax(err)
		return
	}
	n, ts := c.node, c.tierOf().ts
	now := n.nowMillis()
	if err := n.observeWriter(req.MinVer, now); err != nil { // tier_write.go
		c.writeError("ERR " + err.Error())
		return
	}
	it := store.Item{Value: req.Value}
	if req.HardTTLMs > 0 {
		it.ExpireAt = now + req.HardTTLMs
	}
	if req.SoftTTLMs > 0 && req.SoftTTLMs < req.HardTTLMs {
		it.SoftExpireAt = now + req.SoftTTLMs
	}
	var stored bool
	write := func() {
		it.Version = n.fillVersion(req.Key, req.Lease)
		stored, err = n.store.SetIfNewer(req.Key, it)
	}
	if req.Lease != 0 {
		if !ts.leases.fill(req.Key, req.Lease, now, write) {
			c.writeSetReply(tcproto.StatusNoLease, 0)
			return
		}
	} else {
		// A write after the app's commit: it ends any lease, so a load
		// that read the origin before the commit cannot fill over it.
		ts.leases.invalidate(req.Key, write)
		ts.pushIfTracked(req.Key, it.Version, now)
	}
	switch {
	case err != nil:
		c.writeError("ERR " + err.Error())
	case !stored:
		v, _ := n.store.Tombstone(req.Key)
		if cur, ok := n.store.Peek(req.Key); ok && cur.Version > v {
			v = cur.Version
		}
		c.writeSetReply(tcproto.StatusOlder, v)
	default:
		n.replicate(req.Key)
		if req.Lease != 0 {
			n.afterGlobalFill(req.Key, req.Lease, it.Version)
		} else {
			n.publishGlobal(req.Key, it.Version)
		}
		c.writeSetReply(tcproto.StatusOK, it.Version)
	}
}

func (c *conn) writeSetReply(st tcproto.Status, version uint64) {
	c.writeArray(tcproto.SetReplyLen)
	c.writeSimple(st.String())
	c.writeInt(int64(version))
}

func cmdTCDel(c *conn, args [][]byte) {
	key, _, minVer, err := tcproto.ParseDel(args)
	if err != nil {
		c.writeTierSyntax(err)
		return
	}
	n, ts := c.node, c.tierOf().ts
	if err := n.observeWriter(minVer, n.nowMillis()); err != nil { // tier_write.go
		c.writeError("ERR " + err.Error())
		return
	}
	var version uint64
	ts.leases.invalidate(key, func() {
		version = n.versions.Now()
		n.store.DeleteVersion(key, version)
	})
	ts.pushIfTracked(key, version, n.nowMillis())
	n.replicate(key)
	n.publishGlobal(key, version)
	c.writeSetReply(tcproto.StatusOK, version)
}

func cmdTCUnlease(c *conn, args [][]byte) {
	key, _, token, err := tcproto.ParseKeyEpoch(args, true)
	if err != nil {
		c.writeTierSyntax(err)
		return
	}
	if c.tierOf().ts.leases.release(key, token) {
		c.node.afterUnlease(key, token)
		c.writeInt(1)
		return
	}
	c.writeInt(0)
}

// TierWrite runs write, a change of key made outside the tier protocol
// (a plain SET, DEL, EXPIRE...), so that it ends the key's lease under the
// lease lock, pushes its invalidation to L1 holders and replicates the
// key's new state. version is the
// version write gave the key (0 if none). The plain Redis commands should
// call it; until they do, a plain write does not invalidate leases.
func (n *Node) TierWrite(key []byte, write func() (version uint64)) {
	ts := n.tier
	var version uint64
	ts.leases.invalidate(key, func() { version = write() })
	ts.pushIfTracked(key, version, n.nowMillis())
	n.replicate(key)
	n.publishGlobal(key, version)
}
