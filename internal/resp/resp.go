// Package resp reads Redis protocol (RESP2, and the RESP3 scalars a node
// may send) replies from a stream, for the tier client's connections to L2
// nodes. It reads one element at a time into buffers the caller owns, so a
// reply of known shape (a TC.GET's eight elements) is parsed with no
// allocation, and it bounds every length before reading the bytes behind
// it. Requests are encoded with redcon's Append functions.
package resp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Errors.
var (
	// ErrProtocol means the stream is not RESP or breaks a bound; the
	// connection cannot be used after it.
	ErrProtocol = errors.New("resp: protocol error")
	// ErrUnexpected means a well-formed reply of the wrong shape.
	ErrUnexpected = errors.New("resp: unexpected reply")
)

// ServerError is an error reply ("-CODE message").
type ServerError struct{ Msg string }

func (e *ServerError) Error() string { return e.Msg }

// Code returns the first word of the message ("ERR", "BUSY", "TCMOVED").
func (e *ServerError) Code() string {
	for i := 0; i < len(e.Msg); i++ {
		if e.Msg[i] == ' ' {
			return e.Msg[:i]
		}
	}
	return e.Msg
}

// Kind is the type of one element.
type Kind byte

// The element kinds.
const (
	Simple Kind = '+'
	Error  Kind = '-'
	Int    Kind = ':'
	Bulk   Kind = '$'
	Array  Kind = '*'
	Null   Kind = '_'
)

// DefaultMaxBulk bounds a bulk string when Reader.MaxBulk is zero.
const DefaultMaxBulk = 512 << 20

// maxArray bounds an array header.
const maxArray = 1 << 24

// Reader reads replies. It is not safe for concurrent use.
type Reader struct {
	br *bufio.Reader
	// scratch holds the text of elements the helpers parse and drop
	// (statuses, integers), so they need no buffer of the caller's.
	scratch []byte
	// MaxBulk refuses longer bulk strings (default DefaultMaxBulk).
	MaxBulk int
}

// NewReader returns a Reader over r with a buffer of size bytes.
func NewReader(r io.Reader, size int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, size), scratch: make([]byte, 0, 128)}
}

// Buffered reports how many bytes are buffered, unread.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// Next reads one element. For Simple and Error the text and for Bulk the
// body are appended to dst and returned as b; for Int, n is the integer;
// for Array, n is the element count (the elements follow); Null covers
// RESP2's null bulk and array and RESP3's null.
func (r *Reader) Next(dst []byte) (kind Kind, n int64, b []byte, err error) {
	line, err := r.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return 0, 0, dst, fmt.Errorf("%w: line over %d bytes", ErrProtocol, r.br.Size())
		}
		return 0, 0, dst, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return 0, 0, dst, fmt.Errorf("%w: malformed line", ErrProtocol)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+', '-':
		return Kind(line[0]), 0, append(dst, body...), nil
	case ',', '#', '(': // RESP3 double, boolean, big number: text
		return Simple, 0, append(dst, body...), nil
	case '_':
		return Null, 0, dst, nil
	case ':':
		n, err := parseInt(body)
		return Int, n, dst, err
	case '$':
		size, err := parseInt(body)
		if err != nil {
			return 0, 0, dst, err
		}
		if size == -1 {
			return Null, 0, dst, nil
		}
		limit := r.MaxBulk
		if limit == 0 {
			limit = DefaultMaxBulk
		}
		if size < 0 || size > int64(limit) {
			return 0, 0, dst, fmt.Errorf("%w: bulk length %d", ErrProtocol, size)
		}
		b, err := r.readBody(dst, int(size))
		return Bulk, size, b, err
	case '*', '~', '>':
		size, err := parseInt(body)
		if err != nil {
			return 0, 0, dst, err
		}
		if size == -1 {
			return Null, 0, dst, nil
		}
		if size < 0 || size > maxArray {
			return 0, 0, dst, fmt.Errorf("%w: array length %d", ErrProtocol, size)
		}
		return Array, size, dst, nil
	case '%':
		size, err := parseInt(body)
		if err != nil || size < 0 || size > maxArray/2 {
			return 0, 0, dst, fmt.Errorf("%w: map length", ErrProtocol)
		}
		return Array, 2 * size, dst, nil
	}
	return 0, 0, dst, fmt.Errorf("%w: type byte %q", ErrProtocol, line[0])
}

// readBody appends a bulk body of size bytes and consumes its CRLF.
func (r *Reader) readBody(dst []byte, size int) ([]byte, error) {
	start := len(dst)
	dst = grow(dst, size)
	if _, err := io.ReadFull(r.br, dst[start:start+size]); err != nil {
		return dst[:start], err
	}
	crlf, err := r.br.Peek(2)
	if err != nil {
		return dst[:start], err
	}
	if crlf[0] != '\r' || crlf[1] != '\n' {
		return dst[:start], fmt.Errorf("%w: bulk not followed by CRLF", ErrProtocol)
	}
	r.br.Discard(2)
	return dst, nil
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, len(b)+n+len(b)/4)
	copy(nb, b)
	return nb
}

// Skip reads and discards one whole element, nested arrays included.
func (r *Reader) Skip() error {
	kind, n, _, err := r.Next(r.scratch[:0])
	if err != nil {
		return err
	}
	if kind == Array {
		for range n {
			if err := r.Skip(); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadArrayHeader reads an array header and returns its length. An error
// reply is returned as a *ServerError.
func (r *Reader) ReadArrayHeader() (int, error) {
	kind, n, b, err := r.Next(r.scratch[:0])
	if err != nil {
		return 0, err
	}
	switch kind {
	case Array:
		return int(n), nil
	case Error:
		return 0, &ServerError{Msg: string(b)}
	}
	return 0, fmt.Errorf("%w: %c where an array was expected", ErrUnexpected, kind)
}

// ReadInt reads an integer element (an integer reply or a bulk holding
// digits).
func (r *Reader) ReadInt() (int64, error) {
	kind, n, b, err := r.Next(r.scratch[:0])
	if err != nil {
		return 0, err
	}
	switch kind {
	case Int:
		return n, nil
	case Bulk, Simple:
		return parseInt(b)
	case Error:
		return 0, &ServerError{Msg: string(b)}
	}
	return 0, fmt.Errorf("%w: %c where an integer was expected", ErrUnexpected, kind)
}

// ReadBytes reads a string element (simple or bulk) appending it to dst;
// null reads as nothing appended with isNull set. dst should be a heap
// buffer the caller keeps: a large body is read straight into it.
func (r *Reader) ReadBytes(dst []byte) (b []byte, isNull bool, err error) {
	kind, _, b, err := r.Next(dst)
	if err != nil {
		return dst, false, err
	}
	switch kind {
	case Simple, Bulk:
		return b, false, nil
	case Null:
		return b, true, nil
	case Error:
		return dst, false, &ServerError{Msg: string(b[len(dst):])}
	}
	return dst, false, fmt.Errorf("%w: %c where a string was expected", ErrUnexpected, kind)
}

// ReadOK reads a reply that must be +OK (or any simple string).
func (r *Reader) ReadOK() error {
	kind, n, b, err := r.Next(r.scratch[:0])
	if err != nil {
		return err
	}
	switch kind {
	case Simple:
		return nil
	case Error:
		return &ServerError{Msg: string(b)}
	case Array:
		for range n { // keep the stream in step
			if err := r.Skip(); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("%w: %c where +OK was expected", ErrUnexpected, kind)
}

func parseInt(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 20 {
		return 0, fmt.Errorf("%w: integer of %d bytes", ErrProtocol, len(b))
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, fmt.Errorf("%w: integer \"-\"", ErrProtocol)
		}
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: integer %s", ErrProtocol, strconv.Quote(string(b)))
		}
		next := n*10 + uint64(c-'0')
		if next < n || next > 1<<63 {
			return 0, fmt.Errorf("%w: integer overflow", ErrProtocol)
		}
		n = next
	}
	if neg {
		return -int64(n), nil
	}
	if n > 1<<63-1 {
		return 0, fmt.Errorf("%w: integer overflow", ErrProtocol)
	}
	return int64(n), nil
}
