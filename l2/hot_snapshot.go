package l2

// HotKey is a key this node's hot-key detector flags, with the rate it
// estimates for it.
type HotKey struct {
	Key string
	// Rate is the key's reads per second at this node over the detector's
	// sliding window. Reads a client served from its L1 and reported with
	// TC.GET HITS keep a key flagged but are not part of the rate: the
	// rate is the load the key puts on this node.
	Rate float64
}

// HotKeys returns up to limit of the keys the node's hot-key detector
// flags now, hottest first (none for limit <= 0). It is for dashboards,
// not the read path: it takes the detector's table lock and scans its few
// remembered keys. It also advances the detector's window when one is due,
// which otherwise happens only on reads, so a node that stopped being read
// stops reporting the keys it was read for.
func (n *Node) HotKeys(limit int) []HotKey {
	h := n.tier.hot
	if limit <= 0 || h.d == nil {
		return nil
	}
	h.tickIfDue()
	top := h.d.Top(limit)
	out := make([]HotKey, len(top))
	for i, e := range top {
		out[i] = HotKey{Key: e.Key, Rate: float64(e.Count) / h.window.Seconds()}
	}
	return out
}
