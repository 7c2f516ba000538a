package l2

import (
	"sync/atomic"

	"github.com/tiercache/tiercache/internal/telemetry/kscount"
	"github.com/tiercache/tiercache/l2/store"
)

// activity counts the commands of one connection. Each connection has its
// own, so the hot path adds to cache lines no other core writes; Stats
// sums the open connections' and the retired total of closed ones.
type activity struct {
	commands    atomic.Uint64
	forwarded   atomic.Uint64
	forwardedIn atomic.Uint64
	perCommand  []atomic.Uint64 // by command id
	// TC.GET outcomes by keyspace slot (tier_obs.go).
	ksHits, ksStale, ksMisses kscount.Row
}

func newActivity() *activity {
	return &activity{perCommand: make([]atomic.Uint64, len(commandList))}
}

// addTo adds a's counts to dst.
func (a *activity) addTo(dst *activity) {
	dst.commands.Add(a.commands.Load())
	dst.forwarded.Add(a.forwarded.Load())
	dst.forwardedIn.Add(a.forwardedIn.Load())
	for id := range a.perCommand {
		if v := a.perCommand[id].Load(); v > 0 {
			dst.perCommand[id].Add(v)
		}
	}
	a.ksHits.AddTo(&dst.ksHits)
	a.ksStale.AddTo(&dst.ksStale)
	a.ksMisses.AddTo(&dst.ksMisses)
}

// activity sums every connection's counts, closed ones included.
func (n *Node) activity() *activity {
	sum := newActivity()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.retired.addTo(sum)
	for c := range n.conns {
		c.act.addTo(sum)
	}
	return sum
}

// counters are the node's rarer events, counted on shared atomics.
type counters struct {
	forwardErrors  atomic.Uint64
	busy           atomic.Uint64
	protocolErrors atomic.Uint64
	accepted       atomic.Uint64
	rejected       atomic.Uint64
	peerDials      atomic.Uint64
}

// NodeStats is a snapshot of a node's activity.
type NodeStats struct {
	Commands            uint64            // commands run or routed by this node, forwarded-in ones included
	Forwarded           uint64            // commands (or parts of split ones) sent to their owner
	ForwardedIn         uint64            // commands peers sent here to run
	ForwardErrors       uint64            // forwards that failed (owner unreachable or too slow)
	Busy                uint64            // commands refused with BUSY by load shedding
	ProtocolErrors      uint64            // connections closed for a malformed or oversized request
	ConnectionsAccepted uint64            // connections accepted, refused ones included
	ConnectionsRejected uint64            // connections refused at MaxClients
	ConnectedClients    int64             // open connections, peer links from other nodes included
	PeerDials           uint64            // connections this node opened to peers
	InFlight            int64             // commands being run or awaiting a peer
	Moved               uint64            // TC.* commands redirected with TCMOVED (sender's epoch was old)
	PerCommand          map[string]uint64 // calls by command name (only those called)
	Store               store.Stats
}

// Stats returns a snapshot of the node's counters.
func (n *Node) Stats() NodeStats {
	act := n.activity()
	s := NodeStats{
		Commands:            act.commands.Load(),
		Forwarded:           act.forwarded.Load(),
		ForwardedIn:         act.forwardedIn.Load(),
		ForwardErrors:       n.stats.forwardErrors.Load(),
		Busy:                n.stats.busy.Load(),
		ProtocolErrors:      n.stats.protocolErrors.Load(),
		ConnectionsAccepted: n.stats.accepted.Load(),
		ConnectionsRejected: n.stats.rejected.Load(),
		ConnectedClients:    n.clients.Load(),
		PeerDials:           n.stats.peerDials.Load(),
		InFlight:            n.inflight.Load(),
		Moved:               n.cluster().moved.Load(),
		PerCommand:          map[string]uint64{},
	}
	for id := range act.perCommand {
		if v := act.perCommand[id].Load(); v > 0 {
			s.PerCommand[commandList[id].name] = v
		}
	}
	n.store.UpdateStats(&s.Store)
	return s
}
