package l3

import (
	"encoding/binary"
	"errors"

	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l2/store"
)

// Sticky reads between regions (l2/global_sticky.go): an L2 owner whose
// copy is older than a session's write asks the writer's region for the
// key at a minimum version; that region reads its own L2 owner. The codec
// lives here, below both users: the in-process assembly (package
// federated) and the region gateways (l3/gateway). The request is a read,
// so it is idempotent and may ride 0-RTT.

// KindStickyRead is the federation request kind of a sticky read between
// regions. Kinds 0x30 to 0x3f are the L3 node's; 0x40 is this one.
const KindStickyRead uint8 = 0x40

// ErrStickyWire is a sticky read request or reply that does not decode.
var ErrStickyWire = errors.New("l3: malformed sticky read")

// Wire format, uvarints and byte strings as the rest of l3's:
//
//	request: min version, key (the rest of the message)
//	reply:   result byte (0 nothing, 1 value, 2 tombstone), version, then
//	         for a value: hard and soft expiry as signed varint ms from
//	         the sender's now (0: none), then the value (the rest)
//
// Expiries travel relative so the regions' clocks need not agree.
const (
	StickyNothing byte = iota
	StickyValue
	StickyTomb
)

// AppendStickyRequest encodes a sticky read of key at minVersion or newer.
func AppendStickyRequest(dst []byte, key []byte, minVersion uint64) []byte {
	dst = binary.AppendUvarint(dst, minVersion)
	return append(dst, key...)
}

// DecodeStickyRequest decodes a request; key aliases b. An empty key is
// ErrStickyWire.
func DecodeStickyRequest(b []byte) (key []byte, minVersion uint64, err error) {
	minVersion, n := binary.Uvarint(b)
	if n <= 0 || n == len(b) {
		return nil, 0, ErrStickyWire
	}
	return b[n:], minVersion, nil
}

// AppendStickyReply encodes what a region's owner holds, expiries made
// relative to now (unix ms).
func AppendStickyReply(dst []byte, rd l2.StickyRead, now int64) []byte {
	switch {
	case rd.Found:
		dst = append(dst, StickyValue)
		dst = binary.AppendUvarint(dst, rd.Item.Version)
		dst = binary.AppendVarint(dst, RelativeExpiry(rd.Item.ExpireAt, now))
		dst = binary.AppendVarint(dst, RelativeExpiry(rd.Item.SoftExpireAt, now))
		return append(dst, rd.Item.Value...)
	case rd.Tombstone != 0:
		return binary.AppendUvarint(append(dst, StickyTomb), rd.Tombstone)
	}
	return append(dst, StickyNothing)
}

// DecodeStickyReply decodes a reply, expiries made absolute from now (unix
// ms); the value aliases b.
func DecodeStickyReply(b []byte, now int64) (l2.StickyRead, error) {
	if len(b) == 0 {
		return l2.StickyRead{}, ErrStickyWire
	}
	kind, b := b[0], b[1:]
	if kind == StickyNothing {
		if len(b) != 0 {
			return l2.StickyRead{}, ErrStickyWire
		}
		return l2.StickyRead{}, nil
	}
	version, n := binary.Uvarint(b)
	if n <= 0 || version == 0 {
		return l2.StickyRead{}, ErrStickyWire
	}
	b = b[n:]
	switch kind {
	case StickyTomb:
		if len(b) != 0 {
			return l2.StickyRead{}, ErrStickyWire
		}
		return l2.StickyRead{Tombstone: version}, nil
	case StickyValue:
		var rel [2]int64
		for i := range rel {
			if rel[i], n = binary.Varint(b); n <= 0 {
				return l2.StickyRead{}, ErrStickyWire
			}
			b = b[n:]
		}
		it := store.Item{Version: version, ExpireAt: AbsoluteExpiry(rel[0], now), SoftExpireAt: AbsoluteExpiry(rel[1], now), Value: b}
		return l2.StickyRead{Found: true, Item: it}, nil
	}
	return l2.StickyRead{}, ErrStickyWire
}

// RelativeExpiry turns an absolute expiry (unix ms, 0: none) into ms from
// now, as the sticky read and the region gateway's messages carry it; one
// already due becomes 1 ms, so it is not mistaken for none.
func RelativeExpiry(at, now int64) int64 {
	if at == 0 {
		return 0
	}
	return max(at-now, 1)
}

// AbsoluteExpiry undoes RelativeExpiry against the receiver's now.
func AbsoluteExpiry(rel, now int64) int64 {
	if rel == 0 {
		return 0
	}
	return now + rel
}
