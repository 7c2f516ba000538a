package raftmeta

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tiercache/tiercache/internal/keyspace"
)

// WriteOption adjusts one write.
type WriteOption func(*writeOptions)

type writeOptions struct {
	expectEpoch   *uint64
	expectVersion *uint64
	key           string
}

// ExpectEpoch makes a topology write a compare-and-set: it applies only if
// the epoch is still e, and fails with ErrEpochConflict otherwise. Without
// it the leader compares against the epoch it has when the write arrives.
func ExpectEpoch(e uint64) WriteOption { return func(o *writeOptions) { o.expectEpoch = &e } }

// ExpectKeyspaceVersion makes a keyspace write a compare-and-set on the
// keyspace version (ErrKeyspaceConflict when it moved).
func ExpectKeyspaceVersion(v uint64) WriteOption {
	return func(o *writeOptions) { o.expectVersion = &v }
}

// IdempotencyKey sets the write's key (default: a fresh random one per
// call, kept across the call's retries). Reusing a key across calls makes
// the later ones return the first one's result without applying again.
func IdempotencyKey(k string) WriteOption { return func(o *writeOptions) { o.key = k } }

func (c *Client) write(ctx context.Context, method, path string, body any, opts []WriteOption) (WriteResult, error) {
	o := writeOptions{key: newKey()}
	for _, f := range opts {
		f(&o)
	}
	q := url.Values{}
	if o.expectEpoch != nil {
		q.Set("expect_epoch", strconv.FormatUint(*o.expectEpoch, 10))
	}
	if o.expectVersion != nil {
		q.Set("expect_version", strconv.FormatUint(*o.expectVersion, 10))
	}
	var res WriteResult
	_, err := c.do(ctx, call{method: method, path: path, query: q, body: body, key: o.key}, &res)
	return res, err
}

// Topology returns the topology of whichever member answers first; it may
// be behind the leader's.
func (c *Client) Topology(ctx context.Context) (Topology, error) {
	var t Topology
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/topology"}, &t)
	return t, err
}

// TopologyLinearizable returns the leader's topology after the leader has
// confirmed it still leads: it reflects every write acknowledged before the
// call began.
func (c *Client) TopologyLinearizable(ctx context.Context) (Topology, error) {
	var t Topology
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/topology", query: url.Values{"consistent": {"true"}}}, &t)
	return t, err
}

// Watch returns the first topology whose epoch is past afterEpoch, long
// polling (and failing over between members) until there is one or ctx
// ends.
func (c *Client) Watch(ctx context.Context, afterEpoch uint64) (Topology, error) {
	for {
		t, err := c.poll(ctx, url.Values{"after": {strconv.FormatUint(afterEpoch, 10)}})
		if err != nil {
			return Topology{}, err
		}
		if t.Epoch > afterEpoch {
			return t, nil
		}
	}
}

// WatchSince returns the first topology past pos in epoch or keyspace
// version, long polling until there is one or ctx ends.
func (c *Client) WatchSince(ctx context.Context, pos Position) (Topology, error) {
	q := url.Values{
		"after":           {strconv.FormatUint(pos.Epoch, 10)},
		"keyspaces_after": {strconv.FormatUint(pos.KeyspaceVersion, 10)},
	}
	for {
		t, err := c.poll(ctx, q)
		if err != nil {
			return Topology{}, err
		}
		if t.Position().After(pos) {
			return t, nil
		}
	}
}

func (c *Client) poll(ctx context.Context, q url.Values) (Topology, error) {
	q.Set("wait", watchWait.String())
	var t Topology
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/topology", query: q, hold: watchWait}, &t)
	return t, err
}

// Register adds node spec to the topology (or updates its addresses and
// weight) and starts its lease.
func (c *Client) Register(ctx context.Context, spec NodeSpec, opts ...WriteOption) (Lease, error) {
	o := writeOptions{key: newKey()}
	for _, f := range opts {
		f(&o)
	}
	q := url.Values{}
	if o.expectEpoch != nil {
		q.Set("expect_epoch", strconv.FormatUint(*o.expectEpoch, 10))
	}
	var l Lease
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/nodes", query: q, body: spec, key: o.key}, &l)
	return l, err
}

// Renew renews node id's lease. ErrUnknownNode means register again.
func (c *Client) Renew(ctx context.Context, id string) (Lease, error) {
	var l Lease
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/nodes/" + url.PathEscape(id) + "/renew"}, &l)
	return l, err
}

// Drain marks node id as draining: alive, handing its ranges away.
func (c *Client) Drain(ctx context.Context, id string, opts ...WriteOption) (WriteResult, error) {
	return c.write(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(id)+"/drain", nil, opts)
}

// Undrain takes node id out of draining.
func (c *Client) Undrain(ctx context.Context, id string, opts ...WriteOption) (WriteResult, error) {
	return c.write(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(id)+"/undrain", nil, opts)
}

// SetWeight sets node id's weight (1..MaxWeight).
func (c *Client) SetWeight(ctx context.Context, id string, weight int, opts ...WriteOption) (WriteResult, error) {
	return c.write(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(id)+"/weight", WeightRequest{Weight: weight}, opts)
}

// RemoveNode takes node id out of the topology.
func (c *Client) RemoveNode(ctx context.Context, id string, opts ...WriteOption) (WriteResult, error) {
	return c.write(ctx, http.MethodDelete, "/v1/nodes/"+url.PathEscape(id), nil, opts)
}

// AddRegion pins region r's id.
func (c *Client) AddRegion(ctx context.Context, r Region, opts ...WriteOption) (WriteResult, error) {
	return c.write(ctx, http.MethodPost, "/v1/regions", r, opts)
}

// Keyspaces returns the keyspace table and its version.
func (c *Client) Keyspaces(ctx context.Context) (KeyspaceList, error) {
	var l KeyspaceList
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/keyspaces"}, &l)
	return l, err
}

// Keyspace returns one keyspace's settings ("default" for the default).
func (c *Client) Keyspace(ctx context.Context, name string) (KeyspaceEntry, error) {
	var e KeyspaceEntry
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/keyspaces/" + url.PathEscape(name)}, &e)
	return e, err
}

// SetKeyspace replaces one keyspace's settings ("default" for the
// default). Invalid settings fail with ErrInvalid and change nothing.
func (c *Client) SetKeyspace(ctx context.Context, name string, s keyspace.Settings, opts ...WriteOption) (WriteResult, error) {
	return c.write(ctx, http.MethodPut, "/v1/keyspaces/"+url.PathEscape(name), s, opts)
}

// DeleteKeyspace drops one keyspace's own settings.
func (c *Client) DeleteKeyspace(ctx context.Context, name string, opts ...WriteOption) (WriteResult, error) {
	return c.write(ctx, http.MethodDelete, "/v1/keyspaces/"+url.PathEscape(name), nil, opts)
}

// Status returns the answering member's view of the group.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/status"}, &s)
	return s, err
}

// AddMember asks the group to add a voter.
func (c *Client) AddMember(ctx context.Context, j JoinRequest) (WriteResult, error) {
	return c.write(ctx, http.MethodPost, "/v1/members", j, nil)
}

// RemoveMember asks the group to remove a voter.
func (c *Client) RemoveMember(ctx context.Context, id string) (WriteResult, error) {
	return c.write(ctx, http.MethodDelete, "/v1/members/"+url.PathEscape(id), nil, nil)
}

// Rebalance returns the rebalance progress record, nil when there is none.
func (c *Client) Rebalance(ctx context.Context) (*Rebalance, error) {
	var r *Rebalance
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/rebalance"}, &r)
	return r, err
}

// SetRebalance stores the rebalance progress record.
func (c *Client) SetRebalance(ctx context.Context, r Rebalance) (WriteResult, error) {
	return c.write(ctx, http.MethodPut, "/v1/rebalance", r, nil)
}

// ClearRebalance removes the rebalance progress record.
func (c *Client) ClearRebalance(ctx context.Context) (WriteResult, error) {
	return c.write(ctx, http.MethodDelete, "/v1/rebalance", nil, nil)
}
