package tracing

import (
	"bytes"
	"testing"
)

// FuzzParse: neither parser panics on any input, and what one accepts
// encodes back to a form it accepts as the same span context.
func FuzzParse(f *testing.F) {
	f.Add([]byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
	f.Add([]byte("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-later"))
	f.Add([]byte("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
	f.Add(bytes.Repeat([]byte{1}, BinaryLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		if sc, ok := ParseTraceparent(b); ok {
			again, ok := ParseTraceparent(AppendTraceparent(nil, sc))
			if !ok || again.TraceID() != sc.TraceID() || again.SpanID() != sc.SpanID() || again.TraceFlags() != sc.TraceFlags() {
				t.Fatalf("traceparent %q does not round-trip", b)
			}
		}
		if sc, ok := ParseBinary(b); ok {
			if got := AppendBinary(nil, sc); len(got) != BinaryLen || !bytes.Equal(got[:24], b[:24]) {
				t.Fatalf("binary %x re-encodes as %x", b, got)
			}
		}
	})
}
