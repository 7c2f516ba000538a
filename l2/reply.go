package l2

import (
	"strconv"
	"strings"

	"github.com/tidwall/redcon"
)

// Reply writers append to the connection's output buffer, which is flushed
// once per batch of pipelined commands. They follow the protocol version
// the client chose with HELLO: RESP3 has its own null, map and verbatim
// string types where RESP2 uses bulk strings and flat arrays.

func (c *conn) writeOK()             { c.out = append(c.out, "+OK\r\n"...) }
func (c *conn) writeBulk(b []byte)   { c.out = redcon.AppendBulk(c.out, b) }
func (c *conn) writeInt(n int64)     { c.out = redcon.AppendInt(c.out, n) }
func (c *conn) writeArray(n int)     { c.out = redcon.AppendArray(c.out, n) }
func (c *conn) writeRaw(b []byte)    { c.out = append(c.out, b...) }
func (c *conn) writeSimple(s string) { c.out = redcon.AppendString(c.out, s) }

func (c *conn) writeBulkString(s string) { c.out = redcon.AppendBulkString(c.out, s) }

// writeError writes an error reply; msg starts with its code ("ERR ...").
func (c *conn) writeError(msg string) {
	c.out = append(c.out, '-')
	c.out = append(c.out, sanitizeError(msg)...)
	c.out = append(c.out, '\r', '\n')
}

// writeNull writes a missing value: $-1 in RESP2, _ in RESP3.
func (c *conn) writeNull() {
	if c.proto == 3 {
		c.out = append(c.out, "_\r\n"...)
		return
	}
	c.out = append(c.out, "$-1\r\n"...)
}

// writeMap writes the header of n key-value pairs: a RESP3 map, or a flat
// array of 2n elements in RESP2.
func (c *conn) writeMap(n int) {
	if c.proto == 3 {
		c.out = append(c.out, '%')
		c.out = strconv.AppendInt(c.out, int64(n), 10)
		c.out = append(c.out, '\r', '\n')
		return
	}
	c.writeArray(2 * n)
}

// writeVerbatim writes human-readable text (INFO, CLIENT INFO): a RESP3
// verbatim string of format txt, or a bulk string in RESP2.
func (c *conn) writeVerbatim(text []byte) {
	if c.proto != 3 {
		c.writeBulk(text)
		return
	}
	c.out = append(c.out, '=')
	c.out = strconv.AppendInt(c.out, int64(len(text)+4), 10)
	c.out = append(c.out, "\r\ntxt:"...)
	c.out = append(c.out, text...)
	c.out = append(c.out, '\r', '\n')
}

// sanitizeError keeps an error on one line, as the protocol requires.
func sanitizeError(msg string) string {
	if strings.ContainsAny(msg, "\r\n") {
		msg = strings.NewReplacer("\r", " ", "\n", " ").Replace(msg)
	}
	return msg
}
