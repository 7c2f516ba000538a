package l3

import "errors"

// Errors returned by the package. Callers check them with errors.Is; the
// message around them names the key, node or field involved.
var (
	// ErrInvalidConfig is wrapped by every Config and ClientConfig
	// Validate error.
	ErrInvalidConfig = errors.New("l3: invalid config")
	// ErrInvalidRing means NewRing was given an unusable member list.
	ErrInvalidRing = errors.New("l3: invalid ring")
	// ErrBadRequest is a request that can never succeed: an empty or
	// over-long key, a fill or invalidation without a version.
	ErrBadRequest = errors.New("l3: bad request")
	// ErrTooLarge is a fill whose value can never fit in the node's store.
	ErrTooLarge = errors.New("l3: value too large")
	// ErrClosed is returned by a Node after Close.
	ErrClosed = errors.New("l3: node closed")
	// ErrNoRing means the Client has no ring yet (SetRing was not called).
	ErrNoRing = errors.New("l3: no ring")
	// ErrNoRoute means the key's owner cannot be reached from here: it is
	// in this region but not hosted by this process, or no federation link
	// to its region exists.
	ErrNoRoute = errors.New("l3: no route to owner")
	// ErrUnknownNode is returned by a region's handlers for a request
	// addressed to a node it does not host (the sender's ring is out of
	// date, or the node has moved).
	ErrUnknownNode = errors.New("l3: unknown node")
	// ErrMalformed is a request or reply that does not decode.
	ErrMalformed = errors.New("l3: malformed message")
)
