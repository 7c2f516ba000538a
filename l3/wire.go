package l3

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tiercache/tiercache/l2/store"
)

// The request kinds l3 registers on a federation endpoint. Package l3 owns
// kinds 0x30 to 0x3f.
const (
	KindGet        uint8 = 0x30
	KindFill       uint8 = 0x31
	KindInvalidate uint8 = 0x32
	KindRelease    uint8 = 0x33
)

// Wire format. Every request starts with the id of the node it is for (a
// region's handlers serve all the L3 nodes the region hosts), then:
//
//	get:        mode byte, key
//	fill:       token, version, expiries, key, value
//	invalidate: version, key
//	release:    token, key
//
// Every reply starts with a result byte: resultOK followed by the body, or
// an error code followed by its message. Bodies:
//
//	get:     status byte, version, expiries, token, wait ms, value
//	write:   status byte, version (fill, invalidate, and release, whose
//	         status is OK or NOLEASE)
//
// Integers are uvarints, byte strings a uvarint length then the bytes.
// Expiries travel relative to the sender's clock (a presence byte, then
// signed varint milliseconds from now), so regions need not agree on the
// time to the millisecond. Lengths are checked against what is left of the
// message before slicing, and nothing is copied: decoded keys and values
// alias the message.

const (
	resultOK uint8 = iota
	resultBadRequest
	resultTooLarge
	resultClosed
	resultUnknownNode
)

var resultErrors = map[uint8]error{
	resultBadRequest:  ErrBadRequest,
	resultTooLarge:    ErrTooLarge,
	resultClosed:      ErrClosed,
	resultUnknownNode: ErrUnknownNode,
}

// resultOf maps a node's error to its wire code.
func resultOf(err error) uint8 {
	for code, e := range resultErrors {
		if errors.Is(err, e) {
			return code
		}
	}
	return resultBadRequest
}

func appendBytes(b, s []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

const (
	hasHard = 1 << iota
	hasSoft
)

func appendExpiries(b []byte, it store.Item, now int64) []byte {
	var flags byte
	if it.ExpireAt != 0 {
		flags |= hasHard
	}
	if it.SoftExpireAt != 0 {
		flags |= hasSoft
	}
	b = append(b, flags)
	if it.ExpireAt != 0 {
		b = binary.AppendVarint(b, it.ExpireAt-now)
	}
	if it.SoftExpireAt != 0 {
		b = binary.AppendVarint(b, it.SoftExpireAt-now)
	}
	return b
}

// decoder reads a message; the first error sticks and later reads return
// zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", ErrMalformed, what)
	}
	d.b = nil
}

func (d *decoder) byte(what string) byte {
	if len(d.b) == 0 {
		d.fail(what)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint(what string) uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(what string) []byte {
	n := d.uvarint(what)
	if n > uint64(len(d.b)) {
		d.fail(what)
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) expiries(it *store.Item, now int64) {
	flags := d.byte("expiry flags")
	if flags&^(hasHard|hasSoft) != 0 {
		d.fail("expiry flags")
		return
	}
	if flags&hasHard != 0 {
		it.ExpireAt = nonZero(now + d.varint("hard expiry"))
	}
	if flags&hasSoft != 0 {
		it.SoftExpireAt = nonZero(now + d.varint("soft expiry"))
	}
}

// nonZero keeps an expiry that lands on 0 from reading as "none".
func nonZero(ms int64) int64 {
	if ms == 0 {
		return -1
	}
	return ms
}

// end reports the sticky error, or trailing bytes as malformed.
func (d *decoder) end() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(d.b))
	}
	return d.err
}

// Requests.

func appendGetRequest(b []byte, node string, req GetRequest) []byte {
	b = appendBytes(b, []byte(node))
	b = append(b, byte(req.Mode))
	return appendBytes(b, req.Key)
}

func decodeGetRequest(msg []byte) (node string, req GetRequest, err error) {
	d := decoder{b: msg}
	node = string(d.bytes("node"))
	req.Mode = Mode(d.byte("mode"))
	if req.Mode > ModeLease {
		d.fail("mode")
	}
	req.Key = d.bytes("key")
	return node, req, d.end()
}

func appendFillRequest(b []byte, node string, req FillRequest, now int64) []byte {
	b = appendBytes(b, []byte(node))
	b = binary.AppendUvarint(b, req.Token)
	b = binary.AppendUvarint(b, req.Item.Version)
	b = appendExpiries(b, req.Item, now)
	b = appendBytes(b, req.Key)
	return appendBytes(b, req.Item.Value)
}

func decodeFillRequest(msg []byte, now int64) (node string, req FillRequest, err error) {
	d := decoder{b: msg}
	node = string(d.bytes("node"))
	req.Token = d.uvarint("token")
	req.Item.Version = d.uvarint("version")
	d.expiries(&req.Item, now)
	req.Key = d.bytes("key")
	req.Item.Value = d.bytes("value")
	return node, req, d.end()
}

func appendKeyRequest(b []byte, node string, n uint64, key []byte) []byte {
	b = appendBytes(b, []byte(node))
	b = binary.AppendUvarint(b, n)
	return appendBytes(b, key)
}

// decodeKeyRequest decodes an invalidation (n is the version) or a
// release (n is the token).
func decodeKeyRequest(msg []byte) (node string, n uint64, key []byte, err error) {
	d := decoder{b: msg}
	node = string(d.bytes("node"))
	n = d.uvarint("number")
	key = d.bytes("key")
	return node, n, key, d.end()
}

// Replies.

func appendError(b []byte, err error) []byte {
	return appendBytes(append(b, resultOf(err)), []byte(err.Error()))
}

// decodeResult strips the result byte, turning an error reply into an
// error that wraps the package's sentinel.
func decodeResult(msg []byte) (*decoder, error) {
	d := &decoder{b: msg}
	code := d.byte("result")
	if code == resultOK || d.err != nil {
		return d, d.err
	}
	text := d.bytes("error")
	if err := d.end(); err != nil {
		return nil, err
	}
	sentinel, ok := resultErrors[code]
	if !ok {
		return nil, fmt.Errorf("%w: result %d", ErrMalformed, code)
	}
	return nil, fmt.Errorf("%w (remote: %s)", sentinel, text)
}

func (d *decoder) status() Status {
	s := Status(d.byte("status"))
	if s == 0 || s > StatusOlder {
		d.fail("status")
	}
	return s
}

func appendGetReply(b []byte, rep GetReply, now int64) []byte {
	b = append(b, resultOK, byte(rep.Status))
	b = binary.AppendUvarint(b, rep.Item.Version)
	b = appendExpiries(b, rep.Item, now)
	b = binary.AppendUvarint(b, rep.Token)
	b = binary.AppendUvarint(b, uint64(max(rep.WaitMs, 0)))
	return appendBytes(b, rep.Item.Value)
}

func decodeGetReply(msg []byte, now int64) (GetReply, error) {
	d, err := decodeResult(msg)
	if err != nil {
		return GetReply{}, err
	}
	var rep GetReply
	rep.Status = d.status()
	rep.Item.Version = d.uvarint("version")
	d.expiries(&rep.Item, now)
	rep.Token = d.uvarint("token")
	rep.WaitMs = int64(min(d.uvarint("wait"), 1<<31))
	rep.Item.Value = d.bytes("value")
	if rep.Status != StatusHit && rep.Status != StatusStale {
		rep.Item = store.Item{}
	}
	return rep, d.end()
}

func appendWriteReply(b []byte, rep WriteReply) []byte {
	return binary.AppendUvarint(append(b, resultOK, byte(rep.Status)), rep.Version)
}

func decodeWriteReply(msg []byte) (WriteReply, error) {
	d, err := decodeResult(msg)
	if err != nil {
		return WriteReply{}, err
	}
	rep := WriteReply{Status: d.status(), Version: d.uvarint("version")}
	return rep, d.end()
}
