package tiercache

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/tcproto"
	"github.com/tiercache/tiercache/l1"
	"github.com/tiercache/tiercache/sticky"
)

// Read-your-writes (DESIGN.md, "A read" 2 and "A write" 3). A Session
// remembers the versions its user wrote (package sticky's write markers);
// inside the keyspace's StickyWindow a read of such a key must see that
// version or a newer one:
//
//   - an L1 entry older than the write is passed over;
//   - the key's L2 owner is asked with TC.GET ... MINVER v FROM region:
//     it serves its copy if that is at v or newer, else reads the key
//     from the writer's region over the federation link (sticky.Route's
//     Remote) and serves and keeps that, else answers BEHIND;
//   - on BEHIND the Loader runs with Hints.MinVersion and PreferPrimary
//     (sticky.Route's Load), filling under the lease BEHIND carried.
//
// One round trip to the local owner covers all three of Route's rows: the
// owner knows its copy's version, the client does not.
//
// Sticky reads never join a flight of plain reads of the same key (which
// may be settling for an older value), nor take values from the gutter.

// Session is one user's read-your-writes context. Write through it (Set,
// Invalidate), read through it (Get), and hand Token to the user (a
// cookie, a header) to carry it to the next request, in any region. A
// Session is safe for concurrent use.
type Session struct {
	c *Client
	s *sticky.Session // nil: not sticky (no Region configured)
	// wrote is the newest version this Session value wrote; with the
	// markers a restored token carries, it orders the session's writes
	// (lastWrite).
	wrote atomic.Uint64
}

// newSessions returns the client's session factory, nil without a Region.
func newSessions(cfg Config) (*sticky.Sessions, error) {
	if cfg.Region == "" {
		return nil, nil
	}
	ks := cfg.Keyspaces
	s, err := sticky.New(sticky.Config{
		Region: cfg.Region, Keys: cfg.StickyKeys, Clock: cfg.Clock,
		Keyspaces: func() *keyspace.Table { return ks },
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return s, nil
}

// validateSticky reports sticky settings that cannot work.
func (c Config) validateSticky() error {
	if c.Region == "" {
		if len(c.StickyKeys) > 0 {
			return fmt.Errorf("%w: StickyKeys without a Region", ErrInvalidConfig)
		}
		return nil
	}
	_, err := newSessions(c)
	return err
}

// NewSession returns an empty session.
func (c *Client) NewSession() *Session {
	if c.sessions == nil {
		return &Session{c: c}
	}
	return &Session{c: c, s: c.sessions.NewSession()}
}

// RestoreSession returns the session a token from Session.Token carries.
// A token that cannot be accepted (forged, altered, expired, malformed,
// too large, or no StickyKeys here) gives a fresh session, not an error:
// the user's reads are merely not sticky. The reason is counted in Stats.
func (c *Client) RestoreSession(token string) *Session {
	if c.sessions == nil || token == "" {
		return c.NewSession()
	}
	s, err := c.sessions.Restore(token)
	if err != nil {
		c.stats.tokensRejected.Add(1)
		switch {
		case errors.Is(err, sticky.ErrTokenExpired):
			c.stats.tokensExpired.Add(1)
		case errors.Is(err, sticky.ErrTokenForged):
			c.stats.tokensForged.Add(1)
		case errors.Is(err, sticky.ErrTokenMalformed), errors.Is(err, sticky.ErrTokenTooLarge):
			c.stats.tokensMalformed.Add(1)
		}
	} else {
		c.stats.tokensRestored.Add(1)
	}
	return &Session{c: c, s: s}
}

// Token returns the session's markers still inside their windows as a
// signed token, or "" when there are none or no StickyKeys.
func (s *Session) Token() string { return s.s.Token() }

// Set is Client.Set, remembering the write for the session's reads. Its
// version is greater than every version the session wrote before (in this
// process, or in any region its token came from within the sticky
// window), so the session's last write wins everywhere even when two of
// its writes land in different regions within one millisecond.
func (s *Session) Set(ctx context.Context, key string, value []byte, opts ...SetOption) (uint64, error) {
	if after := s.lastWrite(); after != 0 {
		opts = append(opts[:len(opts):len(opts)], afterVersion(after))
	}
	v, err := s.c.Set(ctx, key, value, opts...)
	if err == nil {
		s.recordWrite(key, v)
	}
	return v, err
}

// Invalidate is Client.Invalidate, remembering the tombstone's version:
// the session's next reads of key see no value older than it. Like Set's,
// the tombstone's version is above every version the session wrote before.
func (s *Session) Invalidate(ctx context.Context, key string) (uint64, error) {
	v, err := s.c.invalidate(ctx, key, s.lastWrite())
	if err == nil {
		s.recordWrite(key, v)
	}
	return v, err
}

// recordWrite remembers a write at version v: as a marker for sticky reads
// and as the session's newest version for its next Set.
func (s *Session) recordWrite(key string, v uint64) {
	s.s.RecordWrite(bytesOf(key), v, s.c.cfg.Region)
	for {
		old := s.wrote.Load()
		if v <= old || s.wrote.CompareAndSwap(old, v) {
			return
		}
	}
}

// lastWrite returns the newest version the session is known to have
// written: by this value, or in the markers of the token it was restored
// from (those still inside their window; an older write is far enough in
// the past that clocks order it).
func (s *Session) lastWrite() uint64 {
	last := s.wrote.Load()
	for _, m := range s.s.Markers() {
		last = max(last, m.Version)
	}
	return last
}

// Get is Client.Get, except that inside the window of a write the session
// made to key it returns that write's value or a newer one.
func (s *Session) Get(ctx context.Context, key string, loader Loader) ([]byte, error) {
	c := s.c
	kb := bytesOf(key)
	req, ok := s.s.Requirement(kb)
	if !ok {
		return c.Get(ctx, key, loader)
	}
	c.stats.stickyReads.Add(1)
	sp := c.keyspaceOf(kb)
	if c.l1 != nil && sp.settings.L1Mode() != keyspace.L1Off {
		v, meta, st := c.l1.Get(nil, kb)
		switch {
		case st == l1.Hit && meta.Version >= req.MinVersion:
			c.stats.l1Hits.Add(1)
			c.hot.countHit(kb)
			return v, nil
		case st != l1.Miss:
			c.stats.stickyL1Skips.Add(1)
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	// Route as if nothing were held locally: Remote names the writer's
	// region for the owner to ask should its copy lag; the owner itself
	// takes the Local row when its copy is new enough.
	d := sticky.Route(req, 0, false)
	rq := c.newReadReq(key, kb, sp, loader)
	rq.leading, rq.minVer = true, req.MinVersion
	if d.Action == sticky.Remote {
		rq.from = d.Region
	}
	return c.fetch(ctx, nil, rq)
}

// behind reports whether a reply to a sticky read cannot be served: BEHIND,
// or (from a node that ignores MINVER) a value older than the write.
func (c *Client) behind(rq *readReq, rep getReply) bool {
	switch rep.status {
	case tcproto.StatusBehind:
		return true
	case tcproto.StatusHit, tcproto.StatusStale:
		if rep.version < rq.minVer {
			return true
		}
		if rep.flags&tcproto.FlagRemote != 0 {
			c.stats.stickyRemote.Add(1)
		}
	}
	return false
}

// loadBehind loads a sticky read's key from the origin, hinted (load
// passes rq.minVer on), filling under the lease the node granted if any.
func (c *Client) loadBehind(ctx context.Context, dst []byte, rq *readReq, n *nodeClient, epoch, te uint64, rep getReply) ([]byte, error) {
	c.stats.stickyLoads.Add(1)
	if rep.status == tcproto.StatusBehind && rep.token != 0 {
		c.stats.leases.Add(1)
		return c.loadLeased(ctx, dst, rq, n, epoch, te, rep)
	}
	v, err := c.load(ctx, rq, Hints{})
	if err != nil {
		return dst, err
	}
	return append(dst, v...), nil
}
