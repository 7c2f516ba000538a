package gateway

import (
	"encoding/binary"
	"errors"

	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l2/store"
	"github.com/tiercache/tiercache/l3"
)

// The request kinds a gateway serves to its own region's L2 nodes. l3
// owns 0x30 to 0x3f and the sticky read between regions is 0x40; the
// gateway's are 0x50 to 0x53.
const (
	KindGet     uint8 = 0x50
	KindFill    uint8 = 0x51
	KindRelease uint8 = 0x52
	KindSticky  uint8 = 0x53
)

// ErrMalformed is a gateway request or reply that does not decode.
var ErrMalformed = errors.New("gateway: malformed message")

// Wire format. Integers are uvarints (signed varints for relative times),
// byte strings a uvarint length then the bytes, and the last string of a
// message is the rest of it:
//
//	get:     mode byte, key
//	  reply: status byte (l2.GlobalStatus), version, hard and soft expiry
//	         (signed ms from the sender's now, 0: none), token, wait ms,
//	         value
//	fill:    token, version, hard and soft expiry as above, key, value
//	  reply: empty (a refused fill is an error)
//	release: token, key
//	  reply: empty
//	sticky:  region, then an l3 sticky read request (l3/sticky_wire.go)
//	  reply: the l3 sticky read reply of that region, as it sent it
//
// Expiries travel relative (l3.RelativeExpiry), as in l3's sticky read, so
// a node and its gateway need not share a clock.

type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.bad = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)) {
		d.bad = true
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) err() error {
	if d.bad {
		return ErrMalformed
	}
	return nil
}

func appendGetRequest(dst []byte, key []byte, mode l2.GlobalMode) []byte {
	return append(append(dst, byte(mode)), key...)
}

func decodeGetRequest(b []byte) (key []byte, mode l2.GlobalMode, err error) {
	d := decoder{b: b}
	mode = l2.GlobalMode(d.byte())
	if d.bad || mode > l2.GlobalLease || len(d.b) == 0 {
		return nil, 0, ErrMalformed
	}
	return d.b, mode, nil
}

func appendGetReply(dst []byte, rep l2.GlobalReply, now int64) []byte {
	dst = append(dst, byte(rep.Status))
	dst = binary.AppendUvarint(dst, rep.Item.Version)
	dst = binary.AppendVarint(dst, l3.RelativeExpiry(rep.Item.ExpireAt, now))
	dst = binary.AppendVarint(dst, l3.RelativeExpiry(rep.Item.SoftExpireAt, now))
	dst = binary.AppendUvarint(dst, rep.Token)
	dst = binary.AppendVarint(dst, rep.WaitMs)
	return append(dst, rep.Item.Value...)
}

func decodeGetReply(b []byte, now int64) (l2.GlobalReply, error) {
	d := decoder{b: b}
	var rep l2.GlobalReply
	rep.Status = l2.GlobalStatus(d.byte())
	rep.Item.Version = d.uvarint()
	rep.Item.ExpireAt = l3.AbsoluteExpiry(d.varint(), now)
	rep.Item.SoftExpireAt = l3.AbsoluteExpiry(d.varint(), now)
	rep.Token = d.uvarint()
	rep.WaitMs = d.varint()
	if d.bad || rep.Status > l2.GlobalWait {
		return l2.GlobalReply{}, ErrMalformed
	}
	if len(d.b) > 0 {
		rep.Item.Value = d.b
	}
	return rep, nil
}

func appendFillRequest(dst []byte, key []byte, token uint64, it store.Item, now int64) []byte {
	dst = binary.AppendUvarint(dst, token)
	dst = binary.AppendUvarint(dst, it.Version)
	dst = binary.AppendVarint(dst, l3.RelativeExpiry(it.ExpireAt, now))
	dst = binary.AppendVarint(dst, l3.RelativeExpiry(it.SoftExpireAt, now))
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	return append(dst, it.Value...)
}

func decodeFillRequest(b []byte, now int64) (key []byte, token uint64, it store.Item, err error) {
	d := decoder{b: b}
	token = d.uvarint()
	it.Version = d.uvarint()
	it.ExpireAt = l3.AbsoluteExpiry(d.varint(), now)
	it.SoftExpireAt = l3.AbsoluteExpiry(d.varint(), now)
	key = d.bytes()
	if d.bad || len(key) == 0 || token == 0 || it.Version == 0 {
		return nil, 0, store.Item{}, ErrMalformed
	}
	it.Value = d.b
	return key, token, it, nil
}

func appendReleaseRequest(dst []byte, key []byte, token uint64) []byte {
	return append(binary.AppendUvarint(dst, token), key...)
}

func decodeReleaseRequest(b []byte) (key []byte, token uint64, err error) {
	d := decoder{b: b}
	token = d.uvarint()
	if d.bad || token == 0 || len(d.b) == 0 {
		return nil, 0, ErrMalformed
	}
	return d.b, token, nil
}

func appendStickyRequest(dst []byte, region string, inner []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(region)))
	return append(append(dst, region...), inner...)
}

func decodeStickyRequest(b []byte) (region string, inner []byte, err error) {
	d := decoder{b: b}
	r := d.bytes()
	if d.bad || len(r) == 0 || len(d.b) == 0 {
		return "", nil, ErrMalformed
	}
	return string(r), d.b, nil
}
