package l2

import "errors"

// Errors returned by the node's Go API. Callers check them with errors.Is;
// the RESP replies clients see are Redis-compatible texts, not these.
var (
	// ErrInvalidConfig is wrapped by every Config.Validate error.
	ErrInvalidConfig = errors.New("l2: invalid config")
	// ErrPublicWithoutPassword means Listen is not a loopback address, no
	// password is set and AllowPublic is false.
	ErrPublicWithoutPassword = errors.New("l2: refusing to listen on a non-loopback address without a password")
	// ErrClosed means the node (or a peer link) has been closed.
	ErrClosed = errors.New("l2: closed")
	// ErrStarted means Start was called twice.
	ErrStarted = errors.New("l2: already started")
	// ErrPeerUnavailable means a forward could not reach the key's owner
	// (dial failure, broken connection or timeout).
	ErrPeerUnavailable = errors.New("l2: peer unavailable")
	// ErrUnknownPeer means the ring named an owner that has no address.
	ErrUnknownPeer = errors.New("l2: unknown peer")
	// ErrStaleEpoch means ApplyTopology was given an epoch older than the
	// one the node already applied; the call changes nothing.
	ErrStaleEpoch = errors.New("l2: topology epoch is older than the applied one")
	// ErrNotMember means a topology left this node out of its region's
	// up nodes, so it cannot be applied as a ring this node is part of.
	ErrNotMember = errors.New("l2: node is not an up member of the topology")
)
