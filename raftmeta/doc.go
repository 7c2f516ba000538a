// Package raftmeta is tiercache's control plane: a Raft group
// (hashicorp/raft, log and stable store in raft-boltdb, file snapshots) that
// holds the versioned topology (regions, nodes with tier, weight and state),
// keyspace settings, the members' addresses and a rebalance progress record.
// It is never on the GET/SET path: nodes and apps watch it and swap their
// routing tables when the epoch moves.
//
// The parts:
//
//   - Member (member.go): one Raft voter plus its HTTP JSON API. Writes that
//     reach a follower are proxied to the leader; reads are served locally
//     and say which member answered and at which epoch.
//   - the FSM (fsm.go, apply.go): every topology change is a compare-and-set
//     on the epoch, so one epoch never names two different topologies;
//     commands carry an idempotency key so a retried write applies once.
//   - the cluster manager (leader.go, leases.go): runs on the leader, keeps
//     node lease renewals in memory and writes to Raft only when a node's
//     state changes (down after its lease lapses, up after it has renewed
//     steadily for a while).
//   - Client, Watcher and Agent (client.go, watcher.go, agent.go): the
//     library nodes and apps link to read topology, follow its changes and
//     keep a node's lease alive.
//
// The API (JSON; durations in nanoseconds, as keyspace.Settings encodes
// them; roles in brackets, "any" meaning any certificate of the CA):
//
//	GET    /v1/topology?after=E&keyspaces_after=V&wait=D&consistent=true  [any]
//	GET    /v1/status                                    [any]
//	POST   /v1/nodes               NodeSpec: register    [node admin server]
//	POST   /v1/nodes/{id}/renew    lease renewal         [node admin server]
//	POST   /v1/nodes/{id}/drain, /undrain                [admin server]
//	POST   /v1/nodes/{id}/weight   {"weight": N}         [admin server]
//	DELETE /v1/nodes/{id}                                [admin server]
//	POST   /v1/regions             Region: pin an id     [admin server]
//	GET    /v1/keyspaces, /v1/keyspaces/{name}           [any]
//	PUT    /v1/keyspaces/{name}    keyspace.Settings     [admin server]
//	DELETE /v1/keyspaces/{name}                          [admin server]
//	POST   /v1/members             JoinRequest           [admin server]
//	DELETE /v1/members/{id}                              [admin server]
//	GET    /v1/rebalance                                 [any]
//	PUT    /v1/rebalance, DELETE /v1/rebalance           [admin server]
//
// Topology writes take ?expect_epoch=E and keyspace writes
// ?expect_version=V to make them a caller's compare-and-set (409 on a
// mismatch); without it the leader compares against its current value.
// The Idempotency-Key header makes a retried write apply once. Every answer
// carries X-Tiercache-Member, -Leader, -Epoch, -Keyspace-Version and
// -Members headers; errors are {"error", "code", "epoch", ...} with 400,
// 403, 404, 409 or 503 (retry elsewhere).
//
// Security: the Raft transport takes only server-role certificates of the
// deployment CA (internal/pki); the API takes any role and checks it per
// endpoint. Plain TCP is allowed only when configured Insecure, on loopback.
package raftmeta
