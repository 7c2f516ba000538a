package l2

// Refreshes are published (issue 5). A value the region holds past its
// soft expiry, or one a reader refreshes early (TC.GET ... REFRESH), is
// reloaded by the one reader given the refresh lease, and its fill
// (TC.SET ... LEASE) replaces the value at a new version. Every other
// region holds the same aging value and the global tier its own copy, so
// the refreshed value is published like a write: other regions and the
// key's global owner take it instead of each reloading it from the origin.
//
// Its version is taken when the refresh lease is granted, as a global
// fill's is (fillVersion): the load reads the origin after the grant, so
// a write committed in another region during the load carries a newer
// version and wins wherever the two meet, even when it arrives after the
// refresh. A version taken at the fill would let the refreshed, older row
// overwrite that write in every region.

// rememberRefresh records the refresh lease token just granted for key, so
// that its fill is versioned at the grant and published. Without a global
// tier it does nothing: the fill is an ordinary regional fill.
func (n *Node) rememberRefresh(key []byte, token uint64, now, period int64) {
	g := n.tier.global.Load()
	if g == nil || token == 0 {
		return
	}
	g.remember(key, token, 0, n.versions.Now(), now+period, now)
	// Marked in a second step: no fill can present token in between, as
	// the reader has not been told it yet.
	g.mu.Lock()
	if p, ok := g.pending[string(key)]; ok && p.l2 == token {
		p.refresh = true
		g.pending[string(key)] = p
	}
	g.mu.Unlock()
}

// takePending returns and forgets what was remembered of key's L2 lease
// l2.
func (g *globalState) takePending(key []byte, l2 uint64) (pendingToken, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p, ok := g.pending[string(key)]
	if !ok || p.l2 != l2 {
		return pendingToken{}, false
	}
	delete(g.pending, string(key))
	return p, true
}

// publishRefresh publishes the refresh of key filled at version, unless a
// write has overtaken it (that write is published itself; publishing the
// refresh then would send a tombstone in its place).
func (n *Node) publishRefresh(key []byte, version uint64) {
	if it, ok := n.store.Peek(key); ok && it.Version == version {
		n.publishGlobal(key, version)
	}
}
