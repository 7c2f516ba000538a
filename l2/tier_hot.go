package l2

import (
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/l2/hotkey"
)

// hotTracker flags heavy hitters for TC.GET replies with an l2/hotkey
// Detector, advancing its windows from the read path (when a tenth of a
// window has passed since the last tick) so it needs no goroutine. The
// clock read this costs is small beside a network round trip, and it keeps
// an idle key from looking hot on its first read after a quiet spell.
//
// A client that keeps a hot key in L1 stops sending its reads here, so on
// its own the detector would see the key cool, the clients would drop it
// and the node would be hammered again until it heated up: a flap. The
// client therefore reports, with each fetch of such a key, the L1 hits it
// served since the last one (TC.GET HITS n), and the key stays hot while
// that demand reaches the detector's threshold. Those hits span several
// windows (a hot TTL), which is deliberate hysteresis: a key leaves L1 only
// once its demand falls well below the line that put it there.
type hotTracker struct {
	d        *hotkey.Detector
	clk      clock.Clock
	window   time.Duration
	lastTick atomic.Int64 // unix ns
}

func newHotTracker(clk clock.Clock) *hotTracker {
	// The zero Config is valid by hotkey's contract; were it refused, the
	// node would flag nothing rather than fail.
	d, _ := hotkey.New(hotkey.Config{Clock: clk})
	return &hotTracker{d: d, clk: clock.Or(clk), window: hotkey.DefaultWindow}
}

// touch counts a read of key, plus the L1 hits a client reports beyond
// it, and reports whether key is hot.
func (h *hotTracker) touch(key []byte, weight uint64) bool {
	if h.d == nil {
		return false
	}
	h.tickIfDue()
	if h.d.Touch(key) {
		return true
	}
	return weight > 1 && weight-1 >= h.d.Threshold()
}

// tickIfDue advances the detector's window when a tenth of one has passed
// since the last tick; of concurrent callers, one ticks.
func (h *hotTracker) tickIfDue() {
	now := h.clk.Now().UnixNano()
	if last := h.lastTick.Load(); now-last >= int64(h.window/10) && h.lastTick.CompareAndSwap(last, now) {
		h.d.Tick()
	}
}
