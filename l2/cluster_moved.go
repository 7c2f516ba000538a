package l2

import "strconv"

// redirect answers a routed TC.* command with "-TCMOVED <epoch> <owner-id>
// <owner-addr>" when its sender's epoch (args[2]) is older than the node's:
// the sender's ring is out of date, so it is told to catch up rather than
// have every later request forwarded. Epoch 0 (a sender that knows no
// topology) and an epoch at or past the node's are forwarded as usual, as
// are commands whose epoch does not parse (the owner reports the syntax
// error).
func (c *conn) redirect(rt *routing, owner string, args [][]byte) bool {
	if len(args) < 3 {
		return false
	}
	sent, err := strconv.ParseUint(string(args[2]), 10, 64)
	cur := c.node.Epoch()
	if err != nil || sent == 0 || sent >= cur {
		return false
	}
	p := rt.peers[owner]
	if p == nil {
		return false
	}
	c.node.cluster().moved.Add(1)
	c.writeError("TCMOVED " + strconv.FormatUint(cur, 10) + " " + owner + " " + p.addr)
	return true
}
