package tiercache

import "github.com/tiercache/tiercache/internal/keyspace"

// The keyspace settings live in an internal package so the client, the
// nodes and raftmeta share one definition; these aliases let applications
// name and build them.
type (
	// KeyspaceSettings are one keyspace's rules (TTL, jitter, soft/hard
	// TTL, early refresh, L1 policy, sticky window, replicas, value limit).
	KeyspaceSettings = keyspace.Settings
	// KeyspaceTable maps keyspace names to settings with a default.
	KeyspaceTable = keyspace.Table
	// L1Policy says which keys a client keeps in its L1.
	L1Policy = keyspace.L1Policy
	// StampedeScope says where the one-load-per-expiry lease is held.
	StampedeScope = keyspace.Scope
)

// The L1 policies and stampede scopes.
const (
	L1Off       = keyspace.L1Off
	L1Hot       = keyspace.L1Hot
	L1All       = keyspace.L1All
	ScopeRegion = keyspace.ScopeRegion
	ScopeGlobal = keyspace.ScopeGlobal
)

// KeyspaceOf returns the keyspace of key: the part before its first ':'.
func KeyspaceOf(key string) string { return string(keyspace.Of([]byte(key))) }
