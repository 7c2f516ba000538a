package tiercache

import (
	"sync/atomic"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/telemetry/kscount"
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
// by slot. spaces joins each named keyspace's settings and slot, so a read
// finds both with the one map lookup it needed for the settings anyway.
type keyspaceCounters struct {
	index                                           kscount.Index
	spaces                                          atomic.Pointer[map[string]spaceEntry]
	l1Hits, l1Stale, l1Misses, loads, leases, waits kscount.Row
}

type spaceEntry struct {
	settings keyspace.Settings
	slot     int
}

// keyspaceOf returns the settings of key's keyspace and its counter slot,
// without allocating. Config.Keyspaces never changes, so the joined table
// is built once, on first use.
func (c *Client) keyspaceOf(key []byte) (keyspace.Settings, int) {
	m := c.stats.ks.spaces.Load()
	if m == nil {
		m = c.joinSpaces()
	}
	if e, ok := (*m)[string(keyspace.Of(key))]; ok {
		return e.settings, e.slot
	}
	return c.cfg.Keyspaces.Default, 0
}

func (c *Client) joinSpaces() *map[string]spaceEntry {
	t := c.cfg.Keyspaces
	k := &c.stats.ks
	k.index.Learn(t)
	m := make(map[string]spaceEntry, len(t.Spaces))
	for name, s := range t.Spaces {
		m[name] = spaceEntry{settings: s, slot: k.index.Slot(t, []byte(name))}
	}
	k.spaces.Store(&m)
	return &m
}

// ksSlot returns the counter slot of key's keyspace.
func (c *Client) ksSlot(key []byte) int {
	_, slot := c.keyspaceOf(key)
	return slot
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
