package federation

import (
	"encoding/binary"
	"fmt"
	"time"
)

// protocolVersion is carried in the hello; a peer speaking another version
// is refused rather than misread.
const protocolVersion = 1

// Reply statuses.
const (
	statusOK byte = iota
	statusError
	statusUnknownKind
	statusTooLarge
	statusClosing
)

// maxDigestBuckets bounds the digest exchange (65536 buckets = 512 KiB).
const maxDigestBuckets = 1 << 16

// minEntryLen is the smallest encoded change: flags, version, and one byte
// each for expiry, key length and value length. Counts are checked against
// it before a slice is allocated.
const minEntryLen = 1 + 8 + 1 + 1 + 1

const flagDelete = 1
const flagIdempotent = 1

// callHeader precedes a request body.
type callHeader struct {
	kind       uint8
	idempotent bool
	// timeout is the caller's remaining deadline, so the handler can stop
	// when nobody waits any more; 0 means none.
	timeout time.Duration
	// trace is the caller's span context (trace.go); zero when untraced.
	trace traceField
}

func appendCall(dst []byte, h callHeader, body []byte, limit int) ([]byte, error) {
	buf, start := beginFrame(dst, frameCall)
	var flags byte
	if h.idempotent {
		flags |= flagIdempotent
	}
	if h.trace.set {
		flags |= flagTrace
	}
	buf = append(buf, h.kind, flags)
	buf = binary.AppendUvarint(buf, uint64(h.timeout/time.Millisecond))
	buf = h.trace.append(buf)
	buf = append(buf, body...)
	return endFrame(buf, start, limit)
}

func decodeCall(p []byte) (callHeader, []byte, error) {
	d := decoder{b: p}
	h := callHeader{kind: d.byte()}
	flags := d.byte()
	h.idempotent = flags&flagIdempotent != 0
	ms := d.uvarint()
	if ms > uint64(24*time.Hour/time.Millisecond) {
		d.fail("call timeout %d ms", ms)
	}
	h.timeout = time.Duration(ms) * time.Millisecond
	if flags&flagTrace != 0 {
		h.trace = decodeTraceField(&d)
	}
	if d.err != nil {
		return callHeader{}, nil, d.err
	}
	return h, d.b, nil
}

func appendReply(dst []byte, status byte, body []byte, limit int) ([]byte, error) {
	buf, start := beginFrame(dst, frameReply)
	buf = append(buf, status)
	buf = append(buf, body...)
	return endFrame(buf, start, limit)
}

func decodeReply(p []byte) (status byte, body []byte, err error) {
	if len(p) == 0 {
		return 0, nil, fmt.Errorf("%w: empty reply", ErrMalformed)
	}
	return p[0], p[1:], nil
}

func appendHello(dst []byte, region string) []byte {
	p := binary.AppendUvarint([]byte{protocolVersion}, uint64(len(region)))
	return appendFrame(dst, frameHello, append(p, region...))
}

func decodeHello(p []byte) (string, error) {
	d := decoder{b: p}
	if v := d.byte(); d.err == nil && v != protocolVersion {
		return "", fmt.Errorf("%w: protocol version %d, want %d", ErrProtocol, v, protocolVersion)
	}
	region := d.bytes()
	if err := d.end(); err != nil {
		return "", err
	}
	return string(region), nil
}

// appendChanges encodes changes as one frame of type typ (frameChanges
// with the sequence number of the first change, or frameRepair with 0).
func appendChanges(dst []byte, typ byte, firstSeq uint64, changes []Change, limit int) ([]byte, error) {
	buf, start := beginFrame(dst, typ)
	buf = binary.AppendUvarint(buf, firstSeq)
	buf = binary.AppendUvarint(buf, uint64(len(changes)))
	for i := range changes {
		c := &changes[i]
		var flags byte
		if c.Delete {
			flags |= flagDelete
		}
		buf = append(buf, flags)
		buf = binary.BigEndian.AppendUint64(buf, c.Version)
		buf = binary.AppendVarint(buf, c.ExpireAt)
		buf = binary.AppendUvarint(buf, uint64(len(c.Key)))
		buf = append(buf, c.Key...)
		buf = binary.AppendUvarint(buf, uint64(len(c.Value)))
		buf = append(buf, c.Value...)
		if len(buf)-start > limit {
			break // endFrame reports it without encoding the rest
		}
	}
	return endFrame(buf, start, limit)
}

// decodeChanges decodes a frameChanges or frameRepair payload. Each
// change's key and value get their own allocation, so a Replica that keeps
// one value does not pin the whole frame.
func decodeChanges(p []byte) (firstSeq uint64, changes []Change, err error) {
	d := decoder{b: p}
	firstSeq = d.uvarint()
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)/minEntryLen) {
		d.fail("%d changes in %d bytes", n, len(d.b))
	}
	if d.err != nil {
		return 0, nil, d.err
	}
	changes = make([]Change, n)
	for i := range changes {
		c := &changes[i]
		flags := d.byte()
		c.Delete = flags&flagDelete != 0
		c.Version = d.u64()
		c.ExpireAt = d.varint()
		key := d.bytes()
		value := d.bytes()
		if d.err != nil {
			return 0, nil, d.err
		}
		kv := make([]byte, len(key)+len(value))
		copy(kv, key)
		copy(kv[len(key):], value)
		c.Key = kv[:len(key):len(key)]
		c.Value = kv[len(key):]
	}
	if err := d.end(); err != nil {
		return 0, nil, err
	}
	return firstSeq, changes, nil
}

func appendAck(dst []byte, seq uint64, appliedAt int64) []byte {
	p := binary.AppendUvarint(nil, seq)
	p = binary.AppendVarint(p, appliedAt)
	return appendFrame(dst, frameAck, p)
}

func decodeAck(p []byte) (seq uint64, appliedAt int64, err error) {
	d := decoder{b: p}
	seq = d.uvarint()
	appliedAt = d.varint()
	return seq, appliedAt, d.end()
}

func appendDigestReq(dst []byte, buckets int) []byte {
	return appendFrame(dst, frameDigestReq, binary.AppendUvarint(nil, uint64(buckets)))
}

func decodeDigestReq(p []byte) (int, error) {
	d := decoder{b: p}
	n := d.uvarint()
	if err := d.end(); err != nil {
		return 0, err
	}
	if n > maxDigestBuckets || !isPowerOfTwo(int(n)) {
		return 0, fmt.Errorf("%w: %d digest buckets", ErrMalformed, n)
	}
	return int(n), nil
}

func appendDigests(dst []byte, digests []uint64) []byte {
	p := binary.AppendUvarint(make([]byte, 0, 3+8*len(digests)), uint64(len(digests)))
	for _, v := range digests {
		p = binary.BigEndian.AppendUint64(p, v)
	}
	return appendFrame(dst, frameDigests, p)
}

func decodeDigests(p []byte) ([]uint64, error) {
	d := decoder{b: p}
	n := d.uvarint()
	if d.err == nil && (n > maxDigestBuckets || n*8 != uint64(len(d.b))) {
		d.fail("%d digests in %d bytes", n, len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = d.u64()
	}
	return out, d.end()
}

// decoder reads a payload front to back; the first error sticks and every
// later read returns zero, so callers check once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) u64() uint64 {
	if len(d.b) < 8 {
		d.fail("truncated")
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes reads a length-prefixed byte string, aliasing the payload.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("%d-byte field in %d bytes", n, len(d.b))
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// end reports a decoding error or trailing bytes.
func (d *decoder) end() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	return d.err
}
