// Package federationtest helps test code built on package federation: an
// in-memory last-writer-wins store that is a federation.Replica and
// federation.Source, and a Cluster that starts one endpoint per region of a
// regions profile over the simulated WAN, all linked, with a throwaway CA.
package federationtest

import (
	"bytes"
	"sync"

	"github.com/tiercache/tiercache/federation"
)

// MemStore is a map of key to its newest change, kept last-writer-wins by
// version, with bucket digests maintained incrementally. It records every
// version it accepted per key, so tests can check the order in which a key
// changed. Safe for concurrent use.
type MemStore struct {
	mu      sync.RWMutex // protects everything below
	entries map[string]federation.Change
	digests *federation.DigestTable
	history map[string][]uint64
	applied int
	stale   int
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{
		entries: map[string]federation.Change{},
		digests: federation.NewDigestTable(1 << 16),
		history: map[string][]uint64{},
	}
}

// Put stores c if it is newer than what the store holds, as a local write
// or a replicated one would, and reports whether it was kept.
func (s *MemStore) Put(c federation.Change) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putLocked(c)
}

func (s *MemStore) putLocked(c federation.Change) bool {
	k := string(c.Key)
	old, ok := s.entries[k]
	if ok && old.Version >= c.Version {
		s.stale++
		return false
	}
	if ok {
		s.digests.Toggle(old.Key, old.Version)
	}
	c.Key = []byte(k)
	s.entries[k] = c
	s.digests.Toggle(c.Key, c.Version)
	s.history[k] = append(s.history[k], c.Version)
	s.applied++
	return true
}

// Apply implements federation.Replica.
func (s *MemStore) Apply(_ string, changes []federation.Change) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range changes {
		s.putLocked(c)
	}
	return nil
}

// Digests implements federation.Replica and federation.Source.
func (s *MemStore) Digests(d []uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.digests.Fill(d)
}

// Range implements federation.Source.
func (s *MemStore) Range(lo, hi uint64, fn func(federation.Change) bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, c := range s.entries {
		if h := federation.KeyHash(c.Key); h >= lo && h <= hi {
			if !fn(c) {
				return
			}
		}
	}
}

// Get returns the change held for key.
func (s *MemStore) Get(key string) (federation.Change, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.entries[key]
	return c, ok
}

// Len returns the number of keys held.
func (s *MemStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.entries)
}

// History returns the versions accepted for key, in the order accepted.
func (s *MemStore) History(key string) []uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]uint64(nil), s.history[key]...)
}

// Counts returns how many changes were accepted and how many were ignored
// as not newer than the stored version.
func (s *MemStore) Counts() (applied, stale int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.applied, s.stale
}

// Diff returns the keys on which s and other disagree (missing on one side,
// or different version, value or tombstone), up to limit keys.
func (s *MemStore) Diff(other *MemStore, limit int) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	other.mu.RLock()
	defer other.mu.RUnlock()
	var out []string
	add := func(k string) bool {
		out = append(out, k)
		return len(out) < limit
	}
	for k, a := range s.entries {
		b, ok := other.entries[k]
		if !ok || a.Version != b.Version || a.Delete != b.Delete || !bytes.Equal(a.Value, b.Value) {
			if !add(k) {
				return out
			}
		}
	}
	for k := range other.entries {
		if _, ok := s.entries[k]; !ok {
			if !add(k) {
				return out
			}
		}
	}
	return out
}
