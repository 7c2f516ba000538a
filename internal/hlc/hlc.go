// Package hlc issues the 64-bit versions that order writes across regions: a
// hybrid logical clock (Kulkarni et al., 2014) whose timestamps stay close to
// physical time, never go backwards, and respect causality when a node folds
// in the versions it receives. The writing region sits in the low bits, so two
// regions can never issue the same version and last-writer-wins has a
// deterministic tie-break.
//
// Layout, high to low: 48 bits of unix milliseconds, 12 bits of logical
// counter, 4 bits of region id.
package hlc

import (
	"errors"
	"fmt"
	"sync"

	"github.com/tiercache/tiercache/internal/clock"
)

const (
	regionBits  = 4
	logicalBits = 12
	// MaxRegion is the largest region id a version can carry.
	MaxRegion   = 1<<regionBits - 1
	maxLogical  = 1<<logicalBits - 1
	physShift   = regionBits + logicalBits
	logicalMask = maxLogical << regionBits
)

// ErrRegionRange is returned for a region id that does not fit in a version.
var ErrRegionRange = errors.New("hlc: region id out of range")

// Version is a hybrid logical timestamp. Zero means "no version".
type Version = uint64

// Make builds a version from its parts.
func Make(millis int64, logical uint16, region uint8) Version {
	return uint64(millis)<<physShift | uint64(logical&maxLogical)<<regionBits | uint64(region&MaxRegion)
}

// Millis returns the physical part of v in unix milliseconds.
func Millis(v Version) int64 { return int64(v >> physShift) }

// Logical returns the logical counter of v.
func Logical(v Version) uint16 { return uint16((v & logicalMask) >> regionBits) }

// Region returns the id of the region that issued v.
func Region(v Version) uint8 { return uint8(v & MaxRegion) }

// Clock issues versions for one region. It is safe for concurrent use.
type Clock struct {
	region uint8
	wall   clock.Clock

	mu   sync.Mutex // protects last
	last Version
}

// New returns a Clock for region (0..MaxRegion) reading physical time from
// wall (nil means the system clock).
func New(region int, wall clock.Clock) (*Clock, error) {
	if region < 0 || region > MaxRegion {
		return nil, fmt.Errorf("%w: %d (want 0..%d)", ErrRegionRange, region, MaxRegion)
	}
	return &Clock{region: uint8(region), wall: clock.Or(wall)}, nil
}

// Now issues a version greater than every version this clock has issued or
// observed.
func (c *Clock) Now() Version {
	phys := clock.NowMillis(c.wall)
	c.mu.Lock()
	defer c.mu.Unlock()
	lastPhys, lastLog := Millis(c.last), Logical(c.last)
	var v Version
	switch {
	case phys > lastPhys:
		v = Make(phys, 0, c.region)
	case lastLog < maxLogical:
		v = Make(lastPhys, lastLog+1, c.region)
	default:
		// The logical counter is exhausted within this millisecond: borrow
		// the next millisecond rather than wrap, so order is kept.
		v = Make(lastPhys+1, 0, c.region)
	}
	c.last = v
	return v
}

// Observe folds a version seen from elsewhere into the clock, so every later
// Now is greater than it (the HLC receive rule).
func (c *Clock) Observe(v Version) {
	c.mu.Lock()
	if v > c.last {
		// Clear the region bits: the next Now stamps our own region.
		c.last = v &^ MaxRegion
	}
	c.mu.Unlock()
}
