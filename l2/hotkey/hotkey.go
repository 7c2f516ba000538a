// Package hotkey finds the keys that carry an outsized share of an L2 node's
// reads, so the node can tell clients to keep them in their in-process L1 for
// a short while instead of all hammering the one node that owns them.
//
// A Detector counts every read in a Count-Min sketch (Cormode and
// Muthukrishnan) over a sliding window and flags a key whose estimated count
// passes both a fraction of the node's reads in the same window and an
// absolute floor, so an idle node flags nothing. The keys it flags are kept
// in a small table for Top, with the coolest evicted first when it is full,
// as in Space-Saving (Metwally et al., 2005).
//
// Touch, IsHot and Top are safe for concurrent use and Touch takes no locks.
// Windows advance only when the owner calls Tick: reading the clock on every
// Touch would cost more than the rest of Touch put together.
package hotkey

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/tiercache/tiercache/internal/clock"
)

// ErrInvalidConfig is wrapped by every Config.Validate error.
var ErrInvalidConfig = errors.New("hotkey: invalid config")

// Defaults and limits of Config.
const (
	DefaultWindow   = time.Second
	DefaultFraction = 0.001
	DefaultMinCount = 50
	MaxWindow       = time.Hour
	MinWindow       = time.Millisecond
	MaxTopK         = 1 << 16
	// defaultTopKCap bounds the default TopK when Fraction is tiny.
	defaultTopKCap = 4096
)

// Config tunes a Detector. The zero value means the documented defaults.
type Config struct {
	// Window is the span a key's rate is measured over (default 1s). The
	// previous window still counts, fading linearly as the current one
	// passes, so a key that stops being read cools within two windows.
	Window time.Duration
	// Fraction is the share of the node's reads in the window above which a
	// key is hot, in (0, 1] (default 0.001). At most 1/Fraction keys can be
	// hot at once, which bounds what flagging costs the clients' L1s. Under
	// a Zipf(1.1) workload over a million keys, 1/1000 flags the top ~80
	// keys, which carry about half of the reads; going lower adds keys that
	// each take little load off the node.
	Fraction float64
	// MinCount is the least number of reads in a window for a key to be hot
	// whatever its share (default 50), so a quiet node flags nothing: its
	// busiest key is no burden worth serving stale copies for.
	MinCount uint32
	// TopK is how many hot keys Top can report (default 1/Fraction, at most
	// 4096): enough for every key that can pass Fraction at once.
	TopK int
	// Clock is read by Tick (default clock.System).
	Clock clock.Clock
}

// Validate reports whether c is usable.
func (c Config) Validate() error {
	switch {
	case c.Window != 0 && (c.Window < MinWindow || c.Window > MaxWindow):
		return fmt.Errorf("%w: Window %v is outside %v..%v", ErrInvalidConfig, c.Window, MinWindow, MaxWindow)
	case !(c.Fraction >= 0 && c.Fraction <= 1): // also catches NaN
		return fmt.Errorf("%w: Fraction %v is outside (0, 1]", ErrInvalidConfig, c.Fraction)
	case c.TopK < 0 || c.TopK > MaxTopK:
		return fmt.Errorf("%w: TopK %d is outside 0..%d", ErrInvalidConfig, c.TopK, MaxTopK)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Fraction == 0 {
		c.Fraction = DefaultFraction
	}
	if c.MinCount == 0 {
		c.MinCount = DefaultMinCount
	}
	if c.TopK == 0 {
		c.TopK = int(min(math.Ceil(1/c.Fraction), defaultTopKCap))
	}
	c.Clock = clock.Or(c.Clock)
	return c
}

// keepOne is the fixed-point 1.0 of the previous window's weight.
const (
	keepShift = 16
	keepOne   = 1 << keepShift
)

// Entry is a hot key and its estimated reads over the last window.
type Entry struct {
	Key   string
	Count uint64
}

// Detector flags hot keys. Create it with New.
type Detector struct {
	cfg    Config
	start  time.Time // window 0 begins here
	sketch *sketch

	// window tells Touch which half of the sketch is current (bit 0) and
	// how much of the previous window still counts, in 1/keepOne (the rest).
	window atomic.Uint64
	// threshold is the count at or above which a key is hot.
	threshold atomic.Uint64

	tickMu sync.Mutex // serializes Tick
	epoch  int64      // guarded by tickMu: the current window's number

	top *topKeys
}

// New returns a Detector whose first window starts now.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	// A row 8/Fraction wide puts about an eighth of the threshold of other
	// keys' counts into each of a key's cells; the minimum of four such
	// cells rarely lifts a cool key over the line.
	colBits := uint(bits.Len64(uint64(math.Ceil(8/cfg.Fraction)) - 1))
	colBits = min(max(colBits, 10), maxColBits)
	d := &Detector{
		cfg:    cfg,
		start:  cfg.Clock.Now(),
		sketch: newSketch(colBits),
	}
	d.top = newTopKeys(cfg.TopK, d.estimate)
	d.window.Store(keepOne << 1)
	d.threshold.Store(uint64(cfg.MinCount))
	return d, nil
}

// Touch counts one read of key and reports whether key is hot. It takes no
// locks and allocates only the first time a key is found hot.
func (d *Detector) Touch(key []byte) (hot bool) {
	h := xxhash.Sum64(key)
	w := d.window.Load()
	cur, prev := d.sketch.add(h, uint32(w&1))
	count := uint64(cur) + uint64(prev)*(w>>1)>>keepShift
	if count < d.threshold.Load() {
		return false
	}
	d.top.remember(h, key, count)
	return true
}

// IsHot reports whether key is hot, without counting a read.
func (d *Detector) IsHot(key []byte) bool {
	return d.estimate(xxhash.Sum64(key)) >= d.threshold.Load()
}

// estimate returns the sliding-window count of the key hashing to h.
func (d *Detector) estimate(h uint64) uint64 {
	w := d.window.Load()
	cur, prev := d.sketch.read(h, uint32(w&1))
	return uint64(cur) + uint64(prev)*(w>>1)>>keepShift
}

// Threshold returns the count at or above which a key is currently hot.
func (d *Detector) Threshold() uint64 { return d.threshold.Load() }

// Top returns up to n hot keys, hottest first, from the TopK it remembers.
// When more keys than TopK are hot, the hottest displace the coolest a few
// times per tick, so Top may lag a burst of new hot keys by a tick.
func (d *Detector) Top(n int) []Entry { return d.top.top(n, d.threshold.Load()) }

// Tick reads the clock, moves to a new window when one has begun, and
// recomputes the threshold from the node's reads. The owner calls it from
// its own maintenance loop, ideally every Window/10 or more often: between
// calls the previous window's weight and the threshold stand still. Tick
// costs tens of microseconds (it sums a row of the sketch) and never blocks
// Touch.
func (d *Detector) Tick() {
	d.tickMu.Lock()
	defer d.tickMu.Unlock()
	elapsed := max(d.cfg.Clock.Now().Sub(d.start), 0)
	epoch := int64(elapsed / d.cfg.Window)
	if epoch < d.epoch {
		return // the clock went back; wait for it to catch up
	}
	into := float64(elapsed%d.cfg.Window) / float64(d.cfg.Window)
	keep := uint64(math.Round((1 - into) * keepOne))
	parity := uint32(epoch & 1)
	switch epoch - d.epoch {
	case 0:
	case 1:
		// The new window's half still holds the window before last.
		d.sketch.clear(parity)
	default:
		// Whole windows passed without a Tick: both halves are stale.
		d.sketch.clear(parity)
		d.sketch.clear(parity ^ 1)
	}
	d.epoch = epoch
	d.window.Store(keep<<1 | uint64(parity))

	// The node's reads are weighed the way a key's are, so the threshold
	// is a true share of the same sliding window.
	total := d.sketch.total(parity) + d.sketch.total(parity^1)*keep>>keepShift
	threshold := max(uint64(d.cfg.MinCount), uint64(math.Ceil(d.cfg.Fraction*float64(total))))
	d.threshold.Store(threshold)
	d.top.prune(threshold)
}
