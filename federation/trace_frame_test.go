package federation

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

var sampleTrace = trace.NewSpanContext(trace.SpanContextConfig{
	TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
	SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
	TraceFlags: trace.FlagsSampled,
})

func TestCallTraceFieldRoundTrip(t *testing.T) {
	h := callHeader{kind: 4, idempotent: true, timeout: time.Second, trace: traceFieldOf(sampleTrace)}
	b, err := appendCall(nil, h, []byte("body"), DefaultMaxFrameBytes)
	if err != nil {
		t.Fatal(err)
	}
	got, body, err := decodeCall(b[frameHeaderLen:])
	if err != nil || got != h || string(body) != "body" {
		t.Fatalf("%+v %q %v", got, body, err)
	}
	sc := got.trace.spanContext()
	if !sc.IsRemote() || sc.TraceID() != sampleTrace.TraceID() || sc.SpanID() != sampleTrace.SpanID() || !sc.IsSampled() {
		t.Fatalf("span context %+v", sc)
	}
	// An untraced call carries no field and no flag: the frame is what it
	// was before tracing existed.
	plain, _ := appendCall(nil, callHeader{kind: 4, timeout: time.Second}, []byte("body"), DefaultMaxFrameBytes)
	if len(b)-len(plain) != 1+25 || plain[frameHeaderLen+1]&flagTrace != 0 {
		t.Fatalf("plain call %x", plain)
	}
	if h := traceFieldOf(trace.SpanContext{}); h.set {
		t.Fatal("an invalid span context must not make a field")
	}
}

func TestCallTraceFieldBounds(t *testing.T) {
	call := func(field ...byte) []byte {
		p := []byte{4, flagTrace, 10} // kind, flags, timeout 10 ms
		return append(append(p, field...), "body"...)
	}
	// Announcing more than the bound, or more than the payload holds, is
	// refused before anything is read.
	for _, p := range [][]byte{call(maxTraceField + 1), call(0xff, 0xff, 0xff, 0xff, 0x0f), call(30, 1, 2)} {
		if _, _, err := decodeCall(p); !errors.Is(err, ErrMalformed) {
			t.Errorf("%x: %v", p, err)
		}
	}
	// A field of another length (a later format) is skipped: the call is
	// served untraced with its body intact.
	h, body, err := decodeCall(call(append([]byte{3}, 1, 2, 3)...))
	if err != nil || h.trace.set || string(body) != "body" {
		t.Fatalf("unknown field: %+v %q %v", h, body, err)
	}
	// A field of the right length whose ids are zero gives no parent.
	zero := append([]byte{25}, bytes.Repeat([]byte{0}, 25)...)
	h, body, err = decodeCall(call(zero...))
	if err != nil || h.trace.spanContext().IsValid() || string(body) != "body" {
		t.Fatalf("zero ids: %+v %q %v", h, body, err)
	}
}
