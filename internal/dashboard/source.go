// Package dashboard serves the demo's web page: the running federation's
// topology, hit ratios, origin load, latency, replication lag, hot keys
// and breaker states, live, with buttons that act on it (kill and restart
// a node, partition and heal a region, expire a hot key). Everything it
// shows comes from a Source; it keeps the history itself, so the system
// it watches pays nothing for the charts.
package dashboard

import "context"

// Source is the running system the dashboard watches and acts on. Both
// methods must be safe for concurrent use.
type Source interface {
	// Snapshot returns the system's state now. Counters are cumulative;
	// the dashboard turns them into rates from one snapshot to the next.
	Snapshot() Snapshot
	// Act carries out an operator action; an error is shown on the page.
	Act(ctx context.Context, a Action) error
}

// Action kinds.
const (
	ActionKillNode        = "kill-node"        // Target: a node id
	ActionRestartNode     = "restart-node"     // Target: a node id
	ActionPartitionRegion = "partition-region" // Target: a region name
	ActionHealRegion      = "heal-region"      // Target: a region name
	ActionExpireHotKey    = "expire-hot-key"   // Target: a key ("" = the current trending key)
)

// Action is one operator action.
type Action struct {
	Kind   string `json:"kind"`
	Target string `json:"target"`
}

// Snapshot is the system's state at one instant.
type Snapshot struct {
	TimeMs  int64         `json:"time_ms"` // unix milliseconds
	Epoch   uint64        `json:"epoch"`   // the raftmeta topology epoch
	Leader  string        `json:"leader"`  // the raftmeta leader's id
	Regions []RegionState `json:"regions"`
	Links   []LinkState   `json:"links"`
	HotKeys []HotKey      `json:"hot_keys"`
	Events  []Event       `json:"events"` // most recent last, bounded by the source
}

// RegionState is one region: its nodes and what its app clients saw.
type RegionState struct {
	Name        string      `json:"name"`
	Partitioned bool        `json:"partitioned"`
	Nodes       []NodeState `json:"nodes"`

	// Cumulative counters from the region's app clients and origin.
	Requests      uint64 `json:"requests"`
	L1Hits        uint64 `json:"l1_hits"`
	L2Hits        uint64 `json:"l2_hits"`
	L3Hits        uint64 `json:"l3_hits"`
	OriginLoads   uint64 `json:"origin_loads"`
	StaleReads    uint64 `json:"stale_reads"`
	RYWChecks     uint64 `json:"ryw_checks"`
	RYWViolations uint64 `json:"ryw_violations"`
	Errors        uint64 `json:"errors"`

	// Latency of app reads over the last interval the source measured.
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
}

// NodeState is one L2 or L3 node.
type NodeState struct {
	ID      string `json:"id"`
	Tier    string `json:"tier"` // "l2" or "l3"
	Addr    string `json:"addr"`
	State   string `json:"state"`   // "up", "down", "draining" as raftmeta has it
	Running bool   `json:"running"` // whether the process side is running (false after a kill)
	Keys    int64  `json:"keys"`
	Breaker string `json:"breaker"` // the app clients' breaker toward the node: "closed", "open", "half-open", "" for L3
}

// LinkState is one direction of a federation link.
type LinkState struct {
	From      string  `json:"from"`
	To        string  `json:"to"`
	Connected bool    `json:"connected"`
	RTTMs     float64 `json:"rtt_ms"`
	LagP50Ms  float64 `json:"lag_p50_ms"`
	LagP99Ms  float64 `json:"lag_p99_ms"`
	Backlog   uint64  `json:"backlog"` // changes enqueued but not yet acknowledged
}

// HotKey is a key a region's nodes see as hot.
type HotKey struct {
	Key    string  `json:"key"`
	Region string  `json:"region"`
	Rate   float64 `json:"rate"` // reads per second as the detector estimates
}

// Event is something that happened: an operator action, a node going
// down or up, a partition.
type Event struct {
	TimeMs int64  `json:"time_ms"`
	Text   string `json:"text"`
}
