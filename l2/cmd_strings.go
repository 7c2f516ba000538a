package l2

import (
	"errors"
	"math"
	"strconv"

	"github.com/tiercache/tiercache/l2/store"
)

// String commands. Every write stamps the item with a fresh version from the
// node's hybrid logical clock.

func init() {
	rw := flagWrite
	ro := flagReadOnly | flagFast
	key := func(name string, arity int, flags cmdFlags, h func(*conn, [][]byte)) {
		registerCommand(command{name: name, arity: arity, flags: flags,
			firstKey: 1, lastKey: 1, keyStep: 1, route: routeKey, handler: h})
	}
	key("get", 2, ro, cmdGet)
	key("set", -3, rw, cmdSet)
	key("setnx", 3, rw|flagFast, cmdSetNX)
	key("setex", 4, rw, cmdSetEX)
	key("psetex", 4, rw, cmdPSetEX)
	key("getex", -2, rw|flagFast, cmdGetEX)
	key("getdel", 2, rw|flagFast, cmdGetDel)
	key("incr", 2, rw|flagFast, cmdIncr)
	key("decr", 2, rw|flagFast, cmdDecr)
	key("incrby", 3, rw|flagFast, cmdIncrBy)
	key("decrby", 3, rw|flagFast, cmdDecrBy)
	registerCommand(command{name: "mget", arity: -2, flags: ro,
		firstKey: 1, lastKey: -1, keyStep: 1, route: routeSplit, merge: mergeArray, handler: cmdMGet})
	registerCommand(command{name: "mset", arity: -3, flags: rw,
		firstKey: 1, lastKey: -1, keyStep: 2, route: routeSplit, merge: mergeOK, handler: cmdMSet,
		arityFn: func(n int) bool { return n >= 3 && n%2 == 1 }})
}

// errOOM is the reply for an entry larger than the node can ever hold.
const errOOM = "OOM entry does not fit in this node's maxmemory"

func (c *conn) writeStoreError(err error) {
	if errors.Is(err, store.ErrTooLarge) {
		c.writeError(errOOM)
		return
	}
	c.writeError("ERR " + err.Error())
}

func (c *conn) writeItem(it store.Item, ok bool) {
	if !ok {
		c.writeNull()
		return
	}
	c.writeBulk(it.Value)
}

func cmdGet(c *conn, args [][]byte) {
	it, ok := c.node.store.Get(args[1])
	if !ok {
		// During a rebalance the key may still be on its previous owner
		// (migrate_pull.go).
		it, ok = c.node.pullThrough(args[1])
	}
	c.writeItem(it, ok)
}

// put stores value unconditionally with a new version, as a tier write
// (a failed put still removed the old value).
func (c *conn) put(key, value []byte, expireAt int64) error {
	n := c.node
	var err error
	n.tierWriteIf(key, func() (uint64, bool) {
		v := n.versions.Now()
		err = n.store.Set(key, store.Item{Value: value, Version: v, ExpireAt: expireAt})
		return v, true
	})
	return err
}

// setOptions is SET's parsed option list.
type setOptions struct {
	nx, xx, get, keepTTL bool
	expireAt             int64 // 0: none
}

// parseSetOptions applies Redis's rules: at most one of NX/XX, at most one
// expiry (EX, PX, EXAT, PXAT or KEEPTTL), every expiry positive.
func (c *conn) parseSetOptions(args [][]byte, name string) (o setOptions, errMsg string) {
	hasExpire := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		unit := expireUnit(255)
		switch {
		case eqFold(a, "nx") && !o.xx:
			o.nx = true
		case eqFold(a, "xx") && !o.nx:
			o.xx = true
		case eqFold(a, "get"):
			o.get = true
		case eqFold(a, "keepttl") && !hasExpire:
			o.keepTTL = true
		case eqFold(a, "ex"):
			unit = unitSeconds
		case eqFold(a, "px"):
			unit = unitMillis
		case eqFold(a, "exat"):
			unit = unitUnixSeconds
		case eqFold(a, "pxat"):
			unit = unitUnixMillis
		default:
			return o, errSyntax
		}
		if unit == 255 {
			continue
		}
		if hasExpire || o.keepTTL || i+1 == len(args) {
			return o, errSyntax
		}
		at, ok, valid := expireAt(args[i+1], unit, c.node.nowMillis(), true)
		switch {
		case !ok:
			return o, errNotInteger
		case !valid:
			return o, invalidExpireError(name)
		}
		o.expireAt, hasExpire = at, true
		i++
	}
	return o, ""
}

// cmdSet is SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT t|KEEPTTL].
func cmdSet(c *conn, args [][]byte) {
	key, value := args[1], args[2]
	if len(args) == 3 {
		if err := c.put(key, value, 0); err != nil {
			c.writeStoreError(err)
			return
		}
		c.writeOK()
		return
	}
	o, msg := c.parseSetOptions(args[3:], "set")
	if msg != "" {
		c.writeError(msg)
		return
	}
	if !o.nx && !o.xx && !o.get && !o.keepTTL {
		if err := c.put(key, value, o.expireAt); err != nil {
			c.writeStoreError(err)
			return
		}
		c.writeOK()
		return
	}
	version := c.node.versions.Now()
	var old store.Item
	var existed, stored bool
	_, _, err := c.update(key, version, func(prev store.Item, exists bool) (store.Item, store.Op) {
		old, existed = prev, exists
		if (o.nx && exists) || (o.xx && !exists) {
			return prev, store.Keep
		}
		it := store.Item{Value: value, Version: version, ExpireAt: o.expireAt}
		if o.keepTTL && exists {
			it.ExpireAt, it.SoftExpireAt = prev.ExpireAt, prev.SoftExpireAt
		}
		stored = true
		return it, store.Put
	})
	switch {
	case err != nil:
		c.writeStoreError(err)
	case o.get:
		c.writeItem(old, existed)
	case stored:
		c.writeOK()
	default:
		c.writeNull()
	}
}

func cmdSetNX(c *conn, args [][]byte) {
	version := c.node.versions.Now()
	value := args[2]
	stored := false
	_, _, err := c.update(args[1], version, func(prev store.Item, exists bool) (store.Item, store.Op) {
		if exists {
			return prev, store.Keep
		}
		stored = true
		return store.Item{Value: value, Version: version}, store.Put
	})
	switch {
	case err != nil:
		c.writeStoreError(err)
	case stored:
		c.writeInt(1)
	default:
		c.writeInt(0)
	}
}

func cmdSetEX(c *conn, args [][]byte)  { c.setWithExpire(args, unitSeconds, "setex") }
func cmdPSetEX(c *conn, args [][]byte) { c.setWithExpire(args, unitMillis, "psetex") }

func (c *conn) setWithExpire(args [][]byte, unit expireUnit, name string) {
	at, ok, valid := expireAt(args[2], unit, c.node.nowMillis(), true)
	switch {
	case !ok:
		c.writeError(errNotInteger)
	case !valid:
		c.writeError(invalidExpireError(name))
	default:
		if err := c.put(args[1], args[3], at); err != nil {
			c.writeStoreError(err)
			return
		}
		c.writeOK()
	}
}

// cmdGetEX is GETEX key [EX|PX|EXAT|PXAT t|PERSIST].
func cmdGetEX(c *conn, args [][]byte) {
	if len(args) == 2 {
		cmdGet(c, args)
		return
	}
	persist := false
	var at int64
	switch {
	case len(args) == 3 && eqFold(args[2], "persist"):
		persist = true
	case len(args) == 4:
		unit := expireUnit(255)
		switch {
		case eqFold(args[2], "ex"):
			unit = unitSeconds
		case eqFold(args[2], "px"):
			unit = unitMillis
		case eqFold(args[2], "exat"):
			unit = unitUnixSeconds
		case eqFold(args[2], "pxat"):
			unit = unitUnixMillis
		}
		if unit == 255 {
			c.writeError(errSyntax)
			return
		}
		var ok, valid bool
		at, ok, valid = expireAt(args[3], unit, c.node.nowMillis(), true)
		if !ok {
			c.writeError(errNotInteger)
			return
		}
		if !valid {
			c.writeError(invalidExpireError("getex"))
			return
		}
	default:
		c.writeError(errSyntax)
		return
	}
	now := c.node.nowMillis()
	version := c.node.versions.Now()
	var old store.Item
	var existed bool
	_, _, err := c.update(args[1], version, func(prev store.Item, exists bool) (store.Item, store.Op) {
		old, existed = prev, exists
		switch {
		case !exists:
			return prev, store.Keep
		case !persist && at <= now:
			return prev, store.Remove // an expiry in the past deletes, as in Redis
		}
		next := prev
		next.Version = version
		next.ExpireAt = at // 0 for PERSIST
		if persist {
			next.SoftExpireAt = 0
		}
		return next, store.Put
	})
	if err != nil {
		c.writeStoreError(err)
		return
	}
	c.writeItem(old, existed)
}

func cmdGetDel(c *conn, args [][]byte) {
	var old store.Item
	var existed bool
	c.update(args[1], c.node.versions.Now(), func(prev store.Item, exists bool) (store.Item, store.Op) {
		old, existed = prev, exists
		return prev, store.Remove
	})
	c.writeItem(old, existed)
}

func cmdMGet(c *conn, args [][]byte) {
	c.writeArray(len(args) - 1)
	for _, key := range args[1:] {
		c.writeItem(c.node.store.Get(key))
		if !c.capturing && len(c.out) > flushThreshold {
			c.flush()
		}
	}
}

func cmdMSet(c *conn, args [][]byte) {
	for i := 1; i+1 < len(args); i += 2 {
		if err := c.put(args[i], args[i+1], 0); err != nil {
			c.writeStoreError(err)
			return
		}
	}
	c.writeOK()
}

func cmdIncr(c *conn, args [][]byte) { c.incrBy(args[1], 1) }
func cmdDecr(c *conn, args [][]byte) { c.incrBy(args[1], -1) }

func cmdIncrBy(c *conn, args [][]byte) {
	d, ok := parseInt64(args[2])
	if !ok {
		c.writeError(errNotInteger)
		return
	}
	c.incrBy(args[1], d)
}

func cmdDecrBy(c *conn, args [][]byte) {
	d, ok := parseInt64(args[2])
	switch {
	case !ok:
		c.writeError(errNotInteger)
	case d == math.MinInt64:
		c.writeError("ERR decrement would overflow")
	default:
		c.incrBy(args[1], -d)
	}
}

// incrBy adds delta to the integer at key (0 when missing), keeping its
// expiry, as INCR and friends do.
func (c *conn) incrBy(key []byte, delta int64) {
	version := c.node.versions.Now()
	var result int64
	errMsg := ""
	_, _, err := c.update(key, version, func(prev store.Item, exists bool) (store.Item, store.Op) {
		var cur int64
		if exists {
			v, ok := parseInt64(prev.Value)
			if !ok {
				errMsg = errNotInteger
				return prev, store.Keep
			}
			cur = v
		}
		if (delta > 0 && cur > math.MaxInt64-delta) || (delta < 0 && cur < math.MinInt64-delta) {
			errMsg = errOverflow
			return prev, store.Keep
		}
		result = cur + delta
		next := store.Item{Value: strconv.AppendInt(nil, result, 10), Version: version}
		if exists {
			next.ExpireAt, next.SoftExpireAt = prev.ExpireAt, prev.SoftExpireAt
		}
		return next, store.Put
	})
	switch {
	case err != nil:
		c.writeStoreError(err)
	case errMsg != "":
		c.writeError(errMsg)
	default:
		c.writeInt(result)
	}
}
