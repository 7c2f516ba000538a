package ring

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var placements = []struct {
	name string
	opts Options
}{
	{"rendezvous", Options{}},
	{"hashed", Options{Placement: PlacementHashed}},
}

func nodeIDs(n int) []Node {
	nodes := make([]Node, n)
	for i := range nodes {
		nodes[i] = Node{ID: fmt.Sprintf("node-%d", i)}
	}
	return nodes
}

func mustNew(t testing.TB, nodes []Node, opts Options) *Ring {
	t.Helper()
	r, err := New(nodes, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func TestNewRejectsBadInput(t *testing.T) {
	cases := []struct {
		name  string
		nodes []Node
		opts  Options
		want  error
	}{
		{"no nodes", nil, Options{}, ErrNoNodes},
		{"empty ID", []Node{{ID: "a"}, {ID: ""}}, Options{}, ErrEmptyID},
		{"duplicate ID", []Node{{ID: "a"}, {ID: "b"}, {ID: "a"}}, Options{}, ErrDuplicateID},
		{"negative weight", []Node{{ID: "a", Weight: -1}}, Options{}, ErrNegativeWeight},
		{"too heavy", []Node{{ID: "a", Weight: MaxTotalWeight}, {ID: "b"}}, Options{}, ErrTooLarge},
		{"too many points", []Node{{ID: "a", Weight: 100}}, Options{Placement: PlacementHashed, VNodes: MaxPoints}, ErrTooLarge},
		{"negative vnodes", []Node{{ID: "a"}}, Options{VNodes: -1}, ErrInvalidOptions},
		{"partitions not a power of two", []Node{{ID: "a"}}, Options{Partitions: 1000}, ErrInvalidOptions},
		{"partitions too many", []Node{{ID: "a"}}, Options{Partitions: 2 * MaxPartitions}, ErrInvalidOptions},
		{"unknown placement", []Node{{ID: "a"}}, Options{Placement: 7}, ErrInvalidOptions},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := New(c.nodes, c.opts)
			if !errors.Is(err, c.want) || r != nil {
				t.Fatalf("New = %v, %v; want error %v", r, err, c.want)
			}
		})
	}
}

func TestSameRingWhateverTheNodeOrder(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			nodes := nodeIDs(7)
			nodes[3].Weight = 3
			a := mustNew(t, nodes, p.opts)
			rng := rand.New(rand.NewPCG(1, 2))
			rng.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
			b := mustNew(t, nodes, p.opts)
			if moves := Diff(a, b); len(moves) != 0 {
				t.Fatalf("shuffled membership moved %d ranges, first %+v", len(moves), moves[0])
			}
			for i := range 10000 {
				key := []byte(strconv.Itoa(i))
				if a.Owner(key) != b.Owner(key) {
					t.Fatalf("key %q: owner %s vs %s", key, a.Owner(key), b.Owner(key))
				}
			}
		})
	}
}

func TestSingleNodeOwnsEverything(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			r := mustNew(t, []Node{{ID: "only"}}, p.opts)
			for _, h := range []uint64{0, 1, math.MaxUint64, 1 << 63} {
				if got := r.OwnerOfHash(h); got != "only" {
					t.Fatalf("OwnerOfHash(%#x) = %q", h, got)
				}
			}
			if got := r.Owners([]byte("k"), 3, nil); !slices.Equal(got, []string{"only"}) {
				t.Fatalf("Owners = %v", got)
			}
			rs := r.Ranges("only")
			if len(rs) != 1 || !rs[0].Contains(0) || !rs[0].Contains(math.MaxUint64) || !rs[0].Contains(12345) {
				t.Fatalf("Ranges = %+v, want one range holding everything", rs)
			}
		})
	}
}

func TestNodesAndLen(t *testing.T) {
	r := mustNew(t, []Node{{ID: "b", Weight: 2}, {ID: "a"}}, Options{})
	want := []Node{{ID: "a", Weight: 1}, {ID: "b", Weight: 2}}
	if got := r.Nodes(); !slices.Equal(got, want) || r.Len() != 2 {
		t.Fatalf("Nodes = %v, Len = %d; want %v, 2", got, r.Len(), want)
	}
	r.Nodes()[0].ID = "mutated"
	if r.Nodes()[0].ID != "a" {
		t.Fatal("Nodes exposes the ring's own slice")
	}
}

func TestOwnersAreDistinctAndStartWithOwner(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			r := mustNew(t, nodeIDs(5), p.opts)
			for _, n := range []int{0, 1, 2, 3, 5, 8} {
				for i := range 2000 {
					key := []byte("key:" + strconv.Itoa(i))
					prefix := []string{"keep"}
					got := r.Owners(key, n, prefix)
					if got[0] != "keep" {
						t.Fatal("Owners overwrote dst")
					}
					got = got[1:]
					if want := min(n, 5); len(got) != want {
						t.Fatalf("Owners(n=%d) returned %d nodes: %v", n, len(got), got)
					}
					if n > 0 && got[0] != r.Owner(key) {
						t.Fatalf("Owners starts with %s, Owner says %s", got[0], r.Owner(key))
					}
					seen := map[string]bool{}
					for _, id := range got {
						if seen[id] {
							t.Fatalf("Owners(n=%d) repeats %s: %v", n, id, got)
						}
						seen[id] = true
					}
				}
			}
		})
	}
}

func TestLookupsDoNotAllocate(t *testing.T) {
	r := mustNew(t, nodeIDs(10), Options{})
	key := []byte("user:42")
	dst := make([]string, 0, 3)
	allocs := testing.AllocsPerRun(100, func() {
		_ = r.Owner(key)
		dst = r.Owners(key, 3, dst[:0])
	})
	if allocs != 0 {
		t.Fatalf("lookups allocate %v times per run", allocs)
	}
}

// boundaryHashes returns random hashes plus arc ends of the rings (up to
// 5000 of each) and their neighbours, where off-by-one mistakes would show.
func boundaryHashes(seed uint64, rings ...*Ring) []uint64 {
	rng := rand.New(rand.NewPCG(seed, 0))
	hs := []uint64{0, 1, math.MaxUint64, math.MaxUint64 - 1}
	for range 20000 {
		hs = append(hs, rng.Uint64())
	}
	for _, r := range rings {
		stride := max(1, len(r.ends)/5000)
		for i := 0; i < len(r.ends); i += stride {
			e := r.ends[i]
			hs = append(hs, e-1, e, e+1)
		}
	}
	return hs
}

// sortedRanges holds disjoint ranges sorted by End, so the one holding a
// hash is found by binary search rather than by scanning them all.
type sortedRanges struct {
	ranges []Range
	tags   []string
}

// newSortedRanges fails the test unless ranges are pairwise disjoint.
func newSortedRanges(t *testing.T, ranges []Range, tags []string) sortedRanges {
	t.Helper()
	idx := make([]int, len(ranges))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(ranges[a].End, ranges[b].End) })
	s := sortedRanges{}
	for _, i := range idx {
		s.ranges = append(s.ranges, ranges[i])
		s.tags = append(s.tags, tags[i])
	}
	for k := 1; k < len(s.ranges); k++ {
		// Only the range with the lowest End may wrap, else two overlap.
		if rg := s.ranges[k]; rg.Start >= rg.End || rg.Start < s.ranges[k-1].End {
			t.Fatalf("ranges %+v and %+v overlap", s.ranges[k-1], rg)
		}
	}
	if n := len(s.ranges); n > 1 && s.ranges[0].Start >= s.ranges[0].End && s.ranges[0].Start < s.ranges[n-1].End {
		t.Fatalf("wrapping range %+v overlaps %+v", s.ranges[0], s.ranges[n-1])
	}
	return s
}

// find returns the index of the range holding h, or -1.
func (s sortedRanges) find(h uint64) int {
	i, _ := slices.BinarySearchFunc(s.ranges, h, func(rg Range, h uint64) int { return cmp.Compare(rg.End, h) })
	if i == len(s.ranges) {
		i = 0 // only a wrapping range can hold a hash past every End
	}
	if len(s.ranges) > 0 && s.ranges[i].Contains(h) {
		return i
	}
	return -1
}

func TestRangesCoverTheSpaceExactlyOnce(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			nodes := nodeIDs(6)
			nodes[0].Weight = 2
			r := mustNew(t, nodes, p.opts)
			var all []Range
			var owners []string
			var hi, lo uint64 // 128-bit sum of range sizes
			for _, n := range nodes {
				for _, rg := range r.Ranges(n.ID) {
					all = append(all, rg)
					owners = append(owners, n.ID)
					var carry uint64
					lo, carry = bits.Add64(lo, rg.End-rg.Start, 0)
					hi += carry
				}
			}
			if hi != 1 || lo != 0 {
				t.Fatalf("ranges add up to %d·2^64 + %d hashes, want exactly 2^64", hi, lo)
			}
			if got := r.Ranges("stranger"); got != nil {
				t.Fatalf("Ranges of a non-member = %v", got)
			}
			// Disjoint and adding up to the whole space means covering it
			// exactly once; the samples check each range names its owner.
			sorted := newSortedRanges(t, all, owners)
			for _, h := range boundaryHashes(3, r) {
				i := sorted.find(h)
				if i < 0 || sorted.tags[i] != r.OwnerOfHash(h) {
					t.Fatalf("hash %#x: range %d, owner %s", h, i, r.OwnerOfHash(h))
				}
			}
		})
	}
}

func TestRangeContains(t *testing.T) {
	cases := []struct {
		rg   Range
		h    uint64
		want bool
	}{
		{Range{10, 20}, 10, false},
		{Range{10, 20}, 11, true},
		{Range{10, 20}, 20, true},
		{Range{10, 20}, 21, false},
		{Range{20, 10}, 25, true},
		{Range{20, 10}, 0, true},
		{Range{20, 10}, 10, true},
		{Range{20, 10}, 15, false},
		{Range{20, 10}, 20, false},
		{Range{7, 7}, 7, true},
		{Range{7, 7}, 0, true},
	}
	for _, c := range cases {
		if got := c.rg.Contains(c.h); got != c.want {
			t.Errorf("%+v.Contains(%d) = %v, want %v", c.rg, c.h, got, c.want)
		}
	}
}

func TestDiffMatchesBruteForceOwnership(t *testing.T) {
	five, six := nodeIDs(5), nodeIDs(6)
	reweighed := nodeIDs(5)
	reweighed[2].Weight = 3
	changes := []struct {
		name     string
		old, new []Node
	}{
		{"join", five, six},
		{"leave", six, five},
		{"reweigh", five, reweighed},
		{"replace", nodeIDs(3), []Node{{ID: "node-0"}, {ID: "x"}, {ID: "y"}}},
		{"same", five, five},
	}
	for _, p := range placements {
		for _, c := range changes {
			t.Run(p.name+"/"+c.name, func(t *testing.T) {
				old, new := mustNew(t, c.old, p.opts), mustNew(t, c.new, p.opts)
				moves := Diff(old, new)
				if c.name == "same" && len(moves) != 0 {
					t.Fatalf("no change, yet %d moves", len(moves))
				}
				ranges, tags := make([]Range, len(moves)), make([]string, len(moves))
				for i, m := range moves {
					ranges[i], tags[i] = m.Range, m.From+"→"+m.To
				}
				sorted := newSortedRanges(t, ranges, tags)
				hashes := boundaryHashes(4, old, new)
				for _, m := range moves {
					hashes = append(hashes, m.Range.Start, m.Range.Start+1, m.Range.End, m.Range.End+1)
				}
				for _, h := range hashes {
					from, to := old.OwnerOfHash(h), new.OwnerOfHash(h)
					i := sorted.find(h)
					switch {
					case from == to && i >= 0:
						t.Fatalf("hash %#x keeps owner %s but is in move %s", h, from, sorted.tags[i])
					case from != to && (i < 0 || sorted.tags[i] != from+"→"+to):
						t.Fatalf("hash %#x moves %s→%s but Diff has move %d", h, from, to, i)
					}
				}
			})
		}
	}
}
