package store

// Stats are the store's counters and gauges. UpdateStats adds to them, so
// one Stats can sum several stores; use a zero Stats for one store.
type Stats struct {
	Gets               int64 // Get calls
	Hits               int64 // Gets that found a live item
	Misses             int64 // Gets that did not
	Sets               int64 // items stored by Set, SetIfNewer and Update
	Deletes            int64 // live items removed by Delete, DeleteVersion and Update
	Evictions          int64 // live items the policy evicted for room
	Expired            int64 // items removed after their hard expiry
	TombstoneEvictions int64 // tombstones dropped for room before their TTL ended
	Keys               int64 // live items (see Len)
	Tombstones         int64 // tombstones held, expired or not yet pruned
	Bytes              int64 // bytes charged to the budget
	MaxBytes           int64 // the budget
}

// UpdateStats adds the store's current figures to st.
func (s *Store) UpdateStats(st *Stats) {
	st.MaxBytes += s.maxBytes
	for i := range s.shards {
		sh := &s.shards[i]
		hits, misses := sh.hits.Load(), sh.misses.Load()
		st.Gets += hits + misses
		st.Hits += hits
		st.Misses += misses
		sh.mu.RLock()
		st.Sets += sh.sets
		st.Deletes += sh.deletes
		st.Evictions += sh.evictions
		st.Expired += sh.expired
		st.TombstoneEvictions += sh.tombEvictions
		st.Keys += int64(sh.live)
		st.Tombstones += int64(sh.queues[qTomb].len)
		st.Bytes += sh.used
		sh.mu.RUnlock()
	}
}
