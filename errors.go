package tiercache

import "errors"

// Errors returned by the client. Callers check them with errors.Is; the
// node's or Loader's own error is wrapped beside them.
var (
	// ErrClosed means the client has been closed.
	ErrClosed = errors.New("tiercache: client closed")
	// ErrInvalidConfig is wrapped by every Config.Validate error.
	ErrInvalidConfig = errors.New("tiercache: invalid config")
	// ErrUnavailable means the key's node could not be reached (dial
	// failure, broken connection, timeout, or its circuit breaker is
	// open) and no degraded answer was possible.
	ErrUnavailable = errors.New("tiercache: node unavailable")
	// ErrOverloaded means every pooled connection to the key's node
	// stayed busy until the caller's deadline: this client, not the
	// node, is saturated (raise Config.PoolSize or lower concurrency).
	ErrOverloaded = errors.New("tiercache: no connection to the node freed up in time")
	// ErrBusy means the key's node shed the request with BUSY and kept
	// doing so through the client's retries.
	ErrBusy = errors.New("tiercache: node busy")
	// ErrTooLarge means a value is over its keyspace's MaxValueBytes.
	ErrTooLarge = errors.New("tiercache: value too large")
	// ErrNoLoader means Get missed and was given no Loader.
	ErrNoLoader = errors.New("tiercache: miss and no loader")
	// ErrProtocol means a node answered something the tier protocol does
	// not allow.
	ErrProtocol = errors.New("tiercache: protocol error")
	// ErrMoved means a node redirected a call because the client's
	// topology epoch was old (see MovedError); the client resends once,
	// so callers see it only if the resend is redirected too.
	ErrMoved = errors.New("tiercache: key moved to another node")
	// ErrNoNodes means the topology names no node.
	ErrNoNodes = errors.New("tiercache: no nodes")

	// errPoolWait means no pooled connection freed up before the
	// deadline; callers see it wrapped in ErrOverloaded.
	errPoolWait = errors.New("pool exhausted")
)
