package l2

import (
	"io"
	"strconv"
)

// Why not redcon's Reader: it buffers a command until it is complete with no
// bound on the buffer, the bulk lengths, the multibulk count or the inline
// line; it cannot apply Redis's tighter limits before AUTH; it re-scans the
// whole pending command on every read and copies every command into fresh
// allocations. reqReader keeps redcon's model (a batch of [][]byte commands
// per read, replies flushed once per batch) but parses incrementally inside
// one buffer it owns, refuses a claimed length before buffering it, and grows
// only as bytes actually arrive.

const (
	initialReadBuf = 16 << 10
	// idleReadBuf is the size above which an empty buffer is dropped, so a
	// client that once sent a big value does not pin it.
	idleReadBuf = 64 << 10
	// maxHeaderLine bounds "*<count>\r\n" and "$<len>\r\n": a sign, 19
	// digits and CRLF fit.
	maxHeaderLine = 24
	// Redis's limits before AUTH when a password is set.
	preAuthMaxArgs = 10
	preAuthMaxBulk = 16 << 10
	// fwdArgs is what forwarding adds to a command: the marker and its
	// protocol argument.
	fwdArgs = 2
)

// protoError is a malformed or oversized request. Its text is the reply;
// the connection is closed after it, as Redis does.
type protoError struct{ msg string }

func (e *protoError) Error() string { return e.msg }

var (
	errInvalidMultibulk = &protoError{"ERR Protocol error: invalid multibulk length"}
	errInvalidBulk      = &protoError{"ERR Protocol error: invalid bulk length"}
	errUnbalancedQuotes = &protoError{"ERR Protocol error: unbalanced quotes in request"}
	errBigInline        = &protoError{"ERR Protocol error: too big inline request"}
	errUnauthMultibulk  = &protoError{"ERR Protocol error: unauthenticated multibulk length"}
	errUnauthBulk       = &protoError{"ERR Protocol error: unauthenticated bulk length"}
	errQueryBufferFull  = &protoError{"ERR Protocol error: query buffer limit reached"}
)

func errExpectedDollar(got byte) *protoError {
	return &protoError{"ERR Protocol error: expected '$', got '" + string(rune(got)) + "'"}
}

func errTooManyArgs(n, limit int) *protoError {
	return &protoError{"ERR Protocol error: multibulk length " + strconv.Itoa(n) +
		" is over the limit of " + strconv.Itoa(limit)}
}

func errBulkTooLong(n, limit int) *protoError {
	return &protoError{"ERR Protocol error: bulk length " + strconv.Itoa(n) +
		" is over the limit of " + strconv.Itoa(limit) + " bytes"}
}

// readLimits are the bounds a reqReader enforces.
type readLimits struct {
	maxArgs, maxBulk, maxInline, maxQuery int
}

func newReadLimits(l Limits) readLimits {
	return readLimits{
		maxArgs:   l.MaxArgs,
		maxBulk:   l.MaxValueBytes,
		maxInline: l.MaxInlineBytes,
		maxQuery:  l.MaxQueryBufferBytes,
	}
}

// reqReader assembles client commands. Unparsed input is buf[start:end].
// While a multibulk command is incomplete its progress is kept as offsets
// relative to start, so compacting or growing the buffer keeps it valid.
type reqReader struct {
	lim        readLimits
	buf        []byte
	start, end int

	inMulti bool
	argc    int   // announced multibulk count
	pos     int   // next unparsed byte, relative to start
	bulkLen int   // length of the bulk whose body is awaited, -1 if none
	offs    []int // (offset, length) of complete arguments, relative to start
}

func newReqReader(lim readLimits) *reqReader {
	return &reqReader{lim: lim, bulkLen: -1}
}

// buffered is the number of unparsed bytes held.
func (r *reqReader) buffered() int { return r.end - r.start }

// fill reads once from src into the buffer, first making room by
// compacting or growing. It refuses to grow past maxQuery, and grows at
// most to twice what has arrived, never to a length a client merely claims.
func (r *reqReader) fill(src io.Reader) error {
	if r.start == r.end {
		r.start, r.end = 0, 0
		if len(r.buf) > idleReadBuf {
			r.buf = nil
		}
	}
	if r.buf == nil {
		r.buf = make([]byte, initialReadBuf)
	}
	if r.start > 0 && len(r.buf)-r.end < len(r.buf)/4 {
		// Little room left behind a partial command: move it to the front
		// rather than read a few bytes at a time.
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	if r.end == len(r.buf) { // full, and start is 0: one command fills it
		if len(r.buf) >= r.lim.maxQuery {
			return errQueryBufferFull
		}
		size := min(2*len(r.buf), r.lim.maxQuery)
		if need := r.pos + r.bulkLen + 2; r.inMulti && r.bulkLen >= 0 && need > len(r.buf) && need < size {
			size = need // the awaited bulk is all that is missing
		}
		nb := make([]byte, size)
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	n, err := src.Read(r.buf[r.end:])
	r.end += n
	if n > 0 {
		return nil // deliver what arrived; an error will repeat on the next read
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// next parses one command from the buffer and appends its arguments to
// args. ok is false when no complete command is buffered. The arguments
// alias the buffer: they are valid until the next fill. preAuth applies
// Redis's limits for connections that still owe a password.
func (r *reqReader) next(args [][]byte, preAuth bool) (out [][]byte, ok bool, err error) {
	for r.start < r.end {
		if !r.inMulti && r.buf[r.start] != '*' {
			complete, empty, err := r.parseInline()
			if err != nil || !complete {
				return args, false, err
			}
			if !empty {
				return r.emit(args), true, nil
			}
			continue
		}
		complete, empty, err := r.parseMulti(preAuth)
		if err != nil || !complete {
			return args, false, err
		}
		if !empty {
			return r.emit(args), true, nil
		}
	}
	return args, false, nil
}

// emit appends the finished command's arguments and consumes it.
func (r *reqReader) emit(args [][]byte) [][]byte {
	base := r.start
	for i := 0; i < len(r.offs); i += 2 {
		lo := base + r.offs[i]
		hi := lo + r.offs[i+1]
		args = append(args, r.buf[lo:hi:hi])
	}
	r.start += r.pos
	r.reset()
	return args
}

func (r *reqReader) reset() {
	r.inMulti, r.argc, r.pos, r.bulkLen = false, 0, 0, -1
	r.offs = r.offs[:0]
	if cap(r.offs) > 2*maxIdleArgs {
		r.offs = nil
	}
}

// parseMulti advances the multibulk command at start. empty reports a
// command with no arguments, which Redis ignores.
func (r *reqReader) parseMulti(preAuth bool) (complete, empty bool, err error) {
	b := r.buf[r.start:r.end]
	if !r.inMulti {
		n, next, found := headerLine(b, 0)
		if !found {
			if len(b) > maxHeaderLine {
				return false, false, errInvalidMultibulk
			}
			return false, false, nil
		}
		switch {
		case n == badLen:
			return false, false, errInvalidMultibulk
		case n <= 0:
			r.start += next
			return true, true, nil
		case preAuth && n > preAuthMaxArgs:
			return false, false, errUnauthMultibulk
		case n > r.lim.maxArgs:
			return false, false, errTooManyArgs(n, r.lim.maxArgs)
		}
		r.inMulti, r.argc, r.pos, r.bulkLen = true, n, next, -1
	}
	for len(r.offs) < 2*r.argc {
		if r.bulkLen < 0 {
			if r.pos >= len(b) {
				return false, false, nil
			}
			if b[r.pos] != '$' {
				return false, false, errExpectedDollar(b[r.pos])
			}
			n, next, found := headerLine(b, r.pos)
			if !found {
				if len(b)-r.pos > maxHeaderLine {
					return false, false, errInvalidBulk
				}
				return false, false, nil
			}
			switch {
			case n < 0:
				return false, false, errInvalidBulk
			case preAuth && n > preAuthMaxBulk:
				return false, false, errUnauthBulk
			case n > r.lim.maxBulk:
				return false, false, errBulkTooLong(n, r.lim.maxBulk)
			case next+n+2 > r.lim.maxQuery:
				return false, false, errQueryBufferFull
			}
			r.bulkLen, r.pos = n, next
		}
		end := r.pos + r.bulkLen
		if end+2 > len(b) {
			return false, false, nil
		}
		if b[end] != '\r' || b[end+1] != '\n' {
			return false, false, errInvalidBulk
		}
		r.offs = append(r.offs, r.pos, r.bulkLen)
		r.pos, r.bulkLen = end+2, -1
	}
	return true, false, nil
}

// badLen marks a header whose number does not parse.
const badLen = -1 << 62

// headerLine parses "<type><int>\r\n" at b[at:]. found is false while the
// line is incomplete; n is badLen when the number is malformed.
func headerLine(b []byte, at int) (n, next int, found bool) {
	limit := min(len(b), at+maxHeaderLine)
	for i := at + 1; i < limit; i++ {
		if b[i] != '\n' {
			continue
		}
		if b[i-1] != '\r' {
			return badLen, i + 1, true
		}
		return parseLen(b[at+1 : i-1]), i + 1, true
	}
	return 0, 0, false
}

// parseLen parses a decimal length of at most 18 digits with an optional
// minus sign, or returns badLen.
func parseLen(b []byte) int {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return badLen
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return badLen
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		return -n
	}
	return n
}
