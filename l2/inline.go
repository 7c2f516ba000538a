package l2

import "bytes"

// parseInline advances an inline (telnet-style) command at start: one line
// split into arguments the way redis-cli and Redis's sdssplitargs do, with
// "double" quotes (C escapes and \xHH) and 'single' quotes. The line is
// unescaped in place, so the arguments alias the read buffer like
// multibulk ones. r.pos remembers how far the newline search got.
func (r *reqReader) parseInline() (complete, empty bool, err error) {
	b := r.buf[r.start:r.end]
	i := bytes.IndexByte(b[r.pos:], '\n')
	if i < 0 {
		if len(b) > r.lim.maxInline {
			return false, false, errBigInline
		}
		r.pos = len(b)
		return false, false, nil
	}
	nl := r.pos + i
	if nl > r.lim.maxInline {
		return false, false, errBigInline
	}
	line := b[:nl]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	offs, ok := splitInline(line, r.offs[:0])
	r.offs = offs
	if !ok {
		return false, false, errUnbalancedQuotes
	}
	if len(offs) == 0 {
		r.start += nl + 1
		r.reset()
		return true, true, nil
	}
	if n := len(offs) / 2; n > r.lim.maxArgs {
		return false, false, errTooManyArgs(n, r.lim.maxArgs)
	}
	r.pos = nl + 1
	return true, false, nil
}

// splitInline splits line into arguments, rewriting it in place (an
// unescaped argument is never longer than its source, so the write cursor
// never passes the read cursor) and appending (offset, length) pairs to
// offs. ok is false for unbalanced quotes.
func splitInline(line []byte, offs []int) (_ []int, ok bool) {
	n := len(line)
	p := 0
	for {
		for p < n && isSpace(line[p]) {
			p++
		}
		if p == n {
			return offs, true
		}
		start, w := p, p
		inDouble, inSingle := false, false
	token:
		for {
			switch {
			case inDouble:
				if p == n {
					return offs, false
				}
				c := line[p]
				switch {
				case c == '\\' && p+3 < n && line[p+1] == 'x' && isHex(line[p+2]) && isHex(line[p+3]):
					line[w] = hexVal(line[p+2])<<4 | hexVal(line[p+3])
					p += 4
				case c == '\\' && p+1 < n:
					line[w] = unescape(line[p+1])
					p += 2
				case c == '"':
					if p+1 < n && !isSpace(line[p+1]) {
						return offs, false
					}
					p++
					break token
				default:
					line[w] = c
					p++
				}
				w++
			case inSingle:
				if p == n {
					return offs, false
				}
				c := line[p]
				switch {
				case c == '\\' && p+1 < n && line[p+1] == '\'':
					line[w] = '\''
					p += 2
				case c == '\'':
					if p+1 < n && !isSpace(line[p+1]) {
						return offs, false
					}
					p++
					break token
				default:
					line[w] = c
					p++
				}
				w++
			default:
				if p == n || isSpace(line[p]) {
					break token
				}
				switch line[p] {
				case '"':
					inDouble = true
				case '\'':
					inSingle = true
				default:
					line[w] = line[p]
					w++
				}
				p++
			}
		}
		offs = append(offs, start, w-start)
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}
