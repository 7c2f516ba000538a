package l1

import "encoding/binary"

// Meta is what L1 keeps beside every value.
type Meta struct {
	// Version is the value's hybrid logical clock version (internal/hlc);
	// 0 means unversioned, which every versioned entry is newer than.
	Version uint64
	// SoftExpireAt is when the value turns stale, in unix milliseconds;
	// 0 means never. From then on Get still returns it, marked Stale.
	SoftExpireAt int64
	// HardExpireAt is when the value is gone, in unix milliseconds; 0 means
	// never. From then on Get misses and SetIfNewer ignores it.
	HardExpireAt int64
}

// Status says what Get found.
type Status uint8

// The results of a Get.
const (
	Miss  Status = iota // no value, or one past its hard expiry, or a tombstone
	Hit                 // a value before its soft expiry
	Stale               // a value past its soft expiry but not its hard one
)

func (s Status) String() string {
	switch s {
	case Miss:
		return "miss"
	case Hit:
		return "hit"
	case Stale:
		return "stale"
	}
	return "invalid"
}

// An entry is stored in fastcache as the value followed by a fixed trailer.
// A trailer rather than a header lets Get hand back the value by trimming
// the buffer fastcache appended into, with no copy.
//
// Trailer layout, little endian: version u64, soft expiry i64, hard expiry
// i64, kind u8.
const trailerSize = 8 + 8 + 8 + 1

// fastcacheOverhead is what fastcache adds to every entry: two 2-byte
// lengths. An entry must stay below one 64 KiB chunk.
const fastcacheOverhead = 4

// MaxEntryBytes is the largest len(key)+len(value) a write accepts: one
// fastcache chunk less fastcache's and L1's own per-entry bytes.
const MaxEntryBytes = 64<<10 - 1 - fastcacheOverhead - trailerSize

// kind tells a value from a tombstone, which only holds a version.
type kind uint8

const (
	kindValue kind = iota + 1
	kindTombstone
)

// appendEntry appends value and its trailer to dst.
func appendEntry(dst, value []byte, k kind, m Meta) []byte {
	dst = append(dst, value...)
	dst = binary.LittleEndian.AppendUint64(dst, m.Version)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(m.SoftExpireAt))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(m.HardExpireAt))
	return append(dst, byte(k))
}

// decodeEntry splits a stored entry into its value and trailer. ok is false
// for bytes too short to hold a trailer or of an unknown kind, which only a
// foreign writer to the fastcache could have stored.
func decodeEntry(e []byte) (value []byte, k kind, m Meta, ok bool) {
	n := len(e) - trailerSize
	if n < 0 {
		return nil, 0, Meta{}, false
	}
	t := e[n:]
	m.Version = binary.LittleEndian.Uint64(t[0:8])
	m.SoftExpireAt = int64(binary.LittleEndian.Uint64(t[8:16]))
	m.HardExpireAt = int64(binary.LittleEndian.Uint64(t[16:24]))
	k = kind(t[24])
	if k != kindValue && k != kindTombstone {
		return nil, 0, Meta{}, false
	}
	return e[:n], k, m, true
}

// expired reports whether an entry with meta m is gone at now (unix ms).
func (m Meta) expired(now int64) bool { return m.HardExpireAt != 0 && now >= m.HardExpireAt }

// stale reports whether an entry with meta m is past its soft expiry at now.
func (m Meta) stale(now int64) bool { return m.SoftExpireAt != 0 && now >= m.SoftExpireAt }
