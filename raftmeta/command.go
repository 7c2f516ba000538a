package raftmeta

import (
	"encoding/json"
	"fmt"

	"github.com/tiercache/tiercache/internal/keyspace"
)

// op names one kind of replicated command.
type op string

// The commands. Topology commands (register, set_live, drain, set_weight,
// remove_node, add_region) must carry ExpectEpoch; keyspace commands must
// carry ExpectKeyspaceVersion. The FSM refuses them otherwise, which makes
// compare-and-set the only way to publish an epoch.
const (
	opRegister       op = "register"
	opSetLive        op = "set_live"
	opDrain          op = "drain"
	opSetWeight      op = "set_weight"
	opRemoveNode     op = "remove_node"
	opAddRegion      op = "add_region"
	opSetKeyspace    op = "set_keyspace"
	opDeleteKeyspace op = "delete_keyspace"
	opSetMember      op = "set_member"
	opRemoveMember   op = "remove_member"
	opSetRebalance   op = "set_rebalance"
	// opReportRebalance merges one node's progress into the record;
	// opRebalanceState sets only its state (pause, resume).
	opReportRebalance op = "report_rebalance"
	opRebalanceState  op = "rebalance_state"
)

func (o op) topology() bool {
	switch o {
	case opRegister, opSetLive, opDrain, opSetWeight, opRemoveNode, opAddRegion:
		return true
	}
	return false
}

func (o op) keyspaces() bool { return o == opSetKeyspace || o == opDeleteKeyspace }

// command is one Raft log entry, JSON-encoded. Only the fields its Op uses
// are set.
type command struct {
	Op op `json:"op"`
	// Key makes the command idempotent: a second command with a key the
	// FSM has already applied successfully returns the first result and
	// changes nothing.
	Key                   string  `json:"key,omitempty"`
	ExpectEpoch           *uint64 `json:"expect_epoch,omitempty"`
	ExpectKeyspaceVersion *uint64 `json:"expect_keyspace_version,omitempty"`

	Spec      *NodeSpec          `json:"spec,omitempty"`
	NodeID    string             `json:"node_id,omitempty"`
	Live      map[string]bool    `json:"live,omitempty"`
	Drain     bool               `json:"drain,omitempty"`
	Weight    int                `json:"weight,omitempty"`
	Region    *Region            `json:"region,omitempty"`
	Keyspace  string             `json:"keyspace,omitempty"`
	Settings  *keyspace.Settings `json:"settings,omitempty"`
	Member    *MemberInfo        `json:"member,omitempty"`
	Rebalance *Rebalance         `json:"rebalance,omitempty"`
	Report    *RebalanceReport   `json:"report,omitempty"`
}

func (c *command) encode() ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("raftmeta: encode command: %w", err)
	}
	return b, nil
}

func decodeCommand(b []byte) (*command, error) {
	var c command
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: decode command: %w", ErrInvalid, err)
	}
	return &c, nil
}

// applyResult is what FSM.Apply returns through the ApplyFuture on the
// member that proposed the command.
type applyResult struct {
	Epoch           uint64
	KeyspaceVersion uint64
	// Changed is false for a command that found nothing to change (or was a
	// duplicate of one already applied).
	Changed bool
	Err     error
}

// DefaultKeyspace is the keyspace name that addresses the table's default
// settings, the ones every keyspace without its own uses.
const DefaultKeyspace = "default"
