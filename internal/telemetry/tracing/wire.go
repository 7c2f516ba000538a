package tracing

import (
	"encoding/hex"

	"go.opentelemetry.io/otel/trace"
)

// TraceparentLen is the length of a version-00 W3C traceparent:
// "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>".
const TraceparentLen = 55

// MaxTraceparentLen bounds a traceparent of a later version, which may
// append fields after the four of version 00; longer ones are ignored.
const MaxTraceparentLen = 128

// AppendTraceparent appends sc as a version-00 traceparent. sc must be
// valid (callers check IsValid).
func AppendTraceparent(dst []byte, sc trace.SpanContext) []byte {
	tid, sid := sc.TraceID(), sc.SpanID()
	dst = append(dst, "00-"...)
	dst = hex.AppendEncode(dst, tid[:])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, sid[:])
	dst = append(dst, '-')
	flags := [1]byte{byte(sc.TraceFlags() & trace.FlagsSampled)}
	return hex.AppendEncode(dst, flags[:])
}

// ParseTraceparent reads a W3C traceparent (https://www.w3.org/TR/trace-context/#traceparent-header).
// It reports false for anything malformed: a bad length, upper-case or
// non-hex digits, version ff, an all-zero trace or parent id, or a
// version-00 header with trailing data. A later version's extra fields are
// skipped, as the specification asks. The result is marked remote.
func ParseTraceparent(b []byte) (trace.SpanContext, bool) {
	if len(b) < TraceparentLen || len(b) > MaxTraceparentLen {
		return trace.SpanContext{}, false
	}
	if b[2] != '-' || b[35] != '-' || b[52] != '-' {
		return trace.SpanContext{}, false
	}
	var ver, flags [1]byte
	var cfg trace.SpanContextConfig
	if !lowerHex(ver[:], b[0:2]) || ver[0] == 0xff ||
		!lowerHex(cfg.TraceID[:], b[3:35]) || !lowerHex(cfg.SpanID[:], b[36:52]) || !lowerHex(flags[:], b[53:55]) {
		return trace.SpanContext{}, false
	}
	if (ver[0] == 0 && len(b) != TraceparentLen) || (len(b) > TraceparentLen && b[TraceparentLen] != '-') {
		return trace.SpanContext{}, false
	}
	cfg.TraceFlags = trace.TraceFlags(flags[0]) & trace.FlagsSampled
	cfg.Remote = true
	sc := trace.NewSpanContext(cfg)
	return sc, sc.IsValid()
}

// lowerHex decodes src (lower-case hex only, as W3C requires) into dst.
func lowerHex(dst, src []byte) bool {
	for i := range dst {
		hi, ok1 := nibble(src[2*i])
		lo, ok2 := nibble(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func nibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// BinaryLen is the size of a span context in binary form: trace id (16),
// span id (8), flags (1).
const BinaryLen = 16 + 8 + 1

// AppendBinary appends sc in binary form.
func AppendBinary(dst []byte, sc trace.SpanContext) []byte {
	tid, sid := sc.TraceID(), sc.SpanID()
	dst = append(dst, tid[:]...)
	dst = append(dst, sid[:]...)
	return append(dst, byte(sc.TraceFlags()&trace.FlagsSampled))
}

// ParseBinary reads a span context in binary form, marked remote. It
// reports false unless b is exactly BinaryLen bytes with non-zero ids.
func ParseBinary(b []byte) (trace.SpanContext, bool) {
	if len(b) != BinaryLen {
		return trace.SpanContext{}, false
	}
	var cfg trace.SpanContextConfig
	copy(cfg.TraceID[:], b[:16])
	copy(cfg.SpanID[:], b[16:24])
	cfg.TraceFlags = trace.TraceFlags(b[24]) & trace.FlagsSampled
	cfg.Remote = true
	sc := trace.NewSpanContext(cfg)
	return sc, sc.IsValid()
}
