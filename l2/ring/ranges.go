package ring

// Range is a stretch of the hash space: the hashes h with Start < h <= End,
// wrapping around zero when Start >= End (so Start == End is the whole
// space).
type Range struct {
	Start, End uint64
}

// Contains reports whether h lies in rg.
func (rg Range) Contains(h uint64) bool {
	if rg.Start < rg.End {
		return rg.Start < h && h <= rg.End
	}
	return h > rg.Start || h <= rg.End
}

// Ranges returns the ranges where id is the primary owner, clockwise from
// hash 0, or nil if id owns nothing. The
// ranges of all nodes together cover the hash space exactly once.
func (r *Ring) Ranges(id string) []Range {
	var out []Range
	for i, o := range r.owner {
		if r.ids[o] == id {
			out = append(out, r.arcRange(i))
		}
	}
	return out
}

// arcRange returns arc i as a Range.
func (r *Ring) arcRange(i int) Range {
	prev := i - 1
	if prev < 0 {
		prev = len(r.ends) - 1
	}
	return Range{Start: r.ends[prev], End: r.ends[i]}
}

// Move is a range whose primary owner changes from From to To.
type Move struct {
	Range    Range
	From, To string
}

// Diff returns the ranges whose primary owner differs between old and new,
// in clockwise order, adjacent ranges with the same From and To merged. It is
// what a rebalancer hands out as migration work.
func Diff(old, new *Ring) []Move {
	// Walk the union of both rings' arc ends. Each stretch between two
	// consecutive ends lies inside one arc of each ring. Past its last end a
	// ring is in its wrapping arc 0, which is also where both start.
	var moves []Move
	i, j := 0, 0
	start := max(old.ends[len(old.ends)-1], new.ends[len(new.ends)-1])
	for i < len(old.ends) || j < len(new.ends) {
		oi, nj := i%len(old.ends), j%len(new.ends)
		var end uint64
		switch {
		case i == len(old.ends):
			end = new.ends[j]
		case j == len(new.ends):
			end = old.ends[i]
		default:
			end = min(old.ends[i], new.ends[j])
		}
		from, to := old.ids[old.owner[oi]], new.ids[new.owner[nj]]
		if from != to {
			if n := len(moves); n > 0 && moves[n-1].Range.End == start && moves[n-1].From == from && moves[n-1].To == to {
				moves[n-1].Range.End = end
			} else {
				moves = append(moves, Move{Range: Range{Start: start, End: end}, From: from, To: to})
			}
		}
		if i < len(old.ends) && old.ends[i] == end {
			i++
		}
		if j < len(new.ends) && new.ends[j] == end {
			j++
		}
		start = end
	}
	return moves
}
