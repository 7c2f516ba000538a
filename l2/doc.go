// Package l2 is the regional cache node: a Redis-compatible (RESP2 and
// RESP3) server in front of a bounded store, so any Redis client, redis-cli
// or redis-benchmark can use it.
//
// Several nodes form a region from a list of peers and a consistent-hash
// ring (l2/ring). A node that receives a key it does not own forwards the
// command to the owner over a few pooled, pipelined links per peer and
// splices the reply into the client's reply stream, so a pipeline of
// forwarded commands costs one round trip. Multi-key commands (MGET, MSET,
// DEL, UNLINK, EXISTS) are split per owner and their replies merged in key
// order; DBSIZE and FLUSHALL act on the whole region. A forwarded command
// carries a marker (tc.fwd) and always runs where it lands, so it is never
// forwarded twice even while two rings disagree. SetPeers swaps the ring
// for the control plane.
//
// Every write is stamped with a hybrid-logical-clock version (internal/hlc)
// for the tier client. Every length a client sends is checked before memory
// is spent on it (reader.go explains why the node parses RESP itself rather
// than with redcon's reader), clients must AUTH when a password is set, and
// an in-flight limit sheds load with BUSY.
//
// Commands live in a table (commands.go) filled by the cmd_*.go files in
// init: a lower-case name, arity, flags and key positions for routing.
// Per-connection state (auth, protocol version, name, extension state) is
// in conn; replies are appended to the connection's buffer and flushed once
// per batch of pipelined commands.
package l2
