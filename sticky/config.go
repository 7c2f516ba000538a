package sticky

import (
	"fmt"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/keyspace"
)

// Scope says what a write marker covers.
type Scope uint8

// The scopes.
const (
	// ScopeKey (the default): a write makes reads of that key sticky.
	ScopeKey Scope = iota
	// ScopeKeyspace: a write makes reads of every key of its keyspace
	// sticky, for data read back through other keys (lists, counts).
	// Those reads need a local copy at least as new as the write, so they
	// go to the writer's region more often.
	ScopeKeyspace
)

// Defaults and limits of Config.
const (
	DefaultMaxMarkers    = 32
	MaxMarkersLimit      = 1024
	DefaultMaxTokenBytes = 2048
	MaxTokenBytesLimit   = 64 << 10
	// MinKeyBytes is the shortest signing key accepted (128 bits; 32
	// random bytes are recommended).
	MinKeyBytes = 16
	// MaxKeys bounds the rotation list, which every token is checked
	// against.
	MaxKeys = 8
)

// Config configures Sessions. The zero value of every field but Region
// means the documented default.
type Config struct {
	// Region is the region this process serves, so a Requirement can say
	// whether the write was made here.
	Region string
	// Keyspaces returns the current keyspace settings (from raftmeta),
	// whose StickyWindow is read on every write and read. It must be safe
	// for concurrent use and quick. Nil means the defaults everywhere,
	// whose window is 0: nothing is sticky.
	Keyspaces func() *keyspace.Table
	// Scope is what a marker covers (default ScopeKey).
	Scope Scope
	// MaxMarkers bounds a session; the oldest marker goes first (default
	// 32, at most 1024).
	MaxMarkers int
	// Keys sign and verify session tokens: the first signs, every one
	// verifies, so a new key is rolled in by putting it first and the old
	// one retired by removing it once tokens signed with it have expired.
	// Each is at least MinKeyBytes long; at most MaxKeys. None means
	// tokens are not issued (Token returns "") nor accepted.
	Keys [][]byte
	// MaxTokenBytes bounds an issued token (oldest markers are left out to
	// fit) and a token accepted by Restore (default 2048, at most 64 KiB).
	MaxTokenBytes int
	// Clock is where windows and expiries read the time (default the wall
	// clock).
	Clock clock.Clock
}

// Validate reports the first bad field, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case c.Region == "":
		return bad("Region is empty")
	case c.Scope > ScopeKeyspace:
		return bad("unknown Scope %d", c.Scope)
	case c.MaxMarkers < 0 || c.MaxMarkers > MaxMarkersLimit:
		return bad("MaxMarkers %d (want 0..%d)", c.MaxMarkers, MaxMarkersLimit)
	case c.MaxTokenBytes < 0 || c.MaxTokenBytes > MaxTokenBytesLimit:
		return bad("MaxTokenBytes %d (want 0..%d)", c.MaxTokenBytes, MaxTokenBytesLimit)
	case c.MaxTokenBytes > 0 && c.MaxTokenBytes < minTokenBytes:
		return bad("MaxTokenBytes %d below %d", c.MaxTokenBytes, minTokenBytes)
	case len(c.Keys) > MaxKeys:
		return bad("%d keys (at most %d)", len(c.Keys), MaxKeys)
	}
	for i, k := range c.Keys {
		if len(k) < MinKeyBytes {
			return bad("key %d is %d bytes (at least %d)", i, len(k), MinKeyBytes)
		}
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.MaxMarkers == 0 {
		c.MaxMarkers = DefaultMaxMarkers
	}
	if c.MaxTokenBytes == 0 {
		c.MaxTokenBytes = DefaultMaxTokenBytes
	}
	c.Clock = clock.Or(c.Clock)
	return c
}
