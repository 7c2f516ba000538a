package l2

import (
	"strconv"

	"github.com/tiercache/tiercache/l2/ring"
	"github.com/tiercache/tiercache/l2/store"
)

// The migration's peer commands. Migrators send them over peer links, so
// they arrive as "tc.fwd" and run on the receiving node whatever its ring
// says; COMMAND does not list them.
//
//	tc.mget key                          → *5 value|null version expire_at soft_expire_at tombstone
//	tc.mput from epoch [key value version expire_at soft_expire_at]...  → :stored
//	tc.mbegin from addr epoch [lo hi]... → +OK  (pull these ranges from from)
//	tc.mdone from epoch                  → +OK  (from's push is complete)
const (
	cmdMigrateGet   = "tc.mget"
	cmdMigratePut   = "tc.mput"
	cmdMigrateBegin = "tc.mbegin"
	cmdMigrateDone  = "tc.mdone"
)

func init() {
	internal := flagInternal | flagWrite
	registerCommand(command{name: cmdMigrateGet, arity: 2, flags: flagInternal | flagReadOnly,
		firstKey: 1, lastKey: 1, route: routeKey, handler: cmdMigrateGetH})
	registerCommand(command{name: cmdMigratePut, arity: -3, flags: internal,
		firstKey: 1, lastKey: 1, route: routeKey, handler: cmdMigratePutH})
	registerCommand(command{name: cmdMigrateBegin, arity: -4, flags: internal,
		firstKey: 1, lastKey: 1, route: routeKey, handler: cmdMigrateBeginH})
	registerCommand(command{name: cmdMigrateDone, arity: 3, flags: internal,
		firstKey: 1, lastKey: 1, route: routeKey, handler: cmdMigrateDoneH})
}

func cmdMigrateGetH(c *conn, args [][]byte) {
	st := c.node.store
	it, ok := st.Peek(args[1])
	tomb, _ := st.Tombstone(args[1])
	c.writeArray(5)
	if ok {
		c.writeBulk(it.Value)
	} else {
		c.writeNull()
		it = store.Item{}
	}
	c.writeInt(int64(it.Version))
	c.writeInt(it.ExpireAt)
	c.writeInt(it.SoftExpireAt)
	c.writeInt(int64(tomb))
}

func cmdMigratePutH(c *conn, args [][]byte) {
	if (len(args)-3)%5 != 0 {
		c.writeError(errSyntax)
		return
	}
	n := c.node
	stored := 0
	for i := 3; i < len(args); i += 5 {
		ver, ok1 := parseUint(args[i+2])
		exp, ok2 := parseInt64(args[i+3])
		soft, ok3 := parseInt64(args[i+4])
		if !ok1 || !ok2 || !ok3 {
			c.writeError(errSyntax)
			return
		}
		n.versions.Observe(ver)
		// SetIfNewer: a pushed item never overwrites a newer write or
		// tombstone made here since the ring changed.
		if ok, _ := n.store.SetIfNewer(args[i], store.Item{Value: args[i+1], Version: ver, ExpireAt: exp, SoftExpireAt: soft}); ok {
			stored++
		}
	}
	c.writeInt(int64(stored))
}

func cmdMigrateBeginH(c *conn, args [][]byte) {
	epoch, ok := parseUint(args[3])
	if !ok || (len(args)-4)%2 != 0 {
		c.writeError(errSyntax)
		return
	}
	rgs := make([]ring.Range, 0, (len(args)-4)/2)
	for i := 4; i < len(args); i += 2 {
		lo, ok1 := parseUint(args[i])
		hi, ok2 := parseUint(args[i+1])
		if !ok1 || !ok2 {
			c.writeError(errSyntax)
			return
		}
		rgs = append(rgs, ring.Range{Start: lo, End: hi})
	}
	if v, ok := migrators.Load(c.node); ok {
		v.(*Migrator).addPullRanges(string(args[1]), string(args[2]), epoch, rgs)
	}
	c.writeOK()
}

func cmdMigrateDoneH(c *conn, args [][]byte) {
	epoch, ok := parseUint(args[2])
	if !ok {
		c.writeError(errSyntax)
		return
	}
	if v, ok := migrators.Load(c.node); ok {
		v.(*Migrator).endPulls(string(args[1]), epoch)
	}
	c.writeOK()
}

func parseUint(b []byte) (uint64, bool) {
	v, err := strconv.ParseUint(string(b), 10, 64)
	return v, err == nil
}
