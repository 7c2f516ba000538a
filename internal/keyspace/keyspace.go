// Package keyspace holds the per-keyspace settings that every tier obeys:
// lifetimes, stampede defences, L1 policy, replication and size limits. A
// key's keyspace is the part before its first ':' ("user:42" → "user").
// The settings are plain data with JSON tags so the tier client's Config,
// raftmeta's FSM and `tiercache ctl keyspace` all speak the same shape.
package keyspace

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("keyspace: invalid setting")

// L1Policy says which keys a client may keep in its in-process L1.
type L1Policy string

// The L1 policies.
const (
	L1Off L1Policy = "off" // never
	L1Hot L1Policy = "hot" // only keys the L2 node flags as hot (the default)
	L1All L1Policy = "all" // every key read
)

// Scope says how widely one origin load per expiry is coordinated.
type Scope string

// The stampede scopes.
const (
	ScopeRegion Scope = "region" // one lease per key per region (the default)
	ScopeGlobal Scope = "global" // one lease per key across all regions, held at L3
)

// Defaults used where a field is zero.
const (
	DefaultTTL           = 60 * time.Second
	DefaultHotL1TTL      = 5 * time.Second
	DefaultEarlyRefresh  = 1.0
	DefaultReplicas      = 1
	DefaultMaxValueBytes = 1 << 20
	MaxValueBytesLimit   = 512 << 20
)

// Settings are one keyspace's rules. The zero value means the documented
// default of every field.
type Settings struct {
	// TTL is the lifetime of an entry when SoftTTL and HardTTL are unset
	// (default 60s).
	TTL time.Duration `json:"ttl,omitempty"`
	// TTLJitter adds a uniform random 0..TTLJitter to every lifetime so
	// entries written together do not expire together (default 0).
	TTLJitter time.Duration `json:"ttl_jitter,omitempty"`
	// SoftTTL is how long an entry is fresh; after it the entry is served
	// stale while one background refresh runs (default: no stale phase).
	SoftTTL time.Duration `json:"soft_ttl,omitempty"`
	// HardTTL is when an entry is gone for good (default TTL). It must not
	// be below SoftTTL.
	HardTTL time.Duration `json:"hard_ttl,omitempty"`
	// EarlyRefresh is XFetch's beta: how eagerly a read refreshes an entry
	// before its soft expiry (default 1.0; a negative value turns it off).
	EarlyRefresh float64 `json:"early_refresh,omitempty"`
	// L1 is the client's in-process policy (default hot).
	L1 L1Policy `json:"l1,omitempty"`
	// HotL1TTL is how long a client keeps a hot key in L1 (default 5s).
	HotL1TTL time.Duration `json:"hot_l1_ttl,omitempty"`
	// StickyWindow is how long a session's reads of a key it wrote must
	// see that write or newer (default 0: no read-your-writes routing).
	StickyWindow time.Duration `json:"sticky_window,omitempty"`
	// Replicas is the number of copies in a region, primary included
	// (default 1).
	Replicas int `json:"replicas,omitempty"`
	// MaxValueBytes refuses larger values (default 1 MiB, at most 512 MiB).
	MaxValueBytes int `json:"max_value_bytes,omitempty"`
	// StampedeScope says where the one-load-per-expiry lease is held
	// (default region).
	StampedeScope Scope `json:"stampede_scope,omitempty"`
}

// Validate reports the first bad field, wrapping ErrInvalid.
func (s Settings) Validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"ttl", s.TTL}, {"ttl_jitter", s.TTLJitter}, {"soft_ttl", s.SoftTTL}, {"hard_ttl", s.HardTTL}, {"hot_l1_ttl", s.HotL1TTL}, {"sticky_window", s.StickyWindow}} {
		if d.v < 0 {
			return fmt.Errorf("%w: %s is negative (%v)", ErrInvalid, d.name, d.v)
		}
	}
	if s.SoftTTL > 0 && s.SoftTTL > s.Hard() {
		return fmt.Errorf("%w: soft_ttl %v is over hard_ttl %v", ErrInvalid, s.SoftTTL, s.Hard())
	}
	switch s.L1 {
	case "", L1Off, L1Hot, L1All:
	default:
		return fmt.Errorf("%w: l1 policy %q (want off, hot or all)", ErrInvalid, s.L1)
	}
	switch s.StampedeScope {
	case "", ScopeRegion, ScopeGlobal:
	default:
		return fmt.Errorf("%w: stampede_scope %q (want region or global)", ErrInvalid, s.StampedeScope)
	}
	if s.Replicas < 0 || s.Replicas > 8 {
		return fmt.Errorf("%w: replicas %d (want 1..8)", ErrInvalid, s.Replicas)
	}
	if s.MaxValueBytes < 0 || s.MaxValueBytes > MaxValueBytesLimit {
		return fmt.Errorf("%w: max_value_bytes %d (want 1..%d)", ErrInvalid, s.MaxValueBytes, MaxValueBytesLimit)
	}
	return nil
}

// Hard returns the effective hard lifetime.
func (s Settings) Hard() time.Duration {
	switch {
	case s.HardTTL > 0:
		return s.HardTTL
	case s.TTL > 0:
		return s.TTL
	default:
		return DefaultTTL
	}
}

// Soft returns the effective fresh lifetime (equal to Hard when there is no
// stale phase).
func (s Settings) Soft() time.Duration {
	if s.SoftTTL > 0 {
		return s.SoftTTL
	}
	return s.Hard()
}

// Beta returns XFetch's beta; zero means early refresh is off.
func (s Settings) Beta() float64 {
	switch {
	case s.EarlyRefresh < 0:
		return 0
	case s.EarlyRefresh == 0:
		return DefaultEarlyRefresh
	default:
		return s.EarlyRefresh
	}
}

// L1Mode returns the effective L1 policy.
func (s Settings) L1Mode() L1Policy {
	if s.L1 == "" {
		return L1Hot
	}
	return s.L1
}

// HotTTL returns how long a hot key stays in L1.
func (s Settings) HotTTL() time.Duration {
	if s.HotL1TTL > 0 {
		return s.HotL1TTL
	}
	return DefaultHotL1TTL
}

// Copies returns the effective replica count (primary included).
func (s Settings) Copies() int {
	if s.Replicas > 0 {
		return s.Replicas
	}
	return DefaultReplicas
}

// MaxValue returns the effective value size limit in bytes.
func (s Settings) MaxValue() int {
	if s.MaxValueBytes > 0 {
		return s.MaxValueBytes
	}
	return DefaultMaxValueBytes
}

// Scope returns the effective stampede scope.
func (s Settings) Scope() Scope {
	if s.StampedeScope == "" {
		return ScopeRegion
	}
	return s.StampedeScope
}

// Of returns the keyspace name of key: the part before its first ':', or
// the whole key when it has none. It does not allocate.
func Of(key []byte) []byte {
	if i := bytes.IndexByte(key, ':'); i >= 0 {
		return key[:i]
	}
	return key
}

// Table maps keyspace names to settings, with a fallback for the rest.
// A Table is immutable once built; swap a new one in to change settings.
type Table struct {
	Default Settings            `json:"default"`
	Spaces  map[string]Settings `json:"spaces,omitempty"`
}

// For returns the settings of key's keyspace. It does not allocate.
func (t *Table) For(key []byte) Settings {
	if t == nil {
		return Settings{}
	}
	if s, ok := t.Spaces[string(Of(key))]; ok {
		return s
	}
	return t.Default
}

// Validate checks every entry.
func (t *Table) Validate() error {
	if err := t.Default.Validate(); err != nil {
		return fmt.Errorf("default: %w", err)
	}
	for name, s := range t.Spaces {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("keyspace %q: %w", name, err)
		}
	}
	return nil
}
