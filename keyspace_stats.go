package tiercache

import (
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/telemetry/kscount"
	"github.com/tiercache/tiercache/internal/xfetch"
)

// KeyspaceStats are a client's read counters for one keyspace. Keyspaces
// of Config.Keyspaces are counted on their own (up to kscount.MaxNamed of
// them); every other key counts under "other", so the set stays small
// whatever keys the application reads.
type KeyspaceStats struct {
	Keyspace string
	L1Hits   uint64 // reads answered fresh from L1
	L1Stale  uint64 // reads answered from L1 past its soft expiry
	L1Misses uint64 // reads of an L1-enabled keyspace that L1 could not answer
	Loads    uint64 // Loader calls
	Leases   uint64 // leases this client was granted
	Waits    uint64 // WAIT replies (another client held the lease)
}

// keyspaceCounters count per keyspace; the rows are fixed arrays indexed
// by slot.
type keyspaceCounters struct {
	index                                           kscount.Index
	l1Hits, l1Stale, l1Misses, loads, leases, waits kscount.Row
}

// space is what a read needs of its key's keyspace: the settings, the
// counter slot and the origin's load-time estimate, joined so that a read
// finds all three with one map lookup.
type space struct {
	settings keyspace.Settings
	slot     int
	delta    *xfetch.Delta
}

// keyspaceOf returns key's keyspace, without allocating.
func (c *Client) keyspaceOf(key []byte) *space {
	if sp, ok := c.spaces[string(keyspace.Of(key))]; ok {
		return sp
	}
	return &c.otherSpace
}

// joinSpaces builds c.spaces; Config.Keyspaces never changes, so New does
// it once.
func (c *Client) joinSpaces() {
	t := c.cfg.Keyspaces
	k := &c.stats.ks
	k.index.Learn(t)
	c.spaces = make(map[string]*space, len(t.Spaces))
	for name, s := range t.Spaces {
		c.spaces[name] = &space{settings: s, slot: k.index.Slot(t, []byte(name)), delta: new(xfetch.Delta)}
	}
	c.otherSpace = space{settings: t.Default, slot: 0, delta: new(xfetch.Delta)}
}

// KeyspaceStats returns the per-keyspace counters, "other" first, then by
// the order keyspaces were first seen in Config.Keyspaces (name order).
func (c *Client) KeyspaceStats() []KeyspaceStats {
	k := &c.stats.ks
	k.index.Sync(c.cfg.Keyspaces)
	names := k.index.Names()
	out := make([]KeyspaceStats, len(names))
	for slot, name := range names {
		out[slot] = KeyspaceStats{
			Keyspace: name, L1Hits: k.l1Hits.Load(slot), L1Stale: k.l1Stale.Load(slot),
			L1Misses: k.l1Misses.Load(slot), Loads: k.loads.Load(slot),
			Leases: k.leases.Load(slot), Waits: k.waits.Load(slot),
		}
	}
	return out
}
