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
)
