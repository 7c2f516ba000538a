package sticky

import "errors"

// Errors of the package. Restore's reasons are for logs and metrics; a
// caller never fails a read because of them. Check with errors.Is.
var (
	// ErrInvalidConfig is wrapped by every Config.Validate error.
	ErrInvalidConfig = errors.New("sticky: invalid config")
	// ErrNoKeys means no signing keys are configured: tokens are neither
	// issued nor accepted.
	ErrNoKeys = errors.New("sticky: no token keys configured")
	// ErrTokenTooLarge is a token over Config.MaxTokenBytes, or with more
	// markers or regions than a session may hold; it is refused before it
	// is decoded.
	ErrTokenTooLarge = errors.New("sticky: token too large")
	// ErrTokenMalformed is a token that is not base64url, is too short to
	// hold a signature, or whose signed contents do not decode.
	ErrTokenMalformed = errors.New("sticky: token malformed")
	// ErrTokenForged is a token whose signature matches none of the keys:
	// forged, altered, truncated, or signed with a retired key.
	ErrTokenForged = errors.New("sticky: token signature invalid")
	// ErrTokenExpired is a genuine token past its expiry.
	ErrTokenExpired = errors.New("sticky: token expired")
)
