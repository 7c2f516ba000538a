package raftmeta

import "errors"

// Errors. API failures come back from Client as *APIError, which unwraps to
// one of these, so callers test them with errors.Is.
var (
	// ErrConfig is wrapped by every configuration validation error.
	ErrConfig = errors.New("raftmeta: invalid config")
	// ErrInvalid is a request with a bad or unknown field; nothing changed.
	ErrInvalid = errors.New("raftmeta: invalid request")
	// ErrEpochConflict is a topology compare-and-set whose expected epoch
	// was not the current one; nothing changed.
	ErrEpochConflict = errors.New("raftmeta: epoch conflict")
	// ErrKeyspaceConflict is a keyspace compare-and-set whose expected
	// keyspace version was not the current one; nothing changed.
	ErrKeyspaceConflict = errors.New("raftmeta: keyspace version conflict")
	// ErrUnknownNode names a node the topology does not hold.
	ErrUnknownNode = errors.New("raftmeta: unknown node")
	// ErrUnknownKeyspace names a keyspace with no settings of its own.
	ErrUnknownKeyspace = errors.New("raftmeta: unknown keyspace")
	// ErrUnknownMember names a Raft member that is not in the group.
	ErrUnknownMember = errors.New("raftmeta: unknown member")
	// ErrRegionConflict is a region name or id already taken by another.
	ErrRegionConflict = errors.New("raftmeta: region conflict")
	// ErrRegionsFull means every region id a version can carry is taken.
	ErrRegionsFull = errors.New("raftmeta: no free region id")
	// ErrNoLeader means the group has no ready leader right now; retry.
	ErrNoLeader = errors.New("raftmeta: no leader")
	// ErrForbidden is a caller whose certificate role may not do this.
	ErrForbidden = errors.New("raftmeta: forbidden for this certificate role")
	// ErrUnavailable means no member could be reached before the deadline.
	ErrUnavailable = errors.New("raftmeta: no member reachable")
	// ErrClosed is returned by a closed Member, Client, Watcher or Agent.
	ErrClosed = errors.New("raftmeta: closed")
	// ErrNotLoopback is an insecure (plain TCP) address off loopback.
	ErrNotLoopback = errors.New("raftmeta: insecure mode is for loopback addresses only")
	// ErrRefused is a Raft connection refused by a partitioned transport.
	ErrRefused = errors.New("raftmeta: transport refusing connections")
)
