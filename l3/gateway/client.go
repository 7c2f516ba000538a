package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l2/store"
	"github.com/tiercache/tiercache/l3"
	"github.com/tiercache/tiercache/raftmeta"
)

// Errors of the package.
var (
	// ErrNoGateway means the node has no link to its region's gateway
	// yet, or the link is down: the node serves its region alone (misses
	// load from the origin) and its writes wait in the link's outbox.
	ErrNoGateway = errors.New("gateway: region gateway unreachable")
	// ErrNotOwnRegion is a gateway call from a peer of another region.
	ErrNotOwnRegion = errors.New("gateway: serves only its own region's nodes")
	// ErrUnknownRegion is a sticky read for a region the gateway has no
	// link to.
	ErrUnknownRegion = errors.New("gateway: no link to region")
	// errClosed is returned after Server.Close.
	errClosed = errors.New("gateway: closed")
)

// Client is an L2 node's view of the global tier: its l2.GlobalTier
// (SetGlobal) and l2.StickyReader (SetStickyReader). It rides on an
// endpoint of the node's own, whose certificate names the node's region;
// the Client does not own the endpoint. It is safe for concurrent use.
//
// Calls go to the node's own region's gateway. Writes go on the node's
// change stream to every region's gateway, its own included: each
// gateway acknowledges a batch only once it is applied where it belongs
// (the L3 node, and for another region's gateway the key's L2 owner
// there), so a write leaves the node's outbox only when it has arrived,
// and a gateway killed in between loses nothing.
type Client struct {
	ep    *federation.Endpoint
	clock clock.Clock

	mu    sync.Mutex // protects links and addrs
	links map[string]*federation.Link
	addrs map[string]string
}

var (
	_ l2.GlobalTier   = (*Client)(nil)
	_ l2.StickyReader = (*Client)(nil)
)

// NewClient returns a Client over ep; it has no gateway until Connect or
// ApplyTopology finds one.
func NewClient(ep *federation.Endpoint) *Client {
	return &Client{ep: ep, clock: clock.System, links: map[string]*federation.Link{}, addrs: map[string]string{}}
}

// Connect links the node to its own region's gateway at addr (host:port
// of the gateway's federation socket); see ConnectRegion.
func (c *Client) Connect(addr string) error { return c.ConnectRegion(c.ep.Region(), addr) }

// ConnectRegion links the node to region's gateway at addr. The link
// redials for as long as the endpoint lives, so a gateway restarted at the
// same address is found again and the writes it missed are replayed. A
// second ConnectRegion at another address moves the link there (the
// gateway moved), with the same replay.
func (c *Client) ConnectRegion(region, addr string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, linked := c.addrs[region]
	if linked && old == addr {
		return nil
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return fmt.Errorf("gateway: %s's gateway address %q: %w", region, addr, err)
	}
	if linked {
		c.links[region].Redirect(ua)
		c.addrs[region] = addr
		return nil
	}
	l, err := c.ep.Connect(region, ua)
	if err != nil {
		return err
	}
	c.links[region], c.addrs[region] = l, addr
	return nil
}

// GatewayAddress is the federation address of region's gateway in t: its
// first up L3 node that advertises one, "" if none.
func GatewayAddress(t *raftmeta.Topology, region string) string {
	for _, n := range t.NodesIn(region, raftmeta.TierL3) {
		if n.State == raftmeta.StateUp && n.FederationAddress != "" {
			return n.FederationAddress
		}
	}
	return ""
}

// ApplyTopology links the node to every region's gateway that t lists,
// and moves a link whose gateway now advertises another address.
func (c *Client) ApplyTopology(t *raftmeta.Topology) error {
	var first error
	for _, r := range t.Regions {
		addr := GatewayAddress(t, r.Name)
		if addr == "" {
			continue
		}
		if err := c.ConnectRegion(r.Name, addr); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Link returns the link to the node's own region's gateway, nil before one
// is known.
func (c *Client) Link() *federation.Link {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.links[c.ep.Region()]
}

// up returns the link if it is connected: a call to a gateway that is
// down fails at once, so the node serves its region without waiting out
// a timeout on every miss.
func (c *Client) up() (*federation.Link, error) {
	l := c.Link()
	if l == nil || !l.Connected() {
		return nil, ErrNoGateway
	}
	return l, nil
}

// Get asks the key's L3 owner through the gateway. A plain read or a
// ticket is idempotent (it may ride 0-RTT); a global lease is not.
func (c *Client) Get(ctx context.Context, key []byte, mode l2.GlobalMode) (l2.GlobalReply, error) {
	l, err := c.up()
	if err != nil {
		return l2.GlobalReply{}, err
	}
	resp, err := l.Call(ctx, KindGet, appendGetRequest(nil, key, mode), mode != l2.GlobalLease)
	if err != nil {
		return l2.GlobalReply{}, err
	}
	return decodeGetReply(resp, clock.NowMillis(c.clock))
}

// Fill stores the region's load at the key's L3 owner under token.
func (c *Client) Fill(ctx context.Context, key []byte, token uint64, it store.Item) error {
	l, err := c.up()
	if err != nil {
		return err
	}
	_, err = l.Call(ctx, KindFill, appendFillRequest(nil, key, token, it, clock.NowMillis(c.clock)), false)
	return err
}

// Release gives back a global lease.
func (c *Client) Release(ctx context.Context, key []byte, token uint64) error {
	l, err := c.up()
	if err != nil {
		return err
	}
	_, err = l.Call(ctx, KindRelease, appendReleaseRequest(nil, key, token), false)
	return err
}

// Publish puts a write of this node on its change stream to every
// region's gateway. It never blocks; while a gateway is down writes wait
// in its link's outbox (bounded) and are replayed from its last
// acknowledgement. A region whose gateway the node has not heard of yet
// does not get the write.
func (c *Client) Publish(ch l2.GlobalChange) error {
	return c.ep.Publish(federation.Change{Key: ch.Key, Value: ch.Value, Version: ch.Version, ExpireAt: ch.ExpireAt, Delete: ch.Delete})
}

// ReadSticky asks the gateway to read key at minVersion or newer in
// region (the writer's), over its link there.
func (c *Client) ReadSticky(ctx context.Context, region string, key []byte, minVersion uint64) (l2.StickyRead, error) {
	if region == c.ep.Region() {
		// The writer's region is this one: no other region can have
		// what this region's owner lacks.
		return l2.StickyRead{}, fmt.Errorf("%w: sticky read of %q from its own region %q", ErrUnknownRegion, key, region)
	}
	l, err := c.up()
	if err != nil {
		return l2.StickyRead{}, err
	}
	req := appendStickyRequest(nil, region, l3.AppendStickyRequest(nil, key, minVersion))
	resp, err := l.Call(ctx, KindSticky, req, true)
	if err != nil {
		return l2.StickyRead{}, err
	}
	return l3.DecodeStickyReply(resp, clock.NowMillis(c.clock))
}
