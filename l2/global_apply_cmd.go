package l2

import (
	"strconv"

	"github.com/tiercache/tiercache/l2/store"
)

// The region gateway's commands (l3/gateway). A gateway runs in its own
// process, so what the in-process assembly does with method calls it does
// over RESP, authenticated like any client (AUTH with the cluster
// password):
//
//	tc.gapply key version expire_at soft_expire_at [value]
//	    a write another region made, applied as (*Node).ApplyGlobal does;
//	    the argument layout is tc.repl's (times absolute unix ms); without a
//	    value it is an invalidation, leaving a tombstone at version.
//	tc.gread key min_version
//	    another region's sticky read (Node.ReadSticky): an array of result
//	    (0 nothing, 1 value, 2 tombstone), version, expire_at,
//	    soft_expire_at and value.
//
// Both route to the key's owner, so a gateway whose ring is a step behind
// is forwarded rather than refused.

const (
	globalApplyCommand = "tc.gapply"
	globalReadCommand  = "tc.gread"
)

// The results of tc.gread.
const (
	GlobalReadNothing = 0
	GlobalReadValue   = 1
	GlobalReadTomb    = 2
)

func init() {
	registerCommand(command{name: globalApplyCommand, arity: -5, flags: flagWrite | flagInternal,
		firstKey: 1, lastKey: 1, route: routeKey, handler: cmdGlobalApply})
	registerCommand(command{name: globalReadCommand, arity: 3, flags: flagReadOnly | flagInternal,
		firstKey: 1, lastKey: 1, route: routeKey, handler: cmdGlobalRead})
}

// cmdGlobalApply applies one change from another region.
func cmdGlobalApply(c *conn, args [][]byte) {
	if len(args) > 6 {
		c.writeError("ERR tc.gapply takes key version expire_at soft_expire_at [value]")
		return
	}
	var nums [3]int64
	for i := range nums {
		v, ok := parseInt64(args[2+i])
		if !ok || v < 0 {
			c.writeError("ERR tc.gapply: " + [...]string{"version", "expire_at", "soft_expire_at"}[i] + " is not a non-negative integer")
			return
		}
		nums[i] = v
	}
	if nums[0] == 0 {
		c.writeError("ERR tc.gapply: version 0 (a change from another region always has one)")
		return
	}
	ch := GlobalChange{Key: args[1], Version: uint64(nums[0]), ExpireAt: nums[1], Delete: len(args) == 5}
	if !ch.Delete {
		ch.Value = args[5] // bounded by Limits.MaxValueBytes when read
	}
	c.node.ApplyGlobal([]GlobalChange{ch})
	c.writeOK()
}

// cmdGlobalRead answers another region's sticky read from this node.
func cmdGlobalRead(c *conn, args [][]byte) {
	v, ok := parseInt64(args[2])
	if !ok || v <= 0 {
		c.writeError("ERR tc.gread: min_version is not a positive integer")
		return
	}
	rd := c.node.ReadSticky(args[1], uint64(v))
	result, it := GlobalReadNothing, rd.Item
	switch {
	case rd.Found:
		result = GlobalReadValue
	case rd.Tombstone != 0:
		result, it = GlobalReadTomb, store.Item{Version: rd.Tombstone}
	}
	c.writeArray(5)
	c.writeInt(int64(result))
	c.writeBulk(strconv.AppendUint(nil, it.Version, 10))
	c.writeInt(it.ExpireAt)
	c.writeInt(it.SoftExpireAt)
	c.writeBulk(it.Value)
}
