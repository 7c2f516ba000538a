package raftmeta

import (
	"fmt"

	"github.com/tiercache/tiercache/internal/hlc"
	"github.com/tiercache/tiercache/internal/keyspace"
)

// apply carries out one command whose preconditions (idempotency key,
// expected epoch or keyspace version) the FSM has checked. It reports
// whether anything changed; on error nothing did. Everything here must be
// deterministic: every member replays the same log into the same state.
func (st *state) apply(c *command) (bool, error) {
	switch c.Op {
	case opRegister:
		return st.register(c.Spec)
	case opSetLive:
		return st.setLive(c.Live), nil
	case opDrain:
		return st.drain(c.NodeID, c.Drain)
	case opSetWeight:
		return st.setWeight(c.NodeID, c.Weight)
	case opRemoveNode:
		if _, ok := st.Nodes[c.NodeID]; !ok {
			return false, fmt.Errorf("%w: %q", ErrUnknownNode, c.NodeID)
		}
		delete(st.Nodes, c.NodeID)
		return true, nil
	case opAddRegion:
		return st.addRegion(c.Region)
	case opSetKeyspace:
		return st.setKeyspace(c.Keyspace, c.Settings)
	case opDeleteKeyspace:
		return st.deleteKeyspace(c.Keyspace)
	case opSetMember:
		if c.Member == nil {
			return false, fmt.Errorf("%w: set_member without member", ErrInvalid)
		}
		if err := validName("member id", c.Member.ID); err != nil {
			return false, err
		}
		m := MemberInfo{ID: c.Member.ID, RaftAddress: c.Member.RaftAddress, HTTPAddress: c.Member.HTTPAddress}
		if st.Members[m.ID] == m {
			return false, nil
		}
		st.Members[m.ID] = m
		return true, nil
	case opRemoveMember:
		if _, ok := st.Members[c.NodeID]; !ok {
			return false, nil
		}
		delete(st.Members, c.NodeID)
		return true, nil
	case opSetRebalance:
		if c.Rebalance == nil {
			changed := st.Rebalance != nil
			st.Rebalance = nil
			return changed, nil
		}
		if err := c.Rebalance.Validate(); err != nil {
			return false, err
		}
		r := *c.Rebalance
		st.Rebalance = &r
		return true, nil
	case opReportRebalance:
		return st.reportRebalance(c.Report)
	case opRebalanceState:
		return st.setRebalanceState(c.Rebalance)
	default:
		return false, fmt.Errorf("%w: unknown command %q", ErrInvalid, c.Op)
	}
}

func (st *state) register(spec *NodeSpec) (bool, error) {
	if spec == nil {
		return false, fmt.Errorf("%w: register without node", ErrInvalid)
	}
	if err := spec.Validate(); err != nil {
		return false, err
	}
	changed := false
	if _, ok := st.Regions[spec.Region]; !ok {
		id, err := st.freeRegionID()
		if err != nil {
			return false, err
		}
		st.Regions[spec.Region] = Region{Name: spec.Region, ID: id}
		changed = true
	}
	weight := spec.Weight
	if weight == 0 {
		weight = DefaultWeight
	}
	old, known := st.Nodes[spec.ID]
	n := old
	n.ID, n.Region, n.Tier = spec.ID, spec.Region, spec.Tier
	n.Address, n.FederationAddress, n.Weight = spec.Address, spec.FederationAddress, weight
	if !known {
		// A new node is up at once; only a node that was marked down has
		// to prove itself steady before the manager marks it up again.
		n.State, n.StateEpoch = StateUp, st.Epoch+1
	}
	if known && n == old {
		return changed, nil
	}
	st.Nodes[n.ID] = n
	return true, nil
}

func (st *state) freeRegionID() (int, error) {
	used := make(map[int]bool, len(st.Regions))
	for _, r := range st.Regions {
		used[r.ID] = true
	}
	for id := 0; id <= hlc.MaxRegion; id++ {
		if !used[id] {
			return id, nil
		}
	}
	return 0, fmt.Errorf("%w: all %d ids taken", ErrRegionsFull, hlc.MaxRegion+1)
}

// setLive applies the cluster manager's verdicts. Unknown ids are skipped:
// the node may have been removed since the manager looked.
func (st *state) setLive(live map[string]bool) bool {
	changed := false
	for id, alive := range live {
		n, ok := st.Nodes[id]
		if !ok || n.Live() == alive {
			continue
		}
		n.State = liveState(alive, n.Drain)
		n.StateEpoch = st.Epoch + 1
		st.Nodes[id] = n
		changed = true
	}
	return changed
}

func liveState(alive, drain bool) NodeState {
	switch {
	case !alive:
		return StateDown
	case drain:
		return StateDraining
	default:
		return StateUp
	}
}

func (st *state) drain(id string, drain bool) (bool, error) {
	n, ok := st.Nodes[id]
	if !ok {
		return false, fmt.Errorf("%w: %q", ErrUnknownNode, id)
	}
	if n.Drain == drain {
		return false, nil
	}
	n.Drain = drain
	if s := liveState(n.Live(), drain); s != n.State {
		n.State, n.StateEpoch = s, st.Epoch+1
	}
	st.Nodes[id] = n
	return true, nil
}

func (st *state) setWeight(id string, w int) (bool, error) {
	if err := validWeight(w, false); err != nil {
		return false, err
	}
	n, ok := st.Nodes[id]
	if !ok {
		return false, fmt.Errorf("%w: %q", ErrUnknownNode, id)
	}
	if n.Weight == w {
		return false, nil
	}
	n.Weight = w
	st.Nodes[id] = n
	return true, nil
}

func (st *state) addRegion(r *Region) (bool, error) {
	if r == nil {
		return false, fmt.Errorf("%w: add_region without region", ErrInvalid)
	}
	if err := validName("region", r.Name); err != nil {
		return false, err
	}
	if err := validRegionID(r.ID); err != nil {
		return false, err
	}
	if old, ok := st.Regions[r.Name]; ok {
		if old.ID == r.ID {
			return false, nil
		}
		return false, fmt.Errorf("%w: region %q already has id %d", ErrRegionConflict, r.Name, old.ID)
	}
	for _, other := range st.Regions {
		if other.ID == r.ID {
			return false, fmt.Errorf("%w: id %d already belongs to region %q", ErrRegionConflict, r.ID, other.Name)
		}
	}
	st.Regions[r.Name] = *r
	return true, nil
}

func (st *state) setKeyspace(name string, s *keyspace.Settings) (bool, error) {
	if s == nil {
		return false, fmt.Errorf("%w: set_keyspace without settings", ErrInvalid)
	}
	if err := validName("keyspace", name); err != nil {
		return false, err
	}
	if err := s.Validate(); err != nil {
		return false, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if name == DefaultKeyspace {
		if st.Keyspaces.Default == *s {
			return false, nil
		}
		st.Keyspaces.Default = *s
		return true, nil
	}
	if old, ok := st.Keyspaces.Spaces[name]; ok && old == *s {
		return false, nil
	}
	st.Keyspaces.Spaces[name] = *s
	return true, nil
}

func (st *state) deleteKeyspace(name string) (bool, error) {
	if name == DefaultKeyspace {
		changed := st.Keyspaces.Default != keyspace.Settings{}
		st.Keyspaces.Default = keyspace.Settings{}
		return changed, nil
	}
	if _, ok := st.Keyspaces.Spaces[name]; !ok {
		return false, fmt.Errorf("%w: %q", ErrUnknownKeyspace, name)
	}
	delete(st.Keyspaces.Spaces, name)
	return true, nil
}

// fillNil makes the maps of a decoded state usable.
func (st *state) fillNil() {
	if st.Regions == nil {
		st.Regions = map[string]Region{}
	}
	if st.Nodes == nil {
		st.Nodes = map[string]Node{}
	}
	if st.Members == nil {
		st.Members = map[string]MemberInfo{}
	}
	if st.Keyspaces.Spaces == nil {
		st.Keyspaces.Spaces = map[string]keyspace.Settings{}
	}
}
