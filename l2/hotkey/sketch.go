package hotkey

import "sync/atomic"

// depth is the number of rows of the Count-Min sketch. An estimate is the
// smallest of the key's counters, so it overcounts only when every row
// collides with heavier keys; four rows make that rare at a width of 8/Fraction.
const depth = 4

// maxColBits keeps each row's column inside its own 16-bit slice of the key
// hash, so one 64-bit hash serves all four rows.
const maxColBits = 16

// sketch is a Count-Min sketch with two windows side by side: every cell
// holds the count of the current window and that of the one before, selected
// by the window's parity, so a key's two counts share a cache line and a
// rotation only clears the older half. Counters are atomics: Touch updates
// them from many goroutines without locks.
type sketch struct {
	cells   []atomic.Uint32 // [row][column][parity]
	colBits uint
	colMask uint64
}

func newSketch(colBits uint) *sketch {
	return &sketch{
		cells:   make([]atomic.Uint32, depth<<colBits<<1),
		colBits: colBits,
		colMask: 1<<colBits - 1,
	}
}

// cell returns the index of the row's cell pair for hash h.
func (s *sketch) cell(h uint64, row int) int {
	col := int(h >> (maxColBits * row) & s.colMask)
	return (row<<s.colBits | col) << 1
}

// add counts one occurrence of h in the window of parity cur and returns the
// key's estimated counts in that window and in the one before.
func (s *sketch) add(h uint64, cur uint32) (curCount, prevCount uint32) {
	curCount, prevCount = ^uint32(0), ^uint32(0)
	for row := range depth {
		i := s.cell(h, row)
		curCount = min(curCount, s.cells[i|int(cur)].Add(1))
		prevCount = min(prevCount, s.cells[i|int(cur^1)].Load())
	}
	return curCount, prevCount
}

// read returns h's estimated counts without counting it.
func (s *sketch) read(h uint64, cur uint32) (curCount, prevCount uint32) {
	curCount, prevCount = ^uint32(0), ^uint32(0)
	for row := range depth {
		i := s.cell(h, row)
		curCount = min(curCount, s.cells[i|int(cur)].Load())
		prevCount = min(prevCount, s.cells[i|int(cur^1)].Load())
	}
	return curCount, prevCount
}

// clear zeroes the window of the given parity.
func (s *sketch) clear(parity uint32) {
	for i := int(parity); i < len(s.cells); i += 2 {
		s.cells[i].Store(0)
	}
}

// total returns the number of occurrences counted in the window of the given
// parity: every occurrence adds one to exactly one cell of each row, so a
// row's sum is exact.
func (s *sketch) total(parity uint32) uint64 {
	var sum uint64
	for i := int(parity); i < 1<<s.colBits<<1; i += 2 {
		sum += uint64(s.cells[i].Load())
	}
	return sum
}
