package l2

import (
	"github.com/tiercache/tiercache/l2/store"
)

// Key commands: deletion, existence and expiry.

func init() {
	multi := func(name string, flags cmdFlags, h func(*conn, [][]byte)) {
		registerCommand(command{name: name, arity: -2, flags: flags,
			firstKey: 1, lastKey: -1, keyStep: 1, route: routeSplit, merge: mergeSum, handler: h})
	}
	multi("del", flagWrite, cmdDel)
	multi("unlink", flagWrite|flagFast, cmdDel)
	multi("exists", flagReadOnly|flagFast, cmdExists)
	key := func(name string, arity int, flags cmdFlags, h func(*conn, [][]byte)) {
		registerCommand(command{name: name, arity: arity, flags: flags,
			firstKey: 1, lastKey: 1, keyStep: 1, route: routeKey, handler: h})
	}
	key("expire", -3, flagWrite|flagFast, func(c *conn, a [][]byte) { c.expire(a, unitSeconds, "expire") })
	key("pexpire", -3, flagWrite|flagFast, func(c *conn, a [][]byte) { c.expire(a, unitMillis, "pexpire") })
	key("expireat", -3, flagWrite|flagFast, func(c *conn, a [][]byte) { c.expire(a, unitUnixSeconds, "expireat") })
	key("pexpireat", -3, flagWrite|flagFast, func(c *conn, a [][]byte) { c.expire(a, unitUnixMillis, "pexpireat") })
	key("ttl", 2, flagReadOnly|flagFast, func(c *conn, a [][]byte) { c.ttl(a[1], false, false) })
	key("pttl", 2, flagReadOnly|flagFast, func(c *conn, a [][]byte) { c.ttl(a[1], true, false) })
	key("expiretime", 2, flagReadOnly|flagFast, func(c *conn, a [][]byte) { c.ttl(a[1], false, true) })
	key("pexpiretime", 2, flagReadOnly|flagFast, func(c *conn, a [][]byte) { c.ttl(a[1], true, true) })
	key("persist", 2, flagWrite|flagFast, cmdPersist)
	key("type", 2, flagReadOnly|flagFast, cmdType)
}

func cmdDel(c *conn, args [][]byte) {
	var n int64
	for _, key := range args[1:] {
		c.node.tierWriteIf(key, func() (uint64, bool) {
			removed := c.node.store.Delete(key)
			if removed {
				n++
			}
			return c.node.versions.Now(), removed
		})
	}
	c.writeInt(n)
}

func cmdExists(c *conn, args [][]byte) {
	var n int64
	for _, key := range args[1:] {
		if c.node.store.Exists(key) {
			n++
		}
	}
	c.writeInt(n)
}

func cmdType(c *conn, args [][]byte) {
	if c.node.store.Exists(args[1]) {
		c.writeSimple("string")
		return
	}
	c.writeSimple("none")
}

// ttl answers TTL, PTTL, EXPIRETIME and PEXPIRETIME: -2 for a missing
// key, -1 for one without expiry.
func (c *conn) ttl(key []byte, millis, absolute bool) {
	it, ok := c.node.store.Peek(key)
	switch {
	case !ok:
		c.writeInt(-2)
	case it.ExpireAt == 0:
		c.writeInt(-1)
	case absolute && millis:
		c.writeInt(it.ExpireAt)
	case absolute:
		c.writeInt(it.ExpireAt / 1000)
	default:
		left := max(it.ExpireAt-c.node.nowMillis(), 0)
		if !millis {
			left = (left + 500) / 1000 // Redis rounds to the nearest second
		}
		c.writeInt(left)
	}
}

// expireCond is EXPIRE's NX/XX/GT/LT option.
type expireCond uint8

const (
	condNone expireCond = iota
	condNX              // only when the key has no expiry
	condXX              // only when it has one
	condGT              // only when the new expiry is later (none counts as infinite)
	condLT              // only when it is sooner
)

// expire is EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT key t [NX|XX|GT|LT].
func (c *conn) expire(args [][]byte, unit expireUnit, name string) {
	now := c.node.nowMillis()
	at, ok, valid := expireAt(args[2], unit, now, false)
	if !ok {
		c.writeError(errNotInteger)
		return
	}
	var nx, xx, gt, lt bool
	for _, a := range args[3:] {
		switch {
		case eqFold(a, "nx"):
			nx = true
		case eqFold(a, "xx"):
			xx = true
		case eqFold(a, "gt"):
			gt = true
		case eqFold(a, "lt"):
			lt = true
		default:
			c.writeError("ERR Unsupported option " + truncate(a, 128))
			return
		}
	}
	if nx && (xx || gt || lt) {
		c.writeError("ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	}
	if gt && lt {
		c.writeError("ERR GT and LT options at the same time are not compatible")
		return
	}
	if !valid {
		c.writeError(invalidExpireError(name))
		return
	}
	cond := condNone
	switch {
	case nx:
		cond = condNX
	case xx:
		cond = condXX
	case gt:
		cond = condGT
	case lt:
		cond = condLT
	}
	version := c.node.versions.Now()
	changed := false
	c.update(args[1], version, func(prev store.Item, exists bool) (store.Item, store.Op) {
		if !exists || !expireAllowed(cond, prev.ExpireAt, at) {
			return prev, store.Keep
		}
		changed = true
		if at <= now {
			return prev, store.Remove
		}
		next := prev
		next.Version = version
		next.ExpireAt = at
		if next.SoftExpireAt > at {
			next.SoftExpireAt = at
		}
		return next, store.Put
	})
	if changed {
		c.writeInt(1)
		return
	}
	c.writeInt(0)
}

func expireAllowed(cond expireCond, current, next int64) bool {
	switch cond {
	case condNX:
		return current == 0
	case condXX:
		return current != 0
	case condGT:
		return current != 0 && next > current
	case condLT:
		return current == 0 || next < current
	}
	return true
}

func cmdPersist(c *conn, args [][]byte) {
	version := c.node.versions.Now()
	changed := false
	c.update(args[1], version, func(prev store.Item, exists bool) (store.Item, store.Op) {
		if !exists || prev.ExpireAt == 0 {
			return prev, store.Keep
		}
		changed = true
		next := prev
		next.Version, next.ExpireAt, next.SoftExpireAt = version, 0, 0
		return next, store.Put
	})
	if changed {
		c.writeInt(1)
		return
	}
	c.writeInt(0)
}
