// Package sticky gives a session read-your-writes across regions: after a
// session writes a key, its reads of that key within the keyspace's sticky
// window (keyspace.Settings.StickyWindow) must see that version or a newer
// one, even where replication has not caught up.
//
// It generalises the remote markers of Meta's memcache (NSDI 2013,
// section 5): a Session keeps a small, bounded set of write markers (key,
// or keyspace, → version, region written, time); Requirement turns a
// marker into what a read needs, and Route decides where the read goes:
//
//   - served locally when the local copy is already at or past the written
//     version (once replication has caught up there is no WAN trip);
//   - otherwise sent to the writer's region over the federation link, where
//     the version is known to exist;
//   - otherwise, and as the fallback when that region cannot be reached,
//     read through to the origin with a LoaderHint (the minimum version,
//     and a request to prefer the primary database over a lagging replica).
//
// A session travels with its user as a compact signed token (Token,
// Sessions.Restore): HMAC-SHA256 under a deployment key with rotation,
// varints, base64url, an expiry, and only the markers still inside their
// window. A token that is forged, truncated, expired or too large restores
// as an empty session with a reason error for the log: the read is then
// merely not sticky, never failed.
//
// Sessions (the per-process factory) is immutable and safe for concurrent
// use; so is a Session, whose methods take its own short lock.
package sticky
