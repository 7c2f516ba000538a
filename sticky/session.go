package sticky

import (
	"slices"
	"sync"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/keyspace"
)

// Sessions makes and restores the sessions of one process. It is
// immutable and safe for concurrent use.
type Sessions struct {
	cfg Config
}

// New returns the factory for sessions configured by cfg.
func New(cfg Config) (*Sessions, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cfg.Keys = slices.Clone(cfg.Keys)
	return &Sessions{cfg: cfg}, nil
}

// NewSession returns an empty session.
func (s *Sessions) NewSession() *Session { return &Session{s: s} }

func (s *Sessions) now() int64 { return clock.NowMillis(s.cfg.Clock) }

func (s *Sessions) table() *keyspace.Table {
	if s.cfg.Keyspaces == nil {
		return nil
	}
	return s.cfg.Keyspaces()
}

// window returns the sticky window, in ms, of the keyspace named ks.
func windowOf(t *keyspace.Table, ks []byte) int64 {
	return t.For(ks).StickyWindow.Milliseconds()
}

// Marker is one remembered write.
type Marker struct {
	// Name is the key written or, when Keyspace is set, its keyspace.
	Name     string
	Keyspace bool
	// Version is the newest version the session wrote under Name.
	Version uint64
	// Region is where that version was written.
	Region string
	// At is when it was written.
	At time.Time
}

type marker struct {
	name     string
	keyspace bool
	version  uint64
	region   string
	at       int64 // unix ms
}

// Session is one user's write markers. The zero value is not usable; get
// sessions from Sessions. A nil *Session is an empty session: it records
// nothing and requires nothing, so callers without a session need no
// special case. A Session is safe for concurrent use.
type Session struct {
	s *Sessions

	mu      sync.Mutex // protects markers
	markers []marker   // oldest write first
}

// Requirement is what a sticky read needs: a version at least MinVersion,
// known to exist in Region.
type Requirement struct {
	MinVersion uint64
	// Region is where the session wrote MinVersion.
	Region string
	// Local is set when Region is this process's region.
	Local bool
}

// RecordWrite remembers that the session wrote key at version in region
// (the version the writer's L2 owner returned). Nothing is recorded when
// the key's keyspace has no sticky window. A session over its bound drops
// its oldest marker.
func (s *Session) RecordWrite(key []byte, version uint64, region string) {
	if s == nil || version == 0 {
		return
	}
	t := s.s.table()
	ks := keyspace.Of(key)
	if windowOf(t, ks) <= 0 {
		return
	}
	name, isKS := key, false
	if s.s.cfg.Scope == ScopeKeyspace {
		name, isKS = ks, true
	}
	now := s.s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(t, now)
	m := marker{name: string(name), keyspace: isKS, version: version, region: region, at: now}
	if i := s.findLocked(name, isKS); i >= 0 {
		old := s.markers[i]
		if old.version > version {
			// A newer write is already remembered: keep its version and
			// region, but restart the window from this write.
			m.version, m.region = old.version, old.region
		}
		s.markers = slices.Delete(s.markers, i, i+1)
	}
	if len(s.markers) >= s.s.cfg.MaxMarkers {
		s.markers = slices.Delete(s.markers, 0, len(s.markers)-s.s.cfg.MaxMarkers+1)
	}
	s.markers = append(s.markers, m)
}

// Requirement returns what a read of key needs, or false when the session
// has no marker for it inside its keyspace's current window.
func (s *Session) Requirement(key []byte) (Requirement, bool) {
	if s == nil {
		return Requirement{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.markers) == 0 {
		return Requirement{}, false
	}
	ks := keyspace.Of(key)
	window := windowOf(s.s.table(), ks)
	if window <= 0 {
		return Requirement{}, false
	}
	now := s.s.now()
	var req Requirement
	for i := range s.markers {
		m := &s.markers[i]
		if now-m.at >= window || m.version <= req.MinVersion {
			continue
		}
		if (!m.keyspace && m.name == string(key)) || (m.keyspace && m.name == string(ks)) {
			req = Requirement{MinVersion: m.version, Region: m.region, Local: m.region == s.s.cfg.Region}
		}
	}
	return req, req.MinVersion != 0
}

// Len returns the number of markers held, some possibly past their window.
func (s *Session) Len() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.markers)
}

// Markers returns the markers still inside their window, oldest first.
func (s *Session) Markers() []Marker {
	if s == nil {
		return nil
	}
	now := s.s.now()
	t := s.s.table()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(t, now)
	out := make([]Marker, len(s.markers))
	for i, m := range s.markers {
		out[i] = Marker{Name: m.name, Keyspace: m.keyspace, Version: m.version, Region: m.region, At: time.UnixMilli(m.at)}
	}
	return out
}

// findLocked returns the index of the marker for name, or -1.
func (s *Session) findLocked(name []byte, isKS bool) int {
	for i := range s.markers {
		if s.markers[i].keyspace == isKS && s.markers[i].name == string(name) {
			return i
		}
	}
	return -1
}

// pruneLocked drops markers past their keyspace's window.
func (s *Session) pruneLocked(t *keyspace.Table, now int64) {
	s.markers = slices.DeleteFunc(s.markers, func(m marker) bool { return !m.live(t, now) })
}

func (m *marker) live(t *keyspace.Table, now int64) bool {
	w := m.window(t)
	return w > 0 && now-m.at < w
}

// window returns the marker's window in ms under table t.
func (m *marker) window(t *keyspace.Table) int64 {
	if m.keyspace {
		return windowOf(t, []byte(m.name))
	}
	return windowOf(t, keyspace.Of([]byte(m.name)))
}
