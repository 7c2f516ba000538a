package federated

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l2/store"
)

// Sticky reads between regions (l2/global_sticky.go): an L2 owner whose
// copy is older than a session's write asks the writer's region for the
// key over the federation link; that region's handler reads its own L2
// owner. The request is a read, so it is idempotent and may ride 0-RTT.

// KindStickyRead is the federation request kind of a sticky read. Kinds
// 0x30 to 0x3f are l3's; 0x40 is this assembly's.
const KindStickyRead uint8 = 0x40

// ErrStickyWire is a sticky read request or reply that does not decode.
var ErrStickyWire = errors.New("federated: malformed sticky read")

// Wire format, uvarints and byte strings as l3's:
//
//	request: min version, key (the rest of the message)
//	reply:   result byte (0 nothing, 1 value, 2 tombstone), version, then
//	         for a value: hard and soft expiry as signed varint ms from
//	         the sender's now (0: none), then the value (the rest)
//
// Expiries travel relative so the regions' clocks need not agree.
const (
	stickyNothing byte = iota
	stickyValue
	stickyTomb
)

// stickyReader is an L2 node's l2.StickyReader over its region's endpoint.
type stickyReader struct{ ep *federation.Endpoint }

func (s stickyReader) ReadSticky(ctx context.Context, region string, key []byte, minVersion uint64) (l2.StickyRead, error) {
	l, ok := s.ep.Link(region)
	if !ok {
		return l2.StickyRead{}, fmt.Errorf("%w: %q", ErrUnknownRegion, region)
	}
	req := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(key)), minVersion)
	resp, err := l.Call(ctx, KindStickyRead, append(req, key...), true)
	if err != nil {
		return l2.StickyRead{}, err
	}
	return decodeStickyReply(resp, time.Now().UnixMilli())
}

// serveSticky is a region's handler: it reads the key's L2 owner.
func serveSticky(r *Region) federation.Handler {
	return federation.HandlerFunc(func(_ context.Context, req []byte) ([]byte, error) {
		minVersion, n := binary.Uvarint(req)
		if n <= 0 || n == len(req) {
			return nil, ErrStickyWire
		}
		key := req[n:]
		return encodeStickyReply(r.Owner(key).ReadSticky(key, minVersion), time.Now().UnixMilli()), nil
	})
}

func encodeStickyReply(rd l2.StickyRead, now int64) []byte {
	switch {
	case rd.Found:
		b := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(rd.Item.Value))
		b = append(b, stickyValue)
		b = binary.AppendUvarint(b, rd.Item.Version)
		b = binary.AppendVarint(b, relative(rd.Item.ExpireAt, now))
		b = binary.AppendVarint(b, relative(rd.Item.SoftExpireAt, now))
		return append(b, rd.Item.Value...)
	case rd.Tombstone != 0:
		return binary.AppendUvarint([]byte{stickyTomb}, rd.Tombstone)
	}
	return []byte{stickyNothing}
}

func decodeStickyReply(b []byte, now int64) (l2.StickyRead, error) {
	if len(b) == 0 {
		return l2.StickyRead{}, ErrStickyWire
	}
	kind, b := b[0], b[1:]
	if kind == stickyNothing {
		return l2.StickyRead{}, nil
	}
	version, n := binary.Uvarint(b)
	if n <= 0 || version == 0 {
		return l2.StickyRead{}, ErrStickyWire
	}
	b = b[n:]
	switch kind {
	case stickyTomb:
		return l2.StickyRead{Tombstone: version}, nil
	case stickyValue:
		var rel [2]int64
		for i := range rel {
			if rel[i], n = binary.Varint(b); n <= 0 {
				return l2.StickyRead{}, ErrStickyWire
			}
			b = b[n:]
		}
		it := store.Item{Version: version, ExpireAt: absolute(rel[0], now), SoftExpireAt: absolute(rel[1], now), Value: b}
		return l2.StickyRead{Found: true, Item: it}, nil
	}
	return l2.StickyRead{}, ErrStickyWire
}

// relative turns an absolute expiry (0: none) into ms from now; one
// already due becomes 1 ms, so it is not mistaken for none.
func relative(at, now int64) int64 {
	if at == 0 {
		return 0
	}
	return max(at-now, 1)
}

func absolute(rel, now int64) int64 {
	if rel == 0 {
		return 0
	}
	return now + rel
}
