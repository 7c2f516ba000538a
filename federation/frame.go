package federation

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Every stream carries frames: a one-byte type, a four-byte big-endian
// payload length, then the payload. The length is checked against the
// reader's limit before the payload is allocated, so a peer cannot make us
// reserve memory by announcing a large frame.
const frameHeaderLen = 5

// Frame types. The first frame of a stream says what the stream is for.
const (
	frameHello     byte = 1  // stream opener: link hello (region name)
	frameCall      byte = 2  // stream opener: request
	frameReply     byte = 3  // reply to frameCall or frameHello
	frameChanges   byte = 4  // stream opener and body of the change stream
	frameAck       byte = 5  // receiver → sender on the change stream
	frameDigestReq byte = 6  // stream opener: anti-entropy pass
	frameDigests   byte = 7  // receiver's bucket digests
	frameRepair    byte = 8  // changes of differing buckets
	frameRepairEnd byte = 9  // end of repair; answered with frameAck
	frameError     byte = 10 // refusal, with a message; ends the stream
)

// Limits on frame payloads.
const (
	// DefaultMaxFrameBytes is the payload limit when Config leaves it zero.
	DefaultMaxFrameBytes = 4 << 20
	// MaxFrameBytesLimit is the largest limit a Config may set.
	MaxFrameBytesLimit = 64 << 20
)

// readFrame reads one frame from r. A payload longer than limit is refused
// with ErrFrameTooLarge before anything is allocated for it.
func readFrame(r io.Reader, limit int) (typ byte, payload []byte, err error) {
	var hdr [frameHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if uint64(n) > uint64(limit) {
		return hdr[0], nil, fmt.Errorf("%w: %d-byte payload of frame type %d, limit %d", ErrFrameTooLarge, n, hdr[0], limit)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return hdr[0], nil, err
	}
	return hdr[0], payload, nil
}

// appendFrame appends a frame with the given payload to dst.
func appendFrame(dst []byte, typ byte, payload []byte) []byte {
	dst = append(dst, typ, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(dst[len(dst)-4:], uint32(len(payload)))
	return append(dst, payload...)
}

// beginFrame appends a frame header whose length is filled in by
// endFrame, so a payload can be encoded in place.
func beginFrame(dst []byte, typ byte) (buf []byte, start int) {
	dst = append(dst, typ, 0, 0, 0, 0)
	return dst, len(dst)
}

// endFrame fills in the length of the frame begun at start, refusing a
// payload over limit.
func endFrame(buf []byte, start, limit int) ([]byte, error) {
	n := len(buf) - start
	if n > limit {
		return nil, fmt.Errorf("%w: %d-byte payload of frame type %d, limit %d", ErrFrameTooLarge, n, buf[start-frameHeaderLen], limit)
	}
	binary.BigEndian.PutUint32(buf[start-4:start], uint32(n))
	return buf, nil
}
