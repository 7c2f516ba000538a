package l2

import (
	"math"

	"github.com/tiercache/tiercache/internal/clock"
)

// Argument parsing with Redis's rules and without allocating.

// parseInt64 parses a decimal integer the way Redis's string2ll does: an
// optional minus, no plus, no spaces, no leading zeros, no overflow.
func parseInt64(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (math.MaxUint64-9)/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// eqFold reports whether b equals the lower-case ASCII word, ignoring case.
func eqFold(b []byte, word string) bool {
	if len(b) != len(word) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != word[i] {
			return false
		}
	}
	return true
}

// nowMillis is the node's clock in unix milliseconds.
func (n *Node) nowMillis() int64 { return clock.NowMillis(n.cfg.Clock) }

// expireUnit says how an expire argument is read.
type expireUnit uint8

const (
	unitSeconds expireUnit = iota
	unitMillis
	unitUnixSeconds
	unitUnixMillis
)

// expireAt turns an expire argument into an absolute unix-ms time, with
// Redis's checks: ok is false for a non-integer (errNotInteger), valid is
// false for an overflow or, when positive is set, a value <= 0.
func expireAt(arg []byte, unit expireUnit, now int64, positive bool) (at int64, ok, valid bool) {
	v, ok := parseInt64(arg)
	if !ok {
		return 0, false, false
	}
	if positive && v <= 0 {
		return 0, true, false
	}
	if unit == unitSeconds || unit == unitUnixSeconds {
		if v > math.MaxInt64/1000 || v < math.MinInt64/1000 {
			return 0, true, false
		}
		v *= 1000
	}
	if unit == unitSeconds || unit == unitMillis {
		if (v > 0 && now > math.MaxInt64-v) || (v < 0 && now < math.MinInt64-v) {
			return 0, true, false
		}
		v += now
	}
	return v, true, true
}
