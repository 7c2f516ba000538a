// Package federation links the regions of a tiercache deployment over QUIC:
// requests from one region's tier to another's (an L2 miss asking the key's
// L3 owner, a sticky read sent to the writer's region) and the stream of
// changes that carries every write to every other region.
//
// # Endpoints and links
//
// Each region runs one Endpoint. It listens on one UDP socket, serves the
// Handlers registered per request kind, and applies the changes peers send
// to its Replica. Connect makes a Link to a peer region: one QUIC
// connection, dialled from the same socket, redialled with exponential
// backoff and jitter when it drops, kept alive by QUIC keep-alives, and
// declared dead after Config.IdleTimeout without a packet (how a partition
// is noticed). Two regions that both Connect have two connections, one for
// each direction's requests and changes; that keeps each side's outbox and
// reconnection logic its own.
//
// Both ends authenticate with certificates of the deployment CA
// (internal/pki, server role): TLS 1.3, a client certificate required, the
// dialled region's name checked against the server's certificate, and the
// caller's region taken from its certificate. A peer with no certificate,
// another CA's, an expired one or one for another name is refused.
//
// # Requests
//
// Link.Call opens a stream per request on the existing connection, so a
// call costs one round trip and a slow handler never holds up other calls
// (no head-of-line blocking: QUIC streams are independent). Calls carry
// their deadline. Reads marked idempotent may go out as 0-RTT data right
// after a reconnect; everything else waits for the handshake, and the
// server holds any non-idempotent request until its handshake completes,
// so a replayed 0-RTT packet can never execute a write.
//
// # Framing
//
// Streams carry frames of a type byte, a 32-bit length and a payload. The
// length is checked against Config.MaxFrameBytes before anything is
// allocated, on both ends; a call over the limit is refused locally, and a
// peer announcing one gets ErrFrameTooLarge back without its payload being
// read. The codec is fuzzed (go test -fuzz=FuzzDecode ./federation).
//
// # The change stream
//
// Endpoint.Publish (or Link.Enqueue) puts a change in each link's outbox
// with a per-link sequence number. The link streams the outbox in order;
// the peer applies each batch through Replica.Apply and acknowledges the
// highest sequence it applied; acknowledged changes leave the outbox. After
// a reconnect the stream restarts after the last acknowledgement, so
// nothing is lost and some changes may arrive twice: receivers apply last
// writer wins by version, which makes duplicates and reordering harmless.
// Link.Delivered and WaitDelivered tell a writer (read-your-writes routing)
// when a region has its change. Replication lag (enqueue to remote apply,
// from the peer's apply timestamp in the ack) is kept per link in Stats.
//
// Durability, honestly: a change is acknowledged to the writer when it is
// in the outbox, and the outbox is memory. It survives partitions, peer
// restarts and reconnects; it does not survive this process dying. After a
// restart, the peer catches up only by anti-entropy (RequestAntiEntropy) or
// by entries expiring.
//
// The outbox is bounded (Config.OutboxMaxChanges, OutboxMaxBytes). A
// region cut off long enough to overflow it does not block writers: the
// outbox is emptied, the link is marked as owing an anti-entropy pass, and
// when the link is back the pass compares per-bucket digests of the key
// hash space with the peer and resends the differing buckets from the
// Source (see antientropy.go for the protocol and its time bound).
//
// # Testing
//
// Package federationtest starts one endpoint per region of a regions
// profile over the simulated WAN (regions.WAN), with a throwaway CA and an
// in-memory last-writer-wins store, for tests of the layers above.
//
// # Goroutines
//
// An Endpoint owns an accept loop, one goroutine per inbound connection
// and one per inbound stream. A Link owns a dial loop and, per connection,
// a change-stream writer with its ack reader, an anti-entropy runner and a
// throughput sampler. Close stops and waits for all of them.
package federation
