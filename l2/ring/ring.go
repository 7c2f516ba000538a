// Package ring maps keys to nodes by consistent hashing, so that every
// client and node of a cluster that knows the same membership routes a key to
// the same owner, and a membership change moves only the keys it must.
//
// A Ring is immutable once built: callers build a new one when the topology's
// epoch moves and swap it in with an atomic.Pointer, so lookups take no locks
// and allocate nothing.
//
// The default placement cuts the hash space into a fixed number of equal
// partitions and gives each partition to the node that wins it by weighted
// rendezvous hashing: a node's share then errs by about sqrt(N/65536)
// (1.2% at 10 nodes) where 128 hashed virtual nodes per node err by about
// 1/sqrt(128) (8.8%), and a joining node still takes only its own share.
// Classic hashed virtual nodes remain available as PlacementHashed.
package ring

import (
	"cmp"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// Errors returned by New and Options.Validate.
var (
	// ErrNoNodes means the ring was asked to hold no nodes.
	ErrNoNodes = errors.New("ring: no nodes")
	// ErrEmptyID means a node has an empty ID.
	ErrEmptyID = errors.New("ring: empty node ID")
	// ErrDuplicateID means two nodes share an ID.
	ErrDuplicateID = errors.New("ring: duplicate node ID")
	// ErrNegativeWeight means a node has a weight below zero.
	ErrNegativeWeight = errors.New("ring: negative weight")
	// ErrTooLarge means the ring would need more points or candidates than
	// the limits below allow.
	ErrTooLarge = errors.New("ring: too large")
	// ErrInvalidOptions is wrapped by every Options.Validate error.
	ErrInvalidOptions = errors.New("ring: invalid options")
)

// Defaults and limits of Options.
const (
	DefaultVNodes     = 128
	DefaultPartitions = 1 << 16
	MaxPartitions     = 1 << 22
	// MaxTotalWeight bounds the sum of weights, which bounds the cost of a
	// rendezvous build (Partitions × total weight score evaluations).
	MaxTotalWeight = 1 << 16
	// MaxPoints bounds a hashed ring's VNodes × total weight.
	MaxPoints = 1 << 22
)

// Node is one member of the ring.
type Node struct {
	ID string
	// Weight is the node's share relative to the others: a node of weight 2
	// owns twice the hash space of a node of weight 1. Zero means 1.
	Weight int
}

// Placement says how the hash space is laid out among the nodes.
type Placement int

// The placements.
const (
	// PlacementRendezvous (the default) splits the hash space into
	// Options.Partitions equal arcs and gives each to the highest-scoring
	// node under weighted rendezvous hashing.
	PlacementRendezvous Placement = iota
	// PlacementHashed puts Options.VNodes points per unit of weight at hashed
	// positions; a key belongs to the node of the first point clockwise.
	PlacementHashed
)

// Options tune a Ring. The zero value means the documented defaults.
type Options struct {
	// VNodes is the number of points per unit of weight under
	// PlacementHashed (default 128). PlacementRendezvous ignores it.
	VNodes int
	// Hash maps a key to its position on the ring (default xxhash.Sum64).
	// It also derives node positions, so every process must use the same,
	// and Diff compares only rings built with the same Hash.
	Hash func([]byte) uint64
	// Placement chooses the layout (default PlacementRendezvous).
	Placement Placement
	// Partitions is the number of equal arcs under PlacementRendezvous, a
	// power of two (default 65536). More partitions spread load more evenly
	// (each node's share deviates by about sqrt(nodes/Partitions)) at the
	// price of build time (Partitions × total weight) and memory (4 bytes
	// each).
	Partitions int
}

// Validate reports whether o is usable.
func (o Options) Validate() error {
	if o.VNodes < 0 {
		return fmt.Errorf("%w: VNodes %d is negative", ErrInvalidOptions, o.VNodes)
	}
	if o.Placement != PlacementRendezvous && o.Placement != PlacementHashed {
		return fmt.Errorf("%w: unknown Placement %d", ErrInvalidOptions, o.Placement)
	}
	if p := o.Partitions; p != 0 && (p < 0 || p > MaxPartitions || p&(p-1) != 0) {
		return fmt.Errorf("%w: Partitions %d is not a power of two in 1..%d", ErrInvalidOptions, p, MaxPartitions)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.VNodes == 0 {
		o.VNodes = DefaultVNodes
	}
	if o.Hash == nil {
		o.Hash = xxhash.Sum64
	}
	if o.Partitions == 0 {
		o.Partitions = DefaultPartitions
	}
	return o
}

// Ring is an immutable key → node map. It is safe for concurrent use.
//
// The hash space is a circle of arcs: arc i holds the hashes h with
// ends[i-1] < h <= ends[i], and arc 0 wraps around from the last end.
// Adjacent arcs have different owners (runs are merged), except that the
// last and first arc may share one.
type Ring struct {
	nodes []Node   // sorted by ID, weights resolved
	ids   []string // ids[i] == nodes[i].ID, so lookups return without copying a Node
	ends  []uint64
	owner []uint32 // owner[i] indexes nodes for arc i
	// index[h>>shift] is the first arc whose end is at or after the start of
	// h's index bucket, so a lookup scans at most a few arcs.
	index []uint32
	shift uint
	hash  func([]byte) uint64
	// Under PlacementRendezvous, the candidates each partition was scored
	// over (grouped by node: node i's are cands[candEnd[i-1]:candEnd[i]])
	// and the shift from a hash to its partition, so Owners can rank the
	// nodes of a key's partition the way the placement did.
	cands   []uint64
	candEnd []int
	pshift  uint
}

// New builds a ring of nodes. The result does not depend on the order of
// nodes, so every process that knows the same membership builds the same
// ring.
func New(nodes []Node, opts Options) (*Ring, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if len(nodes) == 0 {
		return nil, ErrNoNodes
	}
	sorted := make([]Node, len(nodes))
	copy(sorted, nodes)
	slices.SortFunc(sorted, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	total := 0
	for i := range sorted {
		n := &sorted[i]
		switch {
		case n.ID == "":
			return nil, ErrEmptyID
		case i > 0 && sorted[i-1].ID == n.ID:
			return nil, fmt.Errorf("%w: %q", ErrDuplicateID, n.ID)
		case n.Weight < 0:
			return nil, fmt.Errorf("%w: node %q has weight %d", ErrNegativeWeight, n.ID, n.Weight)
		case n.Weight == 0:
			n.Weight = 1
		}
		if n.Weight > MaxTotalWeight-total {
			return nil, fmt.Errorf("%w: total weight over %d", ErrTooLarge, MaxTotalWeight)
		}
		total += n.Weight
	}
	r := &Ring{nodes: sorted, ids: make([]string, len(sorted)), hash: opts.Hash}
	for i, n := range sorted {
		r.ids[i] = n.ID
	}
	switch opts.Placement {
	case PlacementHashed:
		if opts.VNodes > MaxPoints/total {
			return nil, fmt.Errorf("%w: %d vnodes × total weight %d is over %d points", ErrTooLarge, opts.VNodes, total, MaxPoints)
		}
		r.placeHashed(opts.VNodes)
	default:
		r.placeRendezvous(opts.Partitions)
	}
	return r, nil
}

// Hash returns key's position on the ring.
func (r *Ring) Hash(key []byte) uint64 { return r.hash(key) }

// Owner returns the ID of the node that owns key.
func (r *Ring) Owner(key []byte) string { return r.ids[r.owner[r.arcOf(r.hash(key))]] }

// OwnerOfHash returns the ID of the node that owns hash position h.
func (r *Ring) OwnerOfHash(h uint64) string { return r.ids[r.owner[r.arcOf(h)]] }

// Owners appends to dst the owner of key and then its successors, n
// distinct nodes in all (or every node, if fewer). Under the default
// placement the successors are the other nodes in rendezvous rank order
// for the key's partition, so when the owner leaves the ring its first
// successor is exactly the new owner, and the second becomes the first:
// replicas placed on Owners[1:] already hold what a failover needs. Under
// PlacementHashed they are the next distinct owners clockwise, which may
// own part of the ring only. It allocates nothing when dst has room for n
// more.
func (r *Ring) Owners(key []byte, n int, dst []string) []string {
	return r.OwnersOfHash(r.hash(key), n, dst)
}

// OwnersOfHash is Owners for a hash position.
func (r *Ring) OwnersOfHash(h uint64, n int, dst []string) []string {
	n = min(n, len(r.ids))
	if r.cands != nil {
		return r.rankedOwners(h, n, dst)
	}
	base := len(dst)
	arc := r.arcOf(h)
	for range r.ends {
		if len(dst)-base >= n {
			break
		}
		id := r.ids[r.owner[arc]]
		if !slices.Contains(dst[base:], id) {
			dst = append(dst, id)
		}
		if arc++; arc == len(r.ends) {
			arc = 0
		}
	}
	return dst
}

// Nodes returns the ring's members sorted by ID, with zero weights shown as 1.
func (r *Ring) Nodes() []Node { return slices.Clone(r.nodes) }

// Len returns the number of nodes.
func (r *Ring) Len() int { return len(r.nodes) }

// arcOf returns the index of the arc holding h.
func (r *Ring) arcOf(h uint64) int {
	i := int(r.index[h>>r.shift])
	for i < len(r.ends) && r.ends[i] < h {
		i++
	}
	if i == len(r.ends) {
		return 0 // past the last end: the wrapping arc
	}
	return i
}

// buildIndex fills index with 2^bits buckets over the arcs in ends.
func (r *Ring) buildIndex(bucketBits uint) {
	r.shift = 64 - bucketBits
	r.index = make([]uint32, 1<<bucketBits)
	arc := 0
	for b := range r.index {
		start := uint64(b) << r.shift
		for arc < len(r.ends) && r.ends[arc] < start {
			arc++
		}
		r.index[b] = uint32(arc)
	}
}

// log2 returns the base-2 logarithm of a power of two.
func log2(n int) uint { return uint(bits.TrailingZeros64(uint64(n))) }

// ReduceWeights returns nodes with every weight divided by the weights'
// greatest common divisor (zero counting as 1). The shares are the same,
// and a rendezvous ring, whose build costs Partitions × total weight, is
// built that much faster: the control plane's default weight is 100. The
// placement depends on the weights as given, so every process routing
// one region must reduce them alike, or none must.
func ReduceWeights(nodes []Node) []Node {
	out := slices.Clone(nodes)
	g := 0
	for _, n := range out {
		g = gcd(g, max(n.Weight, 1))
	}
	for i := range out {
		out[i].Weight = max(out[i].Weight, 1) / max(g, 1)
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
