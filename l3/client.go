package l3

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/internal/clock"
)

// DefaultCallTimeout bounds a Client call whose context has no deadline.
const DefaultCallTimeout = 2 * time.Second

// Federation is what a Client needs of its region's federation endpoint;
// *federation.Endpoint implements it. Its methods must be safe for
// concurrent use.
type Federation interface {
	// Link returns the link to a region, if one was connected.
	Link(region string) (*federation.Link, bool)
	// Publish puts a change in every link's outbox.
	Publish(c federation.Change) error
}

// ClientConfig configures a Client. The zero value of every field but
// Region means the documented default.
type ClientConfig struct {
	// Region is the region the Client runs in.
	Region string
	// Federation reaches other regions (nil: only Local nodes are
	// reachable, and Publish reaches no other region).
	Federation Federation
	// Local are the L3 nodes this process hosts; a key they own is served
	// by a direct call.
	Local []*Node
	// CallTimeout bounds a call whose context has no deadline (default
	// 2 s).
	CallTimeout time.Duration
	// Clock turns the relative expiries of remote replies into absolute
	// ones (default the wall clock).
	Clock clock.Clock
}

// Validate reports the first bad field, wrapping ErrInvalidConfig.
func (c ClientConfig) Validate() error {
	switch {
	case c.Region == "":
		return fmt.Errorf("%w: client Region is empty", ErrInvalidConfig)
	case c.CallTimeout < 0:
		return fmt.Errorf("%w: CallTimeout is negative (%v)", ErrInvalidConfig, c.CallTimeout)
	}
	for _, n := range c.Local {
		if n.Region() != c.Region {
			return fmt.Errorf("%w: local node %q is in region %q, not %q", ErrInvalidConfig, n.ID(), n.Region(), c.Region)
		}
	}
	return nil
}

// Client asks the key's L3 owner: directly when this process hosts it,
// over the federation link to its region otherwise. It is safe for
// concurrent use and holds no goroutines, so it needs no Close.
type Client struct {
	cfg   ClientConfig
	local map[string]*Node // read-only after NewClient
	ring  atomic.Pointer[Ring]

	localCalls, remoteCalls, errs atomic.Uint64
}

// NewClient returns a Client; it routes nothing until SetRing.
func NewClient(cfg ClientConfig) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	cfg.Clock = clock.Or(cfg.Clock)
	c := &Client{cfg: cfg, local: make(map[string]*Node, len(cfg.Local))}
	for _, n := range cfg.Local {
		c.local[n.ID()] = n
	}
	return c, nil
}

// SetRing installs the global ring the Client routes by.
func (c *Client) SetRing(r *Ring) { c.ring.Store(r) }

// Owner returns key's owner on the current ring.
func (c *Client) Owner(key []byte) (Member, error) {
	r := c.ring.Load()
	if r == nil {
		return Member{}, ErrNoRing
	}
	return r.Owner(key), nil
}

// route finds key's owner: a local node, or a link to its region.
func (c *Client) route(key []byte) (Member, *Node, *federation.Link, error) {
	m, err := c.Owner(key)
	if err != nil {
		return m, nil, nil, err
	}
	if n, ok := c.local[m.ID]; ok {
		return m, n, nil, nil
	}
	if m.Region == c.cfg.Region || c.cfg.Federation == nil {
		return m, nil, nil, fmt.Errorf("%w: %s in %s", ErrNoRoute, m.ID, m.Region)
	}
	l, ok := c.cfg.Federation.Link(m.Region)
	if !ok {
		return m, nil, nil, fmt.Errorf("%w: no link to %s for %s", ErrNoRoute, m.Region, m.ID)
	}
	return m, nil, l, nil
}

// call sends one request over l with the Client's default deadline.
func (c *Client) call(ctx context.Context, l *federation.Link, kind uint8, req []byte, idempotent bool) ([]byte, error) {
	c.remoteCalls.Add(1)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.CallTimeout)
		defer cancel()
	}
	return l.Call(ctx, kind, req, idempotent)
}

func (c *Client) done(err error, op string, key []byte, m Member) error {
	if err == nil {
		return nil
	}
	c.errs.Add(1)
	return fmt.Errorf("l3: %s %q at %s (%s): %w", op, key, m.ID, m.Region, err)
}

// Get reads key from its owner (see Node.Get). Over the WAN a plain read
// or a ticket request is idempotent and may ride in 0-RTT data after a
// reconnect; a lease request is not (a replay could take the lease from
// the real missers), so it waits for a full handshake.
func (c *Client) Get(ctx context.Context, req GetRequest) (GetReply, error) {
	m, n, l, err := c.route(req.Key)
	if err != nil {
		return GetReply{}, c.done(err, "get", req.Key, m)
	}
	if n != nil {
		c.localCalls.Add(1)
		rep, err := n.Get(req)
		return rep, c.done(err, "get", req.Key, m)
	}
	resp, err := c.call(ctx, l, KindGet, appendGetRequest(nil, m.ID, req), req.Mode != ModeLease)
	if err != nil {
		return GetReply{}, c.done(err, "get", req.Key, m)
	}
	rep, err := decodeGetReply(resp, clock.NowMillis(c.cfg.Clock))
	return rep, c.done(err, "get", req.Key, m)
}

// Fill stores a loaded value at the key's owner (see Node.Fill).
func (c *Client) Fill(ctx context.Context, req FillRequest) (WriteReply, error) {
	m, n, l, err := c.route(req.Key)
	if err != nil {
		return WriteReply{}, c.done(err, "fill", req.Key, m)
	}
	if n != nil {
		c.localCalls.Add(1)
		rep, err := n.Fill(req)
		return rep, c.done(err, "fill", req.Key, m)
	}
	msg := appendFillRequest(make([]byte, 0, 48+len(req.Key)+len(req.Item.Value)), m.ID, req, clock.NowMillis(c.cfg.Clock))
	return c.write(ctx, l, KindFill, msg, "fill", req.Key, m)
}

// Invalidate leaves a versioned tombstone at the key's owner (see
// Node.Invalidate). The change stream carries invalidations too; a direct
// call is for a writer that wants the global tier to drop the key now.
func (c *Client) Invalidate(ctx context.Context, key []byte, version uint64) (WriteReply, error) {
	m, n, l, err := c.route(key)
	if err != nil {
		return WriteReply{}, c.done(err, "invalidate", key, m)
	}
	if n != nil {
		c.localCalls.Add(1)
		rep, err := n.Invalidate(key, version)
		return rep, c.done(err, "invalidate", key, m)
	}
	return c.write(ctx, l, KindInvalidate, appendKeyRequest(nil, m.ID, version, key), "invalidate", key, m)
}

// Release gives back a lease whose load failed (see Node.Release).
func (c *Client) Release(ctx context.Context, key []byte, token uint64) (bool, error) {
	m, n, l, err := c.route(key)
	if err != nil {
		return false, c.done(err, "release", key, m)
	}
	if n != nil {
		c.localCalls.Add(1)
		ok, err := n.Release(key, token)
		return ok, c.done(err, "release", key, m)
	}
	rep, err := c.write(ctx, l, KindRelease, appendKeyRequest(nil, m.ID, token, key), "release", key, m)
	return rep.Status == StatusOK, err
}

func (c *Client) write(ctx context.Context, l *federation.Link, kind uint8, msg []byte, op string, key []byte, m Member) (WriteReply, error) {
	resp, err := c.call(ctx, l, kind, msg, false)
	if err != nil {
		return WriteReply{}, c.done(err, op, key, m)
	}
	rep, err := decodeWriteReply(resp)
	return rep, c.done(err, op, key, m)
}

// Publish hands a write made in this region to the global tier: it applies
// ch to the key's owner directly when this process hosts it (the change
// stream reaches only other regions), then publishes it to every linked
// region, where the owner's Replica applies it. The L2 owner's write path
// calls it in place of Endpoint.Publish. An owner in this region that this
// process does not host is ErrNoRoute, after the publish.
func (c *Client) Publish(ch federation.Change) error {
	var localErr error
	switch m, n, _, err := c.route(ch.Key); {
	case n != nil:
		localErr = n.Apply(c.cfg.Region, []federation.Change{ch})
	case errors.Is(err, ErrNoRing):
		// Without a ring every local node may own the key; each keeps
		// only what its own ring gives it.
		for _, n := range c.cfg.Local {
			if err := n.Apply(c.cfg.Region, []federation.Change{ch}); err != nil {
				localErr = err
			}
		}
	case errors.Is(err, ErrNoRoute) && m.Region == c.cfg.Region:
		localErr = err
	}
	if c.cfg.Federation != nil {
		if err := c.cfg.Federation.Publish(ch); err != nil {
			return fmt.Errorf("l3: publish %q: %w", ch.Key, err)
		}
	}
	if localErr != nil {
		return fmt.Errorf("l3: publish %q to its owner: %w", ch.Key, localErr)
	}
	return nil
}

// ClientStats are a Client's counters.
type ClientStats struct {
	LocalCalls  uint64 // calls served by a node of this process
	RemoteCalls uint64 // calls sent over federation
	Errors      uint64 // calls that failed
}

// Stats returns a snapshot of the Client's counters.
func (c *Client) Stats() ClientStats {
	return ClientStats{LocalCalls: c.localCalls.Load(), RemoteCalls: c.remoteCalls.Load(), Errors: c.errs.Load()}
}
