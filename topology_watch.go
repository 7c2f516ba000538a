package tiercache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tiercache/tiercache/internal/resp"
	"github.com/tiercache/tiercache/l2/ring"
	"github.com/tiercache/tiercache/raftmeta"
)

// Following the control plane. FollowTopology feeds SetTopology from a
// raftmeta Watcher: the region's up L2 nodes of each new epoch, weights
// reduced the way the nodes reduce them (ring.ReduceWeights), so client
// and nodes build the same ring. A node that no longer owns a key and sees
// an older epoch answers TCMOVED; the client then catches up with its
// watcher (or, without one, takes the node's hint) and resends once.

// movedWait bounds how long a redirected call waits for the watcher to
// reach the epoch the node named, within the caller's deadline.
const movedWait = time.Second

// MovedError is a node's redirect: the sender's epoch is older than the
// node's and the node no longer owns the key. It wraps ErrMoved.
type MovedError struct {
	Epoch     uint64 // the node's epoch
	OwnerID   string // the key's owner at Epoch
	OwnerAddr string
}

func (e *MovedError) Error() string {
	return fmt.Sprintf("%v: epoch %d, owner %s (%s)", ErrMoved, e.Epoch, e.OwnerID, e.OwnerAddr)
}

// Unwrap makes errors.Is(err, ErrMoved) hold.
func (e *MovedError) Unwrap() error { return ErrMoved }

// parseMoved reads "TCMOVED <epoch> <owner-id> <owner-addr>".
func parseMoved(se *resp.ServerError) (*MovedError, bool) {
	f := strings.Fields(se.Msg)
	if len(f) != 4 || f[0] != "TCMOVED" {
		return nil, false
	}
	epoch, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return nil, false
	}
	return &MovedError{Epoch: epoch, OwnerID: f[2], OwnerAddr: f[3]}, true
}

// follower is the watcher a client follows.
type follower struct {
	w      *raftmeta.Watcher
	region string
	mu     sync.Mutex // serialises apply's epoch check and swap
}

// FollowTopology makes the client route by w's topology: the up L2 nodes
// of region, swapped in (SetTopology) at every new epoch, and the current
// one at once if w has one. A topology with no up node of region is not
// applied (the client keeps its last). stop ends the following (w stays
// open; the caller closes it after stop). Following a second watcher
// replaces the first.
func (c *Client) FollowTopology(w *raftmeta.Watcher, region string) (stop func()) {
	f := &follower{w: w, region: region}
	c.follow.Store(f)
	remove := w.OnChange(func(_, cur *raftmeta.Topology) { c.applyFollowed(f, cur) })
	if cur := w.Current(); cur != nil {
		c.applyFollowed(f, cur)
	}
	return func() {
		remove()
		c.follow.CompareAndSwap(f, nil)
	}
}

// applyFollowed swaps in t's view of f's region unless the client is
// already at a newer epoch.
func (c *Client) applyFollowed(f *follower, t *raftmeta.Topology) {
	top := TopologyOf(t, f.region)
	if len(top.Nodes) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if cur := c.topo.Load(); cur != nil && cur.epoch > top.Epoch {
		return
	}
	c.SetTopology(top) // fails only once closed, or on a bad address the nodes will not route to either
}

// TopologyOf returns the client topology of region in t: its up L2
// nodes, weights reduced as the nodes reduce them.
func TopologyOf(t *raftmeta.Topology, region string) Topology {
	var rn []ring.Node
	var addrs []string
	for _, nd := range t.NodesIn(region, raftmeta.TierL2) {
		if nd.State == raftmeta.StateUp {
			rn = append(rn, ring.Node{ID: nd.ID, Weight: nd.Weight})
			addrs = append(addrs, nd.Address)
		}
	}
	rn = ring.ReduceWeights(rn)
	top := Topology{Epoch: t.Epoch, Nodes: make([]Node, len(rn))}
	for i, nd := range rn {
		top.Nodes[i] = Node{ID: nd.ID, Addr: addrs[i], Weight: nd.Weight}
	}
	return top
}

// afterMoved decides where a call that got err from n resends, once: if
// err is a redirect, the followed watcher is given until movedWait (or
// the caller's deadline) to reach the node's epoch, and the call goes to
// the key's owner in the new view; without a watcher that catches up, it
// goes to the named owner if the client knows it at that address, else
// back to n with epoch 0, which n forwards to the owner.
func (c *Client) afterMoved(ctx context.Context, err error, n *nodeClient, key []byte) (*nodeClient, uint64, bool) {
	me, ok := asMoved(err)
	if !ok {
		return nil, 0, false
	}
	c.stats.moved.Add(1)
	if f := c.follow.Load(); f != nil {
		wctx, cancel := context.WithTimeout(ctx, movedWait)
		t, werr := f.w.Wait(wctx, func(t *raftmeta.Topology) bool { return t.Epoch >= me.Epoch })
		cancel()
		if werr == nil {
			c.applyFollowed(f, t)
		}
	}
	if topo := c.topo.Load(); topo.epoch >= me.Epoch {
		return topo.owner(key), topo.epoch, true
	} else if o := topo.nodes[me.OwnerID]; o != nil && o.addr == me.OwnerAddr {
		return o, me.Epoch, true
	}
	return n, 0, true
}

// asMoved finds a redirect in err's chain.
func asMoved(err error) (*MovedError, bool) {
	var me *MovedError
	ok := errors.As(err, &me)
	return me, ok
}
