// Package tiercache is the tier client an application links: reads go
// through its in-process L1, then the key's L2 node in the region, then the
// application's Loader (its database) under a lease, so that one origin
// load serves a whole region when a hot key expires.
//
//	c, err := tiercache.New(tiercache.Config{Nodes: nodes})
//	v, err := c.Get(ctx, "user:42", tiercache.LoaderFunc(loadUser))
//	// after the database commit of a change to user 42:
//	ver, err := c.Invalidate(ctx, "user:42")
//
// # Stampedes
//
// Five defences compose, each switchable per keyspace: TTL jitter
// (keyspace.Settings.TTLJitter); per-process singleflight; node-side
// leases (Meta's memcache design: one lease per key per lease period, the
// other missers wait for the fill or take a stale value); soft and hard
// TTLs with one background refresh while the stale value is served
// (keyspace SoftTTL, HardTTL); probabilistic early refresh (XFetch,
// keyspace EarlyRefresh); and pre-warming of hot keys before they expire.
// Defences says how to switch off those the keyspace settings do not carry.
//
// # Invalidation races
//
// Write to the database first, then call Set or Invalidate: the node drops
// the key's lease and leaves a versioned tombstone, so a Loader that read
// the database before the commit cannot fill the cache after it.
//
// # Hot keys
//
// The node flags heavy hitters in its replies; the client keeps them in L1
// for the keyspace's HotL1TTL, and the node pushes their invalidations on a
// TC.TRACK connection, so L1 serves them without serving stale data for the
// whole TTL. The TTL is the backstop for a lost push.
//
// # Failures
//
// Every call runs under a deadline. Each node has a circuit breaker; keys of
// a node whose breaker is open are served stale from L1 when possible, or
// loaded from the origin under a per-client concurrency cap without being
// cached, and never moved to another node. A node that sheds load with BUSY
// is retried after a jittered backoff.
package tiercache
