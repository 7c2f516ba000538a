// Package l3 is the global tier: cache nodes in every region that together
// form one global consistent-hash ring, so that an L2 miss in any region
// asks the key's one L3 owner, local or remote, before the origin.
//
// # Pieces
//
// A Node holds a bounded versioned store (l2/store) and a lease table. It
// answers Get (a value with its version and expiries, or a miss with a lease
// or a wait), Fill (a store guarded by a lease token and by version) and
// Invalidate (a versioned tombstone), and it is a federation.Replica and
// federation.Source, so the change stream keeps it up to date with every
// write made in any region, last writer by version winning.
//
// A Ring is the global membership (from raftmeta's topology: the nodes of
// tier "l3" that are up) with its epoch. Every process that builds a Ring
// from the same members gets the same owner for every key.
//
// A Client is what an L2 node uses to reach the key's owner: a direct call
// when the owner is a Node of this process, Link.Call over federation when
// it lives in another region. Serve registers the handlers that answer
// those calls on a region's federation endpoint.
//
// # Leases and stampede scope
//
// GetRequest.Mode says what a miss may grant, from the key's keyspace
// setting (ModeFor):
//
//   - ScopeGlobal (ModeLease): one lease per key per lease period across
//     all regions (Meta's memcache leases, NSDI 2013, 3.2.1, applied at the
//     global tier). The holder loads from the origin and fills with the
//     token; missers from every region are told to wait. One origin load
//     per expiry, worldwide.
//   - ScopeRegion (ModeTicket): the region's L2 already holds the lease,
//     so nobody waits here; the miss carries a fill ticket shared by every
//     misser of the lease period. It lets the region's lease holder fill
//     the global tier too, and is refused once an invalidation lands.
//
// Either token is dropped by every write or invalidation of the key, local
// or arriving on the change stream, so a load that read the origin before
// a commit cannot fill over it. Versions then order what is left: a fill
// with a version not newer than the held value or tombstone is refused, so
// a lagging region cannot put back data older than what another region
// wrote.
//
// # Wiring
//
// In the process that holds a region's federation endpoint: NewNode for
// each L3 node the region runs; Serve(endpoint, nodes...); the nodes as the
// endpoint's Replica and Source (through a fan-out when the region's L2
// also takes changes: each node keeps only the keys it owns); and on every
// topology change RingFromTopology, then SetRing on every Node and Client.
// An L2 owner asks Client.Get on a miss, Client.Fill after a leased load,
// and hands its writes to Client.Publish instead of Endpoint.Publish, so
// an owner in its own region gets them too.
//
// # Threading
//
// Node, Ring and Client are safe for concurrent use. Node.Close and the
// Client's calls may race; calls after Close fail with ErrClosed.
package l3
