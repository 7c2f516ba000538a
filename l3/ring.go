package l3

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/tiercache/tiercache/l2/ring"
	"github.com/tiercache/tiercache/raftmeta"
)

// Member is one L3 node as routers see it.
type Member struct {
	// ID is the node's id; the ring places keys by it.
	ID string
	// Region is where the node runs: a Client reaches it over the
	// federation link to this region.
	Region string
	// Weight is the node's share relative to the others (0 means 1).
	// Weights are divided by their greatest common divisor before the
	// ring is built, so raftmeta's default of 100 costs nothing.
	Weight int
}

// Ring is the global tier's membership at one epoch: which L3 node owns
// each key. It is immutable; build a new one when the topology moves and
// hand it to every Node and Client of the process (SetRing).
type Ring struct {
	epoch   uint64
	members []Member // sorted by ID
	ring    *ring.Ring
}

// NewRing builds the ring of members at epoch. The result does not depend
// on the order of members, so every region that knows the same membership
// routes every key to the same owner.
func NewRing(epoch uint64, members []Member) (*Ring, error) {
	if len(members) == 0 {
		return nil, fmt.Errorf("%w: no members", ErrInvalidRing)
	}
	sorted := slices.Clone(members)
	slices.SortFunc(sorted, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
	g := 0
	for i := range sorted {
		m := &sorted[i]
		switch {
		case m.Region == "":
			return nil, fmt.Errorf("%w: member %q has no region", ErrInvalidRing, m.ID)
		case m.Weight < 0:
			return nil, fmt.Errorf("%w: member %q has weight %d", ErrInvalidRing, m.ID, m.Weight)
		case m.Weight == 0:
			m.Weight = 1
		}
		g = gcd(g, m.Weight)
	}
	nodes := make([]ring.Node, len(sorted))
	for i, m := range sorted {
		nodes[i] = ring.Node{ID: m.ID, Weight: m.Weight / g}
	}
	r, err := ring.New(nodes, ring.Options{})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRing, err)
	}
	return &Ring{epoch: epoch, members: sorted, ring: r}, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// RingFromTopology builds the ring of a raftmeta topology: its nodes of
// tier l3 whose state is up, at the topology's epoch. Draining and down
// nodes own nothing: the global tier does not migrate ranges, so a node
// leaving simply stops being asked and its keys are loaded again by their
// new owner. A topology with no such node is ErrInvalidRing.
func RingFromTopology(t *raftmeta.Topology) (*Ring, error) {
	var members []Member
	for _, n := range t.Nodes {
		if n.Tier == raftmeta.TierL3 && n.State == raftmeta.StateUp {
			members = append(members, Member{ID: n.ID, Region: n.Region, Weight: n.Weight})
		}
	}
	return NewRing(t.Epoch, members)
}

// Epoch returns the topology epoch the ring was built at.
func (r *Ring) Epoch() uint64 { return r.epoch }

// Members returns the ring's members sorted by ID, zero weights shown as 1.
func (r *Ring) Members() []Member { return slices.Clone(r.members) }

// Owner returns the member that owns key. It does not allocate.
func (r *Ring) Owner(key []byte) Member {
	id := r.ring.Owner(key)
	i, _ := slices.BinarySearchFunc(r.members, id, func(m Member, id string) int { return cmp.Compare(m.ID, id) })
	return r.members[i]
}
