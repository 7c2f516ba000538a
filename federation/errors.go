package federation

import "errors"

// Errors returned by the package. Callers check them with errors.Is; the
// message around them says which peer, kind or limit was involved.
var (
	// ErrBadConfig is a Config that fails Validate.
	ErrBadConfig = errors.New("federation: bad config")
	// ErrClosed is returned by an Endpoint or Link after Close.
	ErrClosed = errors.New("federation: endpoint closed")
	// ErrLinkDown means no usable connection to the peer region was
	// available before the call's deadline.
	ErrLinkDown = errors.New("federation: link down")
	// ErrPeerRefused means the peer's identity did not check out: the TLS
	// handshake failed (no certificate, another CA, expired, wrong name or
	// role) or the peer's hello named another region than its certificate.
	ErrPeerRefused = errors.New("federation: peer refused")
	// ErrFrameTooLarge is a frame, request, reply or change over the size
	// limit; it is refused before any memory is allocated for it.
	ErrFrameTooLarge = errors.New("federation: frame too large")
	// ErrMalformed is a frame whose contents do not decode.
	ErrMalformed = errors.New("federation: malformed frame")
	// ErrProtocol is a well-formed frame that arrives where it must not
	// (a sequence going backwards, an unexpected frame type).
	ErrProtocol = errors.New("federation: protocol violation")
	// ErrUnknownKind means the peer has no handler for the request kind.
	ErrUnknownKind = errors.New("federation: no handler for request kind")
	// ErrRemote wraps the message of an error a remote handler returned.
	ErrRemote = errors.New("federation: remote handler error")
	// ErrNoReplica means the peer was configured without a Replica and
	// accepts no change stream.
	ErrNoReplica = errors.New("federation: peer accepts no changes")
	// ErrDuplicateLink means Connect was called twice for one region.
	ErrDuplicateLink = errors.New("federation: link already exists")
)
