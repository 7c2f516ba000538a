package raftmeta

import (
	"fmt"
	"net"
	"sort"

	"github.com/tiercache/tiercache/internal/hlc"
	"github.com/tiercache/tiercache/internal/keyspace"
)

// Tier says which cache tier a node serves.
type Tier string

// The tiers a node can serve.
const (
	TierL2 Tier = "l2" // a regional node
	TierL3 Tier = "l3" // a global-tier node
)

// NodeState is what routers may do with a node.
type NodeState string

// The node states.
const (
	StateUp       NodeState = "up"       // owns its ranges
	StateDown     NodeState = "down"     // its lease lapsed; routers skip it
	StateDraining NodeState = "draining" // alive but handing its ranges away
)

// DefaultWeight is a node's weight when it registers with none.
const DefaultWeight = 100

// MaxWeight bounds a node's weight so ring sizes stay sane.
const MaxWeight = 10000

// Region is a named region with the small integer id its versions carry.
type Region struct {
	Name string `json:"name"`
	ID   int    `json:"id"`
}

// Node is one cache node as routers see it.
type Node struct {
	ID                string    `json:"id"`
	Region            string    `json:"region"`
	Tier              Tier      `json:"tier"`
	Address           string    `json:"address"`
	FederationAddress string    `json:"federation_address,omitempty"`
	Weight            int       `json:"weight"`
	State             NodeState `json:"state"`
	// Drain is the operator's intent: the node is draining while alive and
	// stays drained across a down/up cycle until undrained.
	Drain bool `json:"drain,omitempty"`
	// StateEpoch is the epoch at which State last changed.
	StateEpoch uint64 `json:"state_epoch"`
}

// Live reports whether the node is alive (up or draining).
func (n Node) Live() bool { return n.State != StateDown }

// NodeSpec is what a node agent registers: the node's identity and
// addresses. State is the cluster manager's business, not the node's.
type NodeSpec struct {
	ID                string `json:"id"`
	Region            string `json:"region"`
	Tier              Tier   `json:"tier"`
	Address           string `json:"address"`
	FederationAddress string `json:"federation_address,omitempty"`
	// Weight defaults to DefaultWeight when zero.
	Weight int `json:"weight,omitempty"`
}

// Validate reports the first bad field, wrapping ErrInvalid.
func (s NodeSpec) Validate() error {
	if err := validName("node id", s.ID); err != nil {
		return err
	}
	if err := validName("region", s.Region); err != nil {
		return err
	}
	switch s.Tier {
	case TierL2, TierL3:
	default:
		return fmt.Errorf("%w: tier %q (want l2 or l3)", ErrInvalid, s.Tier)
	}
	if _, _, err := net.SplitHostPort(s.Address); err != nil {
		return fmt.Errorf("%w: address %q: want host:port", ErrInvalid, s.Address)
	}
	if s.FederationAddress != "" {
		if _, _, err := net.SplitHostPort(s.FederationAddress); err != nil {
			return fmt.Errorf("%w: federation_address %q: want host:port", ErrInvalid, s.FederationAddress)
		}
	}
	if err := validWeight(s.Weight, true); err != nil {
		return err
	}
	return nil
}

func validWeight(w int, zeroOK bool) error {
	if w < 0 || w > MaxWeight || (w == 0 && !zeroOK) {
		return fmt.Errorf("%w: weight %d (want 1..%d)", ErrInvalid, w, MaxWeight)
	}
	return nil
}

// validName accepts short printable names without spaces, slashes or
// colons, so they are safe in URL paths and in key prefixes.
func validName(what, s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("%w: %s %q (want 1..64 characters)", ErrInvalid, what, s)
	}
	for _, r := range s {
		if r <= ' ' || r > '~' || r == '/' || r == ':' || r == '?' || r == '#' || r == '%' {
			return fmt.Errorf("%w: %s %q has character %q", ErrInvalid, what, s, r)
		}
	}
	return nil
}

func validRegionID(id int) error {
	if id < 0 || id > hlc.MaxRegion {
		return fmt.Errorf("%w: region id %d (want 0..%d)", ErrInvalid, id, hlc.MaxRegion)
	}
	return nil
}

// Topology is everything a router needs, as of one epoch and one keyspace
// version. A Topology handed out by this package is never modified; treat
// it as read-only.
type Topology struct {
	// Epoch numbers the routing content (regions and nodes); it moves on
	// every change of them and never names two different contents.
	Epoch   uint64   `json:"epoch"`
	Regions []Region `json:"regions"` // sorted by id
	Nodes   []Node   `json:"nodes"`   // sorted by id
	// KeyspaceVersion numbers Keyspaces the way Epoch numbers the rest.
	KeyspaceVersion uint64         `json:"keyspace_version"`
	Keyspaces       keyspace.Table `json:"keyspaces"`
}

// Position is how far a reader has seen.
type Position struct {
	Epoch           uint64 `json:"epoch"`
	KeyspaceVersion uint64 `json:"keyspace_version"`
}

// Position returns the topology's epoch and keyspace version.
func (t *Topology) Position() Position {
	return Position{Epoch: t.Epoch, KeyspaceVersion: t.KeyspaceVersion}
}

// After reports whether p is strictly newer than q. Both counters only grow
// along the Raft log, so any member's position is ordered against another's.
func (p Position) After(q Position) bool {
	return p.Epoch >= q.Epoch && p.KeyspaceVersion >= q.KeyspaceVersion && p != q
}

// Node returns the node with id.
func (t *Topology) Node(id string) (Node, bool) {
	i := sort.Search(len(t.Nodes), func(i int) bool { return t.Nodes[i].ID >= id })
	if i < len(t.Nodes) && t.Nodes[i].ID == id {
		return t.Nodes[i], true
	}
	return Node{}, false
}

// Region returns the region called name.
func (t *Topology) Region(name string) (Region, bool) {
	for _, r := range t.Regions {
		if r.Name == name {
			return r, true
		}
	}
	return Region{}, false
}

// NodesIn returns the nodes of one region and tier, in id order; tier ""
// means any tier.
func (t *Topology) NodesIn(region string, tier Tier) []Node {
	var out []Node
	for _, n := range t.Nodes {
		if n.Region == region && (tier == "" || n.Tier == tier) {
			out = append(out, n)
		}
	}
	return out
}

// MemberInfo is one Raft member of the control plane.
type MemberInfo struct {
	ID          string `json:"id"`
	RaftAddress string `json:"raft_address"`
	HTTPAddress string `json:"http_address,omitempty"`
	// Voter and Leader are filled in by Status from the live Raft
	// configuration; they are not part of the replicated state.
	Voter  bool `json:"voter,omitempty"`
	Leader bool `json:"leader,omitempty"`
}

// Status is one member's view of the group.
type Status struct {
	Member          string `json:"member"`
	RaftState       string `json:"raft_state"`
	Leader          string `json:"leader"`
	LeaderHTTP      string `json:"leader_http,omitempty"`
	Term            uint64 `json:"term"`
	Epoch           uint64 `json:"epoch"`
	KeyspaceVersion uint64 `json:"keyspace_version"`
	CommitIndex     uint64 `json:"commit_index"`
	AppliedIndex    uint64 `json:"applied_index"`
	// HeldPolls is how many topology long polls (watchers) this member is
	// holding open.
	HeldPolls int64        `json:"held_polls"`
	Members   []MemberInfo `json:"members"`
}
