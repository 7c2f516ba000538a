package l2

import "io"

// Replies from peers are passed through to clients byte for byte, so the
// peer side only needs to find where each reply ends. replyLen does that for
// every RESP2 and RESP3 type, refusing absurd lengths so a confused or
// hostile peer cannot make us buffer without bound per element.

const maxReplyDepth = 16

// errBadReply means a peer sent something that is not a RESP reply.
var errBadReply = &protoError{"ERR Protocol error: malformed reply from peer"}

// replyLen returns the length of the complete reply at the start of b, or 0
// when more bytes are needed; need is then a lower bound on the total
// length, so the caller can wait without re-parsing.
func replyLen(b []byte, maxBulk, maxCount int) (n, need int, err error) {
	return replyAt(b, 0, maxBulk, maxCount, 0)
}

func replyAt(b []byte, at, maxBulk, maxCount, depth int) (end, need int, err error) {
	if at >= len(b) {
		return 0, at + 1, nil
	}
	if depth > maxReplyDepth {
		return 0, 0, errBadReply
	}
	nl := -1
	for i := at + 1; i < len(b); i++ {
		if b[i] == '\n' {
			nl = i
			break
		}
		if i-at > maxBulk+64 { // no line of a sane reply is this long
			return 0, 0, errBadReply
		}
	}
	if nl < 0 {
		return 0, len(b) + 1, nil
	}
	if b[nl-1] != '\r' {
		return 0, 0, errBadReply
	}
	next := nl + 1
	switch b[at] {
	case '+', '-', ':', '_', ',', '#', '(':
		return next, 0, nil
	case '$', '=', '!':
		n := parseLen(b[at+1 : nl-1])
		if n == -1 && b[at] == '$' {
			return next, 0, nil // RESP2 null bulk
		}
		if n < 0 || n > maxBulk+64 {
			return 0, 0, errBadReply
		}
		end := next + n + 2
		if end > len(b) {
			return 0, end, nil
		}
		if b[end-2] != '\r' || b[end-1] != '\n' {
			return 0, 0, errBadReply
		}
		return end, 0, nil
	case '*', '~', '>', '%', '|':
		n := parseLen(b[at+1 : nl-1])
		if n == -1 && b[at] == '*' {
			return next, 0, nil // RESP2 null array
		}
		if n < 0 || n > maxCount {
			return 0, 0, errBadReply
		}
		if b[at] == '%' || b[at] == '|' {
			n *= 2
		}
		pos := next
		for range n {
			e, need, err := replyAt(b, pos, maxBulk, maxCount, depth+1)
			if err != nil || e == 0 {
				return 0, need, err
			}
			pos = e
		}
		if b[at] == '|' { // an attribute precedes the reply it annotates
			return replyAt(b, pos, maxBulk, maxCount, depth+1)
		}
		return pos, 0, nil
	}
	return 0, 0, errBadReply
}

// replyReader splits a peer's byte stream into replies.
type replyReader struct {
	src              io.Reader
	buf              []byte
	start, end, need int
	maxBulk          int
	maxCount         int
}

// next returns the next complete reply; it aliases the reader's buffer and
// is valid until the following call.
func (r *replyReader) next() ([]byte, error) {
	for {
		if avail := r.end - r.start; avail > 0 && avail >= r.need {
			n, need, err := replyLen(r.buf[r.start:r.end], r.maxBulk, r.maxCount)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				reply := r.buf[r.start : r.start+n]
				r.start += n
				r.need = 0
				return reply, nil
			}
			r.need = need
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

func (r *replyReader) fill() error {
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
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	if r.end == len(r.buf) { // one reply fills the buffer: grow with the data
		nb := make([]byte, 2*len(r.buf))
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	n, err := r.src.Read(r.buf[r.end:])
	r.end += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}
